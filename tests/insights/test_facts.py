"""The per-deal behaviour facts (insights.facts): which changes queue a deal, that the
incrementally kept facts and monthly sums always equal a rebuild from scratch, that a
range's sum of whole months and edge days is exact, and that a refresh's queries do not
grow with the deals it takes."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from insights import behaviours, facts
from insights.models import DealFact, MonthFact, StageStay, StaleDeal
from insights.scope import scope_for
from pipeline import services
from pipeline.models import Activity, MilestoneCompletion, Opportunity, OpportunityStatus
from tests.factories import OpportunityFactory
from tests.insights.data import build_team, one_worked_deal


@pytest.fixture
def team8(pipeline, team_a, manager):
    built = build_team(pipeline, team_a)
    facts.refresh()
    return built


def queued() -> set[int]:
    return set(StaleDeal.objects.values_list("opportunity_id", flat=True))


def deal_facts() -> Counter:
    return Counter(
        DealFact.objects.values_list("opportunity_id", "owner_id", "key", "value", "n", "deals")
    )


def stays() -> Counter:
    return Counter(
        StageStay.objects.values_list(
            "opportunity_id", "change_id", "owner_id", "created_at", "closed_at", "status",
            "stage_id", "entered_at", "left_at", "days", "outcome",
        )
    )  # fmt: skip


def month_facts() -> Counter:
    return Counter(MonthFact.objects.values_list("month", "owner_id", "key", "value", "n", "deals"))


def test_triggers_queue_deals_when_what_they_are_measured_on_changes(pipeline, rep, leader):
    open_deal = OpportunityFactory(pipeline=pipeline, owner=rep)
    assert queued() == {open_deal.pk}  # a new deal: its stays
    facts.refresh()
    services.activity_log(opportunity_id=open_deal.pk, actor=rep, kind="call", subject="Intro")
    Opportunity.objects.filter(pk=open_deal.pk).update(amount=7)
    assert queued() == set()  # an open deal's activities and amount are not measured

    won = one_worked_deal(pipeline, rep, closer=leader)
    assert queued() == {won.pk}
    assert facts.refresh() == 1 and queued() == set()
    assert StageStay.objects.filter(opportunity_id=won.pk, outcome="advanced").exists()
    assert DealFact.objects.filter(opportunity_id=won.pk).exists()

    Opportunity.objects.filter(pk=won.pk).update(amount=5, next_step="Invoice")
    assert queued() == set()  # not something a behaviour is measured on
    services.activity_log(opportunity_id=won.pk, actor=rep, kind="email", subject="Thanks")
    assert queued() == {won.pk}
    facts.refresh()
    Opportunity.objects.filter(pk=won.pk).update(status=OpportunityStatus.OPEN, closed_at=None)
    assert queued() == {won.pk}  # reopened: its facts must go
    facts.refresh()
    assert not DealFact.objects.filter(opportunity_id=won.pk).exists()
    assert not MonthFact.objects.exists()

    history = OpportunityFactory(
        pipeline=pipeline, owner=rep, status=OpportunityStatus.WON, closed_at=timezone.now(),
        imported_at=timezone.now(),
    )  # fmt: skip
    facts.refresh()
    services.activity_log(opportunity_id=history.pk, actor=rep, kind="call", subject="Later")
    assert history.pk not in queued()  # imported history has no journey to measure
    assert not DealFact.objects.filter(opportunity_id=history.pk).exists()


def test_kept_facts_equal_a_rebuild_after_every_kind_of_change(team8, rep, leader):
    deals = team8.deals
    services.activity_log(
        opportunity_id=deals[0].pk, actor=team8.reps[0], kind="meeting", subject="Debrief",
        occurred_at=deals[0].closed_at - dt.timedelta(days=1),
    )  # fmt: skip
    Opportunity.objects.filter(pk=deals[1].pk).update(owner=team8.reps[5])
    Opportunity.objects.filter(pk=deals[2].pk).update(status="open", closed_at=None)
    Opportunity.objects.filter(pk=deals[3].pk).delete()
    MilestoneCompletion.objects.filter(opportunity_id=deals[4].pk).delete()
    Opportunity.objects.filter(pk=deals[9].pk).update(
        closed_at=deals[9].closed_at - dt.timedelta(days=40)
    )  # another month
    assert queued() == {d.pk for d in (deals[0], deals[1], deals[2], deals[3], deals[4], deals[9])}
    facts.refresh()
    kept, kept_months, kept_stays = deal_facts(), month_facts(), stays()
    assert not DealFact.objects.filter(opportunity_id__in=[deals[2].pk, deals[3].pk]).exists()
    assert StageStay.objects.filter(opportunity_id=deals[2].pk).exists()  # reopened: stays
    assert not StageStay.objects.filter(opportunity_id=deals[3].pk).exists()  # deleted
    assert DealFact.objects.filter(opportunity_id=deals[1].pk, owner_id=team8.reps[5].pk).exists()

    facts.rebuild()
    assert deal_facts() == kept
    assert month_facts() == kept_months
    assert stays() == kept_stays
    assert queued() == set()


def test_monthly_sums_equal_the_facts(team8):
    per_month: Counter = Counter()
    for fact in DealFact.objects.all():
        month = fact.closed_at.astimezone(dt.UTC).date().replace(day=1)
        per_month[month, fact.owner_id, fact.key, fact.value] += fact.n
    assert per_month == Counter(
        {(m.month, m.owner_id, m.key, m.value): m.n for m in MonthFact.objects.all()}
    )
    assert MonthFact.objects.filter(n=0, deals=0).count() == 0


def _month(moment: dt.datetime, months: int = 0) -> dt.datetime:
    first = moment.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(months):
        first = (first + dt.timedelta(days=32)).replace(day=1)
    return first


# The team's deals close from 270 days ago to 60 days ago (tests/insights/data.py): ranges
# of every shape `facts.plan` reads differently.
def _within_the_month_of(closing: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Ten days either side of a deal's closing, kept inside its month."""
    month = _month(closing)
    return (
        max(month + dt.timedelta(minutes=1), closing - dt.timedelta(days=10)),
        min(_month(closing, 1) - dt.timedelta(minutes=1), closing + dt.timedelta(days=10)),
    )


