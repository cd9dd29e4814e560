"""The weekly snapshot totals (PipelineSnapshotTotal) stay equal to the snapshot rows summed,
whatever writes the snapshot table: the weekly job, a rerun, a deleted deal (its rows go
with it), an owner set to NULL, a TRUNCATE — the statement triggers of migration
0006_snapshot_totals keep them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth

from forecasting.models import PipelineSnapshot, PipelineSnapshotTotal
from forecasting.services import pipeline_snapshot_take
from pipeline.models import ForecastCategory, Opportunity
from tests.factories import OpportunityFactory

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
# The factories stamp their rows on this clock too (created before the week's end…).
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]
KEY = ("week", "owner_id", "team_id", "month", "forecast_category", "currency")


def from_rows() -> dict[tuple, tuple[int, Decimal]]:
    """The snapshot rows summed per key, computed here from the rows themselves."""
    rows = (
        PipelineSnapshot.objects.annotate(month=TruncMonth("close_date"))
        .values(*KEY)
        .annotate(deals=Count("id"), amount=Sum("amount"))
    )
    return {tuple(r[k] for k in KEY): (r["deals"], r["amount"]) for r in rows}


def from_totals() -> dict[tuple, tuple[int, Decimal]]:
    """The totals table summed per key (a key may have several rows), empty keys left out."""
    rows = (
        PipelineSnapshotTotal.objects.annotate(month=TruncMonth("close_month"))
        .values(*KEY)
        .annotate(deals=Sum("deals"), amount=Sum("amount"))
    )
    return {tuple(r[k] for k in KEY): (r["deals"], r["amount"]) for r in rows if r["deals"]}


@pytest.fixture
def deals(rep, teammate, other_rep, pipeline):
    return [
        OpportunityFactory(
            owner=rep, stage=pipeline.discover, amount=Decimal("12500.50"), currency="EUR",
            close_date=dt.date(2026, 12, 15),
        ),
        OpportunityFactory(
            owner=rep, stage=pipeline.qualify, amount=Decimal("7000"), currency="EUR",
            close_date=dt.date(2026, 12, 1),
        ),
        OpportunityFactory(
            owner=teammate, stage=pipeline.qualify, amount=Decimal("80000"), currency="USD",
            forecast_category=ForecastCategory.BEST_CASE, close_date=dt.date(2027, 1, 20),
        ),
        OpportunityFactory(
            owner=other_rep, stage=pipeline.proposal, amount=Decimal("0"),
            close_date=dt.date(2026, 12, 31),
        ),
    ]  # fmt: skip


def test_the_weekly_job_and_its_rerun_keep_the_totals(deals, rep, pipeline):
    pipeline_snapshot_take(now=NOW)
    totals = from_totals()
    assert totals == from_rows()
    december_rep = (MONDAY, rep.pk, rep.team_id, dt.date(2026, 12, 1), "pipeline", "EUR")
    assert totals[december_rep] == (2, Decimal("19500.50"))  # 12,500.50 + 7,000 by hand

    OpportunityFactory(owner=rep, stage=pipeline.discover, amount=Decimal("100"))
    pipeline_snapshot_take(now=NOW)  # the rerun adds the new deal only
    assert from_totals() == from_rows()
    assert sum(d for d, _ in from_totals().values()) == 5


def test_a_deleted_deal_leaves_the_totals_with_its_rows(deals, rep):
    pipeline_snapshot_take(now=NOW)
    Opportunity.objects.filter(pk=deals[0].pk).delete()
    assert from_totals() == from_rows()
    december_rep = (MONDAY, rep.pk, rep.team_id, dt.date(2026, 12, 1), "pipeline", "EUR")
    assert from_totals()[december_rep] == (1, Decimal("7000.00"))


def test_updated_rows_move_their_sums(deals, rep):
    pipeline_snapshot_take(now=NOW)
    PipelineSnapshot.objects.filter(owner=rep).update(owner=None, amount=Decimal("1"))
    totals = from_totals()
    assert totals == from_rows()
    assert not any(key[1] == rep.pk for key in totals)
    assert totals[(MONDAY, None, rep.team_id, dt.date(2026, 12, 1), "pipeline", "EUR")] == (
        2,
        Decimal("2.00"),
    )


def test_truncate_empties_them(deals):
    pipeline_snapshot_take(now=NOW)
    assert from_totals()
    with connection.cursor() as cursor:
        # A TRUNCATE needs the transaction's deferred checks done first (as seed_demo's reset).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE forecasting_pipelinesnapshot")
    assert PipelineSnapshotTotal.objects.count() == 0
