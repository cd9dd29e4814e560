"""Week-over-week: the changes of a period's open pipeline and its weekly trend.

GET /api/v1/forecast/changes/ and GET /api/v1/forecast/trend/ (everyone, in their scope)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from forecasting import rules as forecasting_rules
from forecasting import selectors as forecasting_selectors
from forecasting.api.common import QUOTA_MAX_ID, SCOPE_TEXT, money
from forecasting.models import Quota
from salesops.api.schema import errors, one_object
from salesops.api.viewsets import ApiViewSet


def _per_currency(help_text: str) -> serializers.DictField:
    return serializers.DictField(
        child=money(), read_only=True, help_text=f"{help_text} Per currency code."
    )


class WowPeriodOutput(serializers.Serializer):
    label = serializers.CharField()
    kind = serializers.CharField()
    start = serializers.DateField(help_text="First day.")
    last_day = serializers.DateField()


class ChangeItemOutput(serializers.Serializer):
    opportunity = serializers.IntegerField(source="opportunity_id")
    name = serializers.CharField()
    currency = serializers.CharField()
    delta = money("The signed change to the period's open pipeline.")
    amount_before = money("Last week's amount; null: not in last week's snapshot.",
                               allow_null=True)  # fmt: skip
    amount_after = money("This week's amount; null: not in this week's snapshot.",
                              allow_null=True)  # fmt: skip
    close_date_before = serializers.DateField(allow_null=True)
    close_date_after = serializers.DateField(
        allow_null=True, help_text="This week's; for a deal closed since, its close date now."
    )


class ChangeGroupOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[kind.value for kind in forecasting_rules.Change])
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Deals with this change.")
    deltas = _per_currency("The signed change to the period's open pipeline.")
    truncated = serializers.BooleanField(
        help_text="True when `items` lists only the largest changes (see `count`)."
    )
    items = ChangeItemOutput(many=True)


@one_object
class ChangesOutput(serializers.Serializer):
    period = WowPeriodOutput()
    week = serializers.DateField(help_text="This week (its Monday).")
    previous_week = serializers.DateField()
    has_snapshot = serializers.BooleanField(help_text="This week's snapshot was taken.")
    has_previous_snapshot = serializers.BooleanField()
    available = serializers.BooleanField(
        help_text="Both snapshots exist; when false, `changes` are all empty."
    )
    opening = _per_currency("Last week's open pipeline in the period.")
    closing = _per_currency("This week's open pipeline in the period (opening + Σ deltas).")
    changes = ChangeGroupOutput(many=True)


class ChangesQuery(serializers.Serializer):
    period = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text='"2026-Q3", "2026-07" or "FY2027-Q1"; default: the current quarter.',
    )
    week = serializers.DateField(
        required=False,
        help_text="A Monday, YYYY-MM-DD; default: the latest week with a snapshot.",
    )
    team = serializers.IntegerField(
        required=False, min_value=1, max_value=QUOTA_MAX_ID, help_text="With its sub-teams."
    )
    owner = serializers.IntegerField(required=False, min_value=1, max_value=QUOTA_MAX_ID)


class TrendQuery(serializers.Serializer):
    period = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text='"2026-Q3", "2026-07" or "FY2027-Q1"; default: the current quarter.',
    )
    weeks = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=forecasting_selectors.TREND_MAX_WEEKS,
        default=13,
        help_text="How many weeks, the current one last (1–104, default 13).",
    )
    team = serializers.IntegerField(
        required=False, min_value=1, max_value=QUOTA_MAX_ID, help_text="With its sub-teams."
    )
    owner = serializers.IntegerField(required=False, min_value=1, max_value=QUOTA_MAX_ID)


class TrendCellOutput(serializers.Serializer):
    forecast_category = serializers.CharField()
    currency = serializers.CharField()
    amount = money()
    deals = serializers.IntegerField()


class TrendWeekOutput(serializers.Serializer):
    week = serializers.DateField()
    has_snapshot = serializers.BooleanField()
    totals = _per_currency("The open pipeline in the period, every category but Omitted.")
    cells = TrendCellOutput(many=True, help_text="Per forecast category and currency.")


@one_object
class TrendOutput(serializers.Serializer):
    period = WowPeriodOutput()
    weeks = TrendWeekOutput(many=True, help_text="Oldest first, the current week last.")


@extend_schema(tags=["forecasting"])
class ForecastChangesViewSet(ApiViewSet):
    """Week-over-week changes of a period's open pipeline."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        parameters=[ChangesQuery],
        responses={200: ChangesOutput, **errors(400, 404)},
        description="This week's pipeline snapshot against last week's for the period's "
        "deals: new, pulled in, pushed out, amount up, amount down, won, lost, moved in / "
        "moved out (the owner or their team changed) and dropped, each with its count, "
        "the signed change per currency and the deals behind it (the largest 200). "
        + SCOPE_TEXT
        + " A week without a snapshot: `available` false, no error; a `week` that is not "
        "a Monday or has not begun, or a bad period: 400.",
    )
    def list(self, request: Request) -> Response:
        query = ChangesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        result = forecasting_selectors.week_over_week(
            request.user, data.get("period"), data.get("week"), data.get("team"), data.get("owner")
        )
        return Response(ChangesOutput(result).data)


@extend_schema(tags=["forecasting"])
class ForecastTrendViewSet(ApiViewSet):
    """The open pipeline of a period as the weekly snapshots recorded it."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        parameters=[TrendQuery],
        responses={200: TrendOutput, **errors(400, 404)},
        description="For each of the last `weeks` weeks: the open pipeline of the period's "
        "deals per forecast category and currency, as that week's snapshot recorded it "
        "(`has_snapshot` false: none was taken). " + SCOPE_TEXT,
    )
    def list(self, request: Request) -> Response:
        query = TrendQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        trend = forecasting_selectors.snapshot_trend(
            request.user, data.get("period"), data["weeks"], data.get("team"), data.get("owner")
        )
        return Response(TrendOutput(trend).data)