RANGES = {
    "odd edges": lambda now, closing: (
        now - dt.timedelta(days=281, hours=7),
        now - dt.timedelta(days=47),
    ),
    "whole months": lambda now, closing: (
        _month(now - dt.timedelta(days=280), 1),
        _month(now - dt.timedelta(days=280), 7),
    ),
    "a few days": lambda now, closing: (
        closing - dt.timedelta(days=2),
        closing + dt.timedelta(days=2),
    ),
    "late start, early end (months less their outside days)": lambda now, closing: (
        _month(now - dt.timedelta(days=280)) + dt.timedelta(days=25, hours=3),
        _month(now - dt.timedelta(days=100)) + dt.timedelta(days=2, hours=20),
    ),
    "early start, late end (the days inside)": lambda now, closing: (
        _month(now - dt.timedelta(days=280)) + dt.timedelta(days=2),
        _month(now - dt.timedelta(days=100)) + dt.timedelta(days=26),
    ),
    "up to today": lambda now, closing: (now - dt.timedelta(days=200), now),
    "inside one month": lambda now, closing: _within_the_month_of(closing),
}


def test_the_plan_reads_whole_months_and_the_shorter_side_of_partial_ones():
    now = dt.datetime(2026, 12, 7, 10, tzinfo=dt.UTC)
    utc = dt.UTC
    reading = facts.plan(
        dt.datetime(2025, 12, 8, tzinfo=utc), dt.datetime(2026, 12, 8, tzinfo=utc), now
    )
    assert reading.months[0] == dt.date(2025, 12, 1) and reading.months[-1] == dt.date(2026, 12, 1)
    assert len(reading.months) == 13 and reading.plus == ()
    # December 2025 less its first week; December 2026 less what is after the range.
    assert reading.minus == (
        (dt.datetime(2025, 12, 1, tzinfo=utc), dt.datetime(2025, 12, 8, tzinfo=utc)),
        (dt.datetime(2026, 12, 8, tzinfo=utc), dt.datetime(2027, 1, 1, tzinfo=utc)),
    )
    mid = facts.plan(dt.datetime(2026, 3, 25, tzinfo=utc), dt.datetime(2026, 5, 3, tzinfo=utc), now)
    assert mid.months == (dt.date(2026, 4, 1),)
    assert mid.plus == (
        (dt.datetime(2026, 3, 25, tzinfo=utc), dt.datetime(2026, 4, 1, tzinfo=utc)),
        (dt.datetime(2026, 5, 1, tzinfo=utc), dt.datetime(2026, 5, 3, tzinfo=utc)),
    )
    assert facts.plan(now, now, now) == facts.Plan(months=(), plus=(), minus=())


