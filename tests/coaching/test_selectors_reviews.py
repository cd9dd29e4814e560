"""coaching.selectors.deal_snapshot (the facts a review's agenda comes from) and the
review queue's scope and ranking inputs, against the database."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from coaching import rules, selectors, services
from coaching.models import OpportunityReview
from pipeline import services as pipeline_services
from pipeline.models import Opportunity, Qualification, QualificationScore
from proposals import services as proposal_services
from tests.factories import (
    OpportunityFactory,
    OpportunityFlagFactory,
    QualificationElementFactory,
    QualificationFrameworkFactory,
)
from tests.proposals.conftest import proposal_data


def test_snapshot_reads_qualification_scores_and_a_failing_summary(rep, pipeline, opportunity):
    framework = QualificationFrameworkFactory(name="Review snapshot framework")
    buyer = QualificationElementFactory(framework=framework, name="Economic buyer", order=1)
    pain = QualificationElementFactory(framework=framework, name="Pain", order=2)
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    pipeline_services.qualification_create(
        opportunity_id=opportunity.pk,
        actor=rep,
        scores=[
            {"element": buyer.pk, "score": 1},
            {"element": pain.pk, "score": 3, "evidence": "CFO email", "source": "email"},
        ],
    )
    proposal_services.proposal_create(
        actor=rep,
        opportunity_id=opportunity.pk,
        **proposal_data(executive_summary="We are great."),
    )
    opportunity.refresh_from_db()

    snapshot = selectors.deal_snapshot(opportunity, None)

    assert snapshot.qualification_state == "valid"
    assert snapshot.element_scores == (("Economic buyer", 1), ("Pain", 3))
    assert snapshot.summary_state == "failing" and snapshot.summary_failures
    assert [m.title for m in snapshot.unmet_milestones] == [
        "Pain identified",
        "Economic buyer confirmed the problem is worth solving",
        "Decision process mapped with the customer",
    ]
    assert snapshot.next_stage == "Qualify" and not snapshot.reviewed_before


def test_snapshot_skips_the_creation_row_and_reads_amount_changes(
    rep, manager, pipeline, opportunity
):
    pipeline_services.opportunity_update(
        opportunity_id=opportunity.pk,
        actor=rep,
        expected_version=opportunity.version,
        amount=Decimal("7500"),
        close_date=opportunity.close_date + dt.timedelta(days=30),
    )
    opportunity.refresh_from_db()
    snapshot = selectors.deal_snapshot(opportunity, None)
    assert [(c.old, c.new) for c in snapshot.amount_changes] == [
        (Decimal("10000.00"), Decimal("7500.00"))
    ]
    assert len(snapshot.close_date_changes) == 1
    assert snapshot.close_date_changes[0].by == str(rep)
    later = selectors.deal_snapshot(opportunity, timezone.now())
    assert later.amount_changes == () and later.reviewed_before


def test_queue_scope(rep, teammate, manager, other_manager, leader, other_rep, pipeline):
    mine = OpportunityFactory(owner=rep, stage=pipeline.discover)
    OpportunityFactory(owner=manager, stage=pipeline.discover)  # the manager's own deal
    theirs = OpportunityFactory(owner=other_rep, stage=pipeline.discover)
    OpportunityFactory(
        owner=rep, stage=pipeline.won, status="won", closed_at=timezone.now()
    )  # closed
    ids = lambda user: {r.opportunity.pk for r in selectors.review_queue_for(user).rows}  # noqa: E731
    assert ids(manager) == {mine.pk}
    assert ids(other_manager) == {theirs.pk}
    assert ids(rep) == set()
    assert {mine.pk, theirs.pk} <= ids(leader)
    review = services.review_start(actor=manager, opportunity_id=mine.pk)
    row = selectors.review_queue_for(manager).rows[0]
    assert row.open_review_id == review.pk and row.last_review_at is not None
    assert "Never reviewed" not in row.risk.reasons  # reviewed today: no age points yet


# --- the queue's score in SQL, review_risk's twin ------------------------------------------

KINDS = ["requalify_due", "stuck_in_stage", "past_close_date", "no_activity", "next_step_overdue"]
AMOUNTS = ["0", "5000", "10000", "12345.67", "33333.33", "100000", "250000"]


def _local_midnight(days_ago: int) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _queue_cases(*, rep, teammate, other_rep, manager, pipeline, n=48):
    """n open deals mixing every input of review_risk — flags (and a cleared one),
    qualification none / valid / expired / voided (and at the expiry boundary), weak and
    unscored elements, stage validity set / 0 / blank, amounts from 0 to far above the
    team's average, reviews never / completed / open, just before and after local
    midnight (the organisation's calendar days) — plus Team B's three deals whose average
    (200,000 / 3) is not a finite decimal: 20,000 is 0.2999… of it (Python's int(): 2)."""
    rng = random.Random(20261127)
    framework = QualificationFrameworkFactory(name="Queue twin framework")
    elements = [
        QualificationElementFactory(framework=framework, name=f"E{i}", order=i) for i in range(4)
    ]
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    pipeline.qualify.qualification_validity_days = 10
    pipeline.qualify.save(update_fields=["qualification_validity_days"])
    pipeline.proposal.qualification_validity_days = 0  # 0: the organisation's default
    pipeline.proposal.save(update_fields=["qualification_validity_days"])
    stages = [pipeline.discover, pipeline.qualify, pipeline.proposal]
    now = timezone.now()
    deals = []
    for i in range(n):
        stage = stages[i % 3]
        opp = OpportunityFactory(
            owner=rep if i % 2 else teammate,
            stage=stage,
            amount=Decimal(AMOUNTS[i % len(AMOUNTS)]),
            name=f"Twin {i}",
        )
        critical, warning = rng.randint(0, 2), rng.randint(0, 3)
        for j, kind in enumerate(rng.sample(KINDS, critical + warning)):
            severity = "critical" if j < critical else "warning"
            OpportunityFlagFactory(opportunity=opp, kind=kind, severity=severity)
        if i % 7 == 0:
            OpportunityFlagFactory(opportunity=opp, kind="no_activity", cleared_at=now)
        quality = i % 6  # 0: none; 1: valid; 2: expired; 3: voided; 4/5: at the expiry
        if quality:
            validity = stage.qualification_validity_days or settings.QUALIFICATION_VALIDITY_DAYS
            assessed = {
                1: now - dt.timedelta(days=1),
                2: now - dt.timedelta(days=45),
                3: now - dt.timedelta(days=2),
                4: now - dt.timedelta(days=validity) + dt.timedelta(seconds=5),
                5: now - dt.timedelta(days=validity) - dt.timedelta(seconds=5),
            }[quality]
            qualification = Qualification.objects.create(
                opportunity=opp,
                framework=framework,
                score_pct=Decimal("50.00"),
                assessed_by=opp.owner,
                assessed_at=assessed,
                invalidated_at=assessed + dt.timedelta(hours=1) if quality == 3 else None,
                invalidated_reason="Moved back a stage." if quality == 3 else "",
            )
            for element in rng.sample(elements, rng.randint(0, 4)):
                score = rng.randint(0, 3)
                QualificationScore.objects.create(
                    qualification=qualification,
                    element=element,
                    score=score,
                    evidence="Email" if score >= 2 else "",
                    source="email" if score >= 2 else "",
                )
            Opportunity.objects.filter(pk=opp.pk).update(latest_qualification=qualification)
        when = i % 8  # 0/1: never; else days ago around a local midnight, completed or open
        if when >= 2:
            days_ago = rng.choice([0, 1, 2, 3, 5, 6, 9, 40, 74, 75, 76, 200])
            edge = dt.timedelta(minutes=-20 if i % 3 == 0 else 20)
            started = _local_midnight(days_ago) + edge
            if when % 2:
                OpportunityReview.objects.create(
                    opportunity=opp,
                    rep=opp.owner,
                    manager=manager,
                    status="open",
                    started_at=started,
                )
            else:
                OpportunityReview.objects.create(
                    opportunity=opp,
                    rep=opp.owner,
                    manager=manager,
                    status="completed",
                    started_at=started - dt.timedelta(days=10),
                    completed_at=started,
                )
        deals.append(opp)
    for amount in ("20000", "20000", "160000"):
        deals.append(
            OpportunityFactory(owner=other_rep, stage=pipeline.discover, amount=Decimal(amount))
        )
    return deals, now


def _ranked(leader, now):
    qs = Opportunity.objects.filter(status="open").exclude(owner=leader)
    return list(selectors.review_queue_ranked(qs, now=now))


@pytest.fixture
def twin_cases(rep, teammate, other_rep, manager, pipeline):
    return _queue_cases(
        rep=rep, teammate=teammate, other_rep=other_rep, manager=manager, pipeline=pipeline
    )


def test_the_sql_score_is_review_risks_score_for_every_deal(twin_cases, leader):
    deals, now = twin_cases
    ranked = _ranked(leader, now)
    assert len(ranked) == len(deals) >= 40
    python = {o.pk: selectors.queue_row(o, now=now) for o in ranked}
    assert [(o.pk, o.risk_score) for o in ranked] == [
        (o.pk, python[o.pk].risk.score) for o in ranked
    ]
    # The table reaches every branch (else the check proves little).
    assert {r.qualification_state for r in python.values()} == {
        "none",
        "valid",
        "expired",
        "voided",
    }
    reasons = " | ".join(" | ".join(r.risk.reasons) for r in python.values())
    for words in ("critical", "warning", "below 2", "Never reviewed", "Last reviewed", "Value"):
        assert words in reasons
    assert len({r.risk.score for r in python.values()}) >= 15


@pytest.mark.parametrize(
    "constant",
    ["RISK_WARNING_FLAG", "RISK_QUALIFICATION_STALE", "RISK_VALUE_CAP", "REVIEW_AGE_STEP_DAYS"],
)
def test_the_check_notices_an_sql_constant_that_differs(twin_cases, leader, monkeypatch, constant):
    _, now = twin_cases
    monkeypatch.setattr(rules, constant, getattr(rules, constant) + 1)
    ranked = _ranked(leader, now)  # the SQL built while the constant differs
    monkeypatch.undo()
    assert any(o.risk_score != selectors.queue_row(o, now=now).risk.score for o in ranked)


def test_the_queue_is_the_top_of_review_risks_ranking_and_counts_the_rest(
    twin_cases, leader, monkeypatch
):
    deals, now = twin_cases
    expected = sorted(
        (selectors.queue_row(o, now=now) for o in _ranked(leader, now)),
        key=lambda r: (-r.risk.score, -r.opportunity.amount, r.opportunity.pk),
    )
    monkeypatch.setattr(selectors.review_queue, "REVIEW_QUEUE_SHOWN", 10)
    queue = selectors.review_queue_for(leader)
    assert [(r.opportunity.pk, r.risk) for r in queue.rows] == [
        (r.opportunity.pk, r.risk) for r in expected[:10]
    ]
    assert queue.more == len(deals) - 10


def test_value_points_truncate_like_python_on_an_average_that_is_not_a_finite_decimal(
    manager, other_rep, pipeline, leader
):
    for amount in ("20000", "20000", "160000"):
        OpportunityFactory(owner=other_rep, stage=pipeline.discover, amount=Decimal(amount))
    now = timezone.now()
    ranked = _ranked(leader, now)
    average = ranked[0].team_average
    assert average != Decimal(200000) / 3  # PostgreSQL's avg, rounded
    never_qualified_never_reviewed = rules.RISK_NOT_QUALIFIED + rules.RISK_NEVER_REVIEWED
    got = sorted((o.amount, o.risk_score - never_qualified_never_reviewed) for o in ranked)
    # 20,000 / 66,666.67 * 10 = 2.9999…: 2 points, not 3; 160,000: 23.99…: 23.
    expected = [(a, min(25, int(a / average * 10))) for a, _ in got]
    assert got == expected and [p for _, p in got] == [2, 2, 23]


def test_a_leaders_queue_is_four_queries(twin_cases, leader, django_assert_num_queries):
    # The teams for the picker, SET LOCAL jit = off, the ranking with its count, the ranked
    # deals themselves (the 1-deal vs many-deals comparison is
    # tests/coaching/test_views_reviews.py's).
    with django_assert_num_queries(4):
        queue = selectors.review_queue_for(leader)
    assert len(queue.rows) == len(twin_cases[0]) and queue.more == 0


def test_value_is_weighed_against_the_teams_average_in_the_deals_own_currency(
    rep, teammate, manager, pipeline
):
    """A team selling in two currencies: a deal's value is compared with the average of the
    team's open deals in ITS currency, never with an average across currencies (before,
    one USD 1,000,000 deal made every EUR deal look small)."""
    euros = [
        OpportunityFactory(owner=rep, stage=pipeline.discover, amount=Decimal(a), currency="EUR")
        for a in ("10000", "10000", "40000")
    ]
    dollars = OpportunityFactory(
        owner=teammate, stage=pipeline.discover, amount=Decimal("1000000"), currency="USD"
    )
    rows = {r.opportunity.pk: r for r in selectors.review_queue_for(manager).rows}
    assert {rows[o.pk].opportunity.team_average for o in euros} == {Decimal("20000")}
    assert rows[dollars.pk].opportunity.team_average == Decimal("1000000")
    reasons = {pk: " | ".join(r.risk.reasons) for pk, r in rows.items()}
    assert "Value 2.0× the team's average open deal" in reasons[euros[2].pk]
    assert "Smaller than the team's average" in reasons[euros[0].pk]
    assert "Value near the team's average" in reasons[dollars.pk]
