"""The weekly pipeline snapshot: the database after each run."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from forecasting.models import PipelineSnapshot
from forecasting.selectors import snapshot_weeks
from forecasting.services import SnapshotResult, fiscal_calendar, pipeline_snapshot_take
from pipeline.models import ForecastCategory, Opportunity, OpportunityStatus
from salesops import organisation
from salesops.exceptions import ValidationFailed
from salesops.models import Team, User
from tests.factories import OpportunityFactory

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = dt.date(2026, 11, 23)
# Wednesday of that week, mid-morning in the organisation's timezone.
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
# The factories stamp their rows on this clock too (created before the week's end…).
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


def snapshot_rows(week: dt.date = MONDAY) -> set[tuple]:
    return set(
        PipelineSnapshot.objects.filter(week=week).values_list(
            "opportunity_id",
            "owner_id",
            "team_id",
            "stage_id",
            "forecast_category",
            "amount",
            "currency",
            "close_date",
            "status",
        )
    )


def expected(opp: Opportunity, team_id: int | None) -> tuple:
    return (
        opp.id,
        opp.owner_id,
        team_id,
        opp.stage_id,
        opp.forecast_category,
        opp.amount,
        opp.currency,
        opp.close_date,
        "open",
    )


def close(opp: Opportunity, status: str) -> None:
    opp.status = status
    opp.closed_at = timezone.now()
    opp.loss_reason = "Chose a competitor." if status == OpportunityStatus.LOST else ""
    opp.save(update_fields=["status", "closed_at", "loss_reason"])


@pytest.fixture
def deals(rep, teammate, other_rep, pipeline):
    """Three open deals in two teams, one won and one lost."""
    open_deals = [
        OpportunityFactory(
            owner=rep, stage=pipeline.discover, amount=Decimal("12500.50"), currency="EUR"
        ),
        OpportunityFactory(
            owner=teammate,
            stage=pipeline.qualify,
            amount=Decimal("80000"),
            currency="USD",
            forecast_category=ForecastCategory.BEST_CASE,
        ),
        OpportunityFactory(owner=other_rep, stage=pipeline.proposal, amount=Decimal("0")),
    ]
    won = OpportunityFactory(owner=rep, stage=pipeline.won)
    close(won, OpportunityStatus.WON)
    lost = OpportunityFactory(owner=other_rep, stage=pipeline.lost)
    close(lost, OpportunityStatus.LOST)
    return open_deals


def test_takes_every_open_deal_with_its_state_and_the_owners_team(deals, rep, other_rep):
    result = pipeline_snapshot_take(now=NOW)

    assert result == SnapshotResult(week=MONDAY, inserted=3, skipped_existing=0)
    assert snapshot_rows() == {
        expected(deals[0], rep.team_id),
        expected(deals[1], rep.team_id),
        expected(deals[2], other_rep.team_id),
    }
    assert PipelineSnapshot.objects.count() == 3  # closed deals are not in it


def test_a_rerun_changes_nothing_even_when_deals_changed(deals, pipeline):
    pipeline_snapshot_take(now=NOW)
    before = snapshot_rows()
    # Later in the week a deal moves on and another is won: the Monday picture stands.
    Opportunity.objects.filter(pk=deals[0].pk).update(
        stage=pipeline.qualify, amount=Decimal("99999"), close_date=dt.date(2027, 3, 1)
    )
    close(deals[1], OpportunityStatus.WON)

    again = pipeline_snapshot_take(now=NOW + dt.timedelta(days=2))

    assert again == SnapshotResult(week=MONDAY, inserted=0, skipped_existing=3)
    assert snapshot_rows() == before


def test_a_rerun_adds_a_deal_opened_since(deals, teammate, pipeline):
    pipeline_snapshot_take(now=NOW)
    newer = OpportunityFactory(owner=teammate, stage=pipeline.discover, amount=Decimal("5000"))

    result = pipeline_snapshot_take(now=NOW + dt.timedelta(hours=5))

    assert result == SnapshotResult(week=MONDAY, inserted=1, skipped_existing=3)
    assert expected(newer, teammate.team_id) in snapshot_rows()
    assert PipelineSnapshot.objects.count() == 4


def test_the_team_is_the_owners_team_at_the_time(deals, rep, team_b):
    pipeline_snapshot_take(now=NOW)
    rep.team = team_b
    rep.save(update_fields=["team"])
    pipeline_snapshot_take(now=NOW + dt.timedelta(days=7))

    teams = dict(
        PipelineSnapshot.objects.filter(opportunity=deals[0]).values_list("week", "team_id")
    )
    assert teams == {MONDAY: deals[1].owner.team_id, MONDAY + dt.timedelta(days=7): team_b.id}


def test_an_owner_without_a_team_is_recorded_without_one(rep, pipeline):
    User.objects.filter(pk=rep.pk).update(team=None)
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover)

    pipeline_snapshot_take(now=NOW)

    assert snapshot_rows() == {expected(opp, None)}


def test_each_week_gets_its_own_rows(deals):
    pipeline_snapshot_take(now=NOW)
    second = pipeline_snapshot_take(now=NOW + dt.timedelta(days=7))

    assert second == SnapshotResult(
        week=MONDAY + dt.timedelta(days=7), inserted=3, skipped_existing=0
    )
    assert snapshot_weeks() == [MONDAY + dt.timedelta(days=7), MONDAY]


@pytest.mark.parametrize(
    ("moment", "week"),
    [
        # Sunday 23:30 in Berlin is already Monday in UTC+13 — and still Sunday here.
        (dt.datetime(2026, 11, 29, 23, 30, tzinfo=BERLIN), MONDAY),
        # Monday 00:30 in Berlin is Sunday 23:30 UTC: the new week here.
        (dt.datetime(2026, 11, 30, 0, 30, tzinfo=BERLIN), MONDAY + dt.timedelta(days=7)),
        (dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC), MONDAY + dt.timedelta(days=7)),
    ],
)
def test_the_default_week_is_the_current_week_in_the_organisations_timezone(deals, moment, week):
    organisation.pin(replace(organisation.defaults(), time_zone="Europe/Berlin"))
    timezone.activate(ZoneInfo("Pacific/Auckland"))  # a user's timezone does not count
    try:
        assert pipeline_snapshot_take(now=moment).week == week
    finally:
        timezone.deactivate()
    assert set(PipelineSnapshot.objects.values_list("week", flat=True)) == {week}


def test_an_earlier_week_takes_only_deals_created_by_its_end(deals, rep, pipeline):
    later = OpportunityFactory(owner=rep, stage=pipeline.discover)
    Opportunity.objects.filter(pk=later.pk).update(
        created_at=dt.datetime(2026, 11, 30, 0, 0, tzinfo=BERLIN)  # the next Monday
    )
    Opportunity.objects.exclude(pk=later.pk).update(
        created_at=dt.datetime(2026, 11, 29, 23, 59, tzinfo=BERLIN)
    )

    result = pipeline_snapshot_take(week=MONDAY, now=NOW + dt.timedelta(days=14))

    assert result.inserted == 3
    assert {row[0] for row in snapshot_rows()} == {d.id for d in deals}


@pytest.mark.parametrize(
    ("week", "message"),
    [
        (dt.date(2026, 11, 24), "2026-11-24 is not the start of a week."),
        (dt.date(2026, 11, 30), "The week of 2026-11-30 has not begun."),
        (dt.datetime(2026, 11, 23, tzinfo=BERLIN), "The week must be a date."),
        ("2026-11-23", "The week must be a date."),
    ],
)
def test_refuses_a_week_it_cannot_take_and_writes_nothing(deals, week, message):
    with pytest.raises(ValidationFailed) as error:
        pipeline_snapshot_take(week=week, now=NOW)
    assert error.value.message == message
    assert "week" in error.value.details
    assert PipelineSnapshot.objects.count() == 0


def test_one_insert_select_whatever_the_number_of_deals(rep, pipeline, django_assert_num_queries):
    OpportunityFactory.create_batch(3, owner=rep, stage=pipeline.discover)
    # SAVEPOINT (the test's transaction), the lock, the INSERT … SELECT, RELEASE.
    with django_assert_num_queries(4):
        pipeline_snapshot_take(now=NOW)
    OpportunityFactory.create_batch(20, owner=rep, stage=pipeline.discover)
    with django_assert_num_queries(4):
        assert pipeline_snapshot_take(now=NOW).inserted == 20


def test_deleting_a_deal_deletes_its_snapshots_and_a_user_or_team_only_unlinks(deals, rep, team_a):
    pipeline_snapshot_take(now=NOW)
    deals[0].delete()
    assert not PipelineSnapshot.objects.filter(opportunity_id=deals[0].id).exists()

    # A user can be deleted once they own no deal; their history stays in the totals.
    deals[1].owner = rep
    deals[1].save(update_fields=["owner"])
    teammate_id = PipelineSnapshot.objects.get(opportunity=deals[1]).owner_id
    User.objects.filter(pk=teammate_id).delete()
    Team.objects.filter(pk=team_a.pk).update(manager=None)
    User.objects.filter(team=team_a).exclude(pk=rep.pk).delete()
    team_a.delete()

    row = PipelineSnapshot.objects.get(opportunity=deals[1])
    assert (row.owner_id, row.team_id, row.amount) == (None, None, Decimal("80000.00"))
    assert PipelineSnapshot.objects.count() == 2


def test_snapshot_weeks_is_empty_without_snapshots(db):
    assert snapshot_weeks() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_insert_each_deal_once(rep, pipeline):
    OpportunityFactory.create_batch(30, owner=rep, stage=pipeline.discover)
    results: list[SnapshotResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        try:
            barrier.wait()
            results.append(pipeline_snapshot_take(now=NOW))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    assert sorted(r.inserted for r in results) == [0, 0, 30]
    assert sorted(r.skipped_existing for r in results) == [0, 30, 30]
    assert PipelineSnapshot.objects.count() == 30


@pytest.mark.parametrize(
    ("start_month", "day", "label", "start"),
    [
        (1, dt.date(2026, 8, 20), "2026-Q3", dt.date(2026, 7, 1)),
        (4, dt.date(2026, 5, 20), "FY2027-Q1", dt.date(2026, 4, 1)),
    ],
)
def test_the_fiscal_calendar_follows_the_organisation(start_month, day, label, start):
    organisation.pin(replace(organisation.defaults(), fiscal_year_start_month=start_month))
    period = fiscal_calendar().period_of(day, "quarter")
    assert (period.label, period.start) == (label, start)
