"""Did it work? Deals entering a stage before and after a change of its rules, followed
for the same time on both sides; verdicts that say when it is noise or too early."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from insights import experiments
from pipeline import services
from pipeline.models import Milestone, Opportunity, OpportunityChange, StageRuleChange
from tests.factories import OpportunityFactory


def entered(opp: Opportunity, stage, at: dt.datetime) -> None:
    OpportunityChange.objects.create(
        opportunity=opp, field="stage", new_value=str(stage.pk), changed_at=at
    )


def advanced(opp: Opportunity, from_stage, to_stage, at: dt.datetime) -> None:
    OpportunityChange.objects.create(
        opportunity=opp,
        field="stage",
        old_value=str(from_stage.pk),
        new_value=str(to_stage.pk),
        changed_at=at,
    )


@pytest.fixture
def change(pipeline, admin_user, rep):
    """Qualify's milestone made optional 120 days ago (the pipeline holds deals)."""
    OpportunityFactory(owner=rep, stage=pipeline.discover)
    milestone = Milestone.objects.get(stage=pipeline.qualify)
    services.milestone_update(milestone_id=milestone.pk, actor=admin_user, required=False)
    rule = StageRuleChange.objects.get()
    StageRuleChange.objects.filter(pk=rule.pk).delete()  # re-dated below: append-only rows
    return StageRuleChange.objects.create(
        stage=rule.stage,
        version=rule.version,
        changed_at=timezone.now() - dt.timedelta(days=120),
        changed_by=admin_user,
        summary=rule.summary,
        changes=rule.changes,
    )


def cohort(pipeline, rep, *, start: dt.datetime, count: int, advance: int, days_to_advance=10):
    for i in range(count):
        at = start + dt.timedelta(days=i % 30, hours=i)
        opp = OpportunityFactory(owner=rep, stage=pipeline.qualify, created_at=at)
        entered(opp, pipeline.qualify, at)
        if i < advance:
            advanced(opp, pipeline.qualify, pipeline.proposal, at + dt.timedelta(days_to_advance))


def measured(rep) -> experiments.Experiment:
    (found,) = experiments.experiments(owner_ids=(rep.pk,))
    return found


def test_a_clear_improvement_is_better_beyond_noise(change, pipeline, rep):
    cohort(pipeline, rep, start=change.changed_at - dt.timedelta(days=100), count=40, advance=12)
    cohort(pipeline, rep, start=change.changed_at + dt.timedelta(days=5), count=40, advance=34)
    found = measured(rep)
    assert found.horizon_days == 60  # half of the 120 days since the change
    assert (found.before.entered, found.before.advanced) == (40, 12)
    assert (found.after.entered, found.after.advanced) == (40, 34)
    conversion = found.comparisons[0]
    assert conversion.verdict == "better"
    assert conversion.difference.estimate == pytest.approx(34 / 40 - 12 / 40)
    assert "30 % before, 85 % after — better, beyond noise (40 vs 40" in conversion.sentence


def test_both_sides_get_the_same_follow_up(change, pipeline, rep):
    """Deals after the change that entered too recently to be followed for the horizon are
    left out, and a move later than the horizon does not count on either side."""
    cohort(pipeline, rep, start=change.changed_at - dt.timedelta(days=100), count=30, advance=30,
           days_to_advance=80)  # fmt: skip
    cohort(pipeline, rep, start=change.changed_at + dt.timedelta(days=5), count=30, advance=0)
    cohort(pipeline, rep, start=timezone.now() - dt.timedelta(days=20), count=5, advance=0)
    found = measured(rep)
    assert found.after.entered == 30  # the 5 recent ones are not followed long enough yet
    assert found.before.advanced == 0  # advanced after 80 days: beyond the 60-day horizon
    assert found.comparisons[0].verdict == "noise"


def test_too_few_deals_says_so(change, pipeline, rep):
    cohort(pipeline, rep, start=change.changed_at - dt.timedelta(days=50), count=5, advance=1)
    cohort(pipeline, rep, start=change.changed_at + dt.timedelta(days=5), count=5, advance=5)
    found = measured(rep)
    assert {c.verdict for c in found.comparisons} == {"too_few"}
    assert found.comparisons[0].sentence.startswith(
        "Conversion to a later stage within 60 days: too few deals yet to tell (5 vs 5"
    )


def test_no_change_no_experiment(rep):
    assert experiments.experiments(owner_ids=(rep.pk,)) == []