@pytest.mark.parametrize("shape", RANGES)
def test_a_range_sums_whole_months_and_edge_days_exactly(team8, shape):
    closing = team8.deals[4].closed_at  # 150 days ago, give or take hours
    start, end = RANGES[shape](timezone.now(), closing)
    owners = [u.pk for u in team8.reps]
    got = {
        (owner, key, value): (n, deals)
        for owner, key, value, n, deals in facts.summed(owners, start, end)
    }
    expected = {
        (r["owner_id"], r["key"], r["value"]): (r["n"], r["deals"])
        for r in DealFact.objects.filter(closed_at__gte=start, closed_at__lt=end)
        .values("owner_id", "key", "value")
        .annotate(n=Sum("n"), deals=Sum("deals"))
    }
    assert got == expected
    assert got  # every shape holds some of the team's deals


def test_refresh_queries_do_not_grow_with_the_deals_it_takes(
    pipeline, rep, leader, team_a, manager, django_assert_num_queries
):
    one_worked_deal(pipeline, rep, closer=leader)
    with django_assert_num_queries(REFRESH_QUERIES):
        assert facts.refresh() == 1
    build_team(pipeline, team_a)
    assert len(queued()) == 64
    with django_assert_num_queries(REFRESH_QUERIES):
        assert facts.refresh() == 64


# A batch: a savepoint, the lock, taking the queue, the old facts out of the monthly sums,
# seven fact families, the proposals' first reviews, their facts, the old stays out, the
# new stays, the monthly sums, the release; then an empty take in a second savepoint.
REFRESH_QUERIES = 20


def test_a_new_milestone_is_measured_without_recomputing(team8, admin_user, pipeline, leader):
    proposal = pipeline.stages.get(name="Proposal")
    added = services.milestone_create(
        actor=admin_user, stage=proposal, title="Legal review booked", kind="seller_action"
    )
    assert queued() == set()
    found = {b.key: b for b in behaviours.behaviours(scope_for(leader))}
    measured = found[f"milestone:{added.pk}"]
    rep = team8.reps[0]
    exits = DealFact.objects.get(
        owner_id=rep.pk, key=f"stage_exits:{proposal.pk}", opportunity_id=team8.deals[0].pk
    )
    assert exits.n == 1  # the deal left Proposal once (won)
    won = Opportunity.objects.filter(owner=rep, status=OpportunityStatus.WON).count()
    assert measured.rep(rep.pk).histogram == {1.0: 0, 0.0: won}  # none had it done
    assert measured.rep(rep.pk).deals == won
    assert not Activity.objects.exists()


def test_the_command_refreshes_the_queue_or_rebuilds_everything(pipeline, team_a, manager):
    team = build_team(pipeline, team_a)
    out = io.StringIO()
    call_command("insights_facts", stdout=out)
    assert "64 queued deals" in out.getvalue() and "64 closed deals with facts" in out.getvalue()
    assert queued() == set()
    kept = deal_facts()
    DealFact.objects.filter(opportunity_id=team.deals[0].pk).delete()  # lost, say
    call_command("insights_facts", "--rebuild", stdout=out)
    assert "every deal" in out.getvalue()
    assert deal_facts() == kept
