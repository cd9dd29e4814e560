"""The snapshot's database constraints."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from forecasting.models import PipelineSnapshot

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 23)


def row(opportunity, **overrides):
    fields = {
        "week": MONDAY,
        "opportunity": opportunity,
        "owner": opportunity.owner,
        "team": opportunity.owner.team,
        "stage": opportunity.stage,
        "forecast_category": opportunity.forecast_category,
        "amount": opportunity.amount,
        "currency": opportunity.currency,
        "close_date": opportunity.close_date,
        "status": opportunity.status,
        **overrides,
    }
    return PipelineSnapshot(**fields)


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"week": MONDAY + dt.timedelta(days=1)}, "snapshot_week_is_a_monday"),
        ({"week": MONDAY - dt.timedelta(days=1)}, "snapshot_week_is_a_monday"),
        ({"amount": Decimal("-1")}, "snapshot_amount_gte_0"),
    ],
)
def test_check_constraints(opportunity, overrides, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        row(opportunity, **overrides).save()
    assert PipelineSnapshot.objects.count() == 0


def test_one_row_per_week_and_deal(opportunity):
    row(opportunity).save()
    row(opportunity, week=MONDAY + dt.timedelta(days=7)).save()
    unique = "snapshot_one_row_per_week_and_deal"
    with pytest.raises(IntegrityError, match=unique), transaction.atomic():
        row(opportunity).save()
    assert PipelineSnapshot.objects.count() == 2
