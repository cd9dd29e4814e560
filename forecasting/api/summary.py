"""The forecast numbers of a period for a scope, and the forecast from history.

GET /api/v1/forecast/summary/ and GET /api/v1/forecast/history/ (everyone, in their scope)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from forecasting import selectors as forecasting_selectors
from forecasting.api.common import QUOTA_MAX_ID, PeriodOutput, money
from forecasting.models import Quota
from salesops.api.schema import errors, one_object
from salesops.api.viewsets import ApiViewSet


class FiguresOutput(serializers.Serializer):
    """The numbers of one scope (reads a rules.ForecastFigures)."""

    closed_won = money("Won in the period (closed_at in it).")
    commit = money("Open deals closing in the period in Commit.")
    best_case = money("… in Best case.")
    pipeline = money("… in Pipeline.")
    commit_cumulative = money("Closed won + commit.")
    best_case_cumulative = money("Commit cumulative + best case.")
    pipeline_cumulative = money("Best case cumulative + pipeline.")
    open_pipeline = money("Commit + best case + pipeline (open, omitted left out).")
    weighted_pipeline = money("Σ amount × stage probability of the open pipeline.")
    quota = money("Null: no quota.", allow_null=True)
    attainment_percent = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Closed won ÷ quota × 100; null: no or 0 quota."
    )
    remaining = money("max(quota − closed won, 0); null: no quota.", allow_null=True)
    coverage = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Open pipeline ÷ remaining quota; null: nothing remaining.",
    )


class SummaryRowOutput(FiguresOutput):
    id = serializers.IntegerField(allow_null=True, help_text="Null: owners without a team.")
    name = serializers.CharField()
    team = serializers.IntegerField(source="team_id", allow_null=True)

    def to_representation(self, row: Any) -> dict[str, Any]:
        head = {"id": row.id, "name": row.name, "team": row.team_id}
        return head | FiguresOutput(row.figures).data


@one_object
class SummaryOutput(serializers.Serializer):
    period = PeriodOutput()
    currency = serializers.CharField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    totals = FiguresOutput()
    by_team = SummaryRowOutput(many=True)
    by_owner = SummaryRowOutput(many=True)


class SummaryQuery(serializers.Serializer):
    period = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text='"2026-Q3", "2026-07" or "FY2027-Q1"; default: the current quarter.',
    )
    team = serializers.IntegerField(
        required=False, min_value=1, max_value=QUOTA_MAX_ID, help_text="With its sub-teams."
    )
    owner = serializers.IntegerField(required=False, min_value=1, max_value=QUOTA_MAX_ID)
    currency = serializers.CharField(
        required=False, help_text="Default: the organisation's currency."
    )


def _scoped_read(request: Request, selector: Any, output: Any) -> Response:
    """A forecast read for a period and a scope (?period=&team=&owner=&currency=): the
    query is validated, the selector decides (400 bad period or currency, 404 outside)."""
    query = SummaryQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    result = selector(
        request.user,
        data.get("period"),
        data.get("team"),
        data.get("owner"),
        currency=data.get("currency"),
    )
    return Response(output(result).data)


@extend_schema(tags=["forecasting"])
class ForecastSummaryViewSet(ApiViewSet):
    """The forecast numbers of a period for a scope."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        parameters=[SummaryQuery],
        responses={200: SummaryOutput, **errors(400, 404)},
        description="Closed won, commit, best case and pipeline (per category and "
        "cumulative), weighted pipeline, quota, attainment, remaining quota and coverage "
        "for the period, for `owner`, else `team` (with sub-teams), else what you see; "
        "with breakdowns `by_team` (each team rolled up with its sub-teams) and "
        "`by_owner`. One currency: deals and quotas in others are left out. Deals count "
        "for their current owner and the owner's current team. A team or owner outside "
        "your visibility: 404; a bad period: 400 with `details.period`.",
    )
    def list(self, request: Request) -> Response:
        return _scoped_read(request, forecasting_selectors.forecast_summary, SummaryOutput)


# --- forecast from history ---
# GET /api/v1/forecast/history/ (everyone, in their scope).


class HistoryCellOutput(serializers.Serializer):
    bucket = serializers.CharField(help_text='Days in the stage: "0-14", "15-30", "31-60", "61+".')
    open_deals = serializers.IntegerField()
    open_amount = money("Open deals of the period in this stage and age bucket.")
    probability = serializers.DecimalField(
        max_digits=5, decimal_places=4, read_only=True, help_text="The win probability used, 0-1."
    )
    source = serializers.ChoiceField(
        choices=["history", "stage default"],
        help_text="history: won ÷ every deal that reached this age in the stage; stage "
        "default: too few such deals, the stage's configured probability.",
    )
    history_deals = serializers.IntegerField(help_text="Deals that reached this age in the stage.")
    history_won = serializers.IntegerField()
    history_closed = serializers.IntegerField(help_text="Of them won or lost by now.")
    expected = money("Open amount × probability.")


class HistoryStageOutput(serializers.Serializer):
    stage = serializers.IntegerField(source="stage_id")
    stage_name = serializers.CharField()
    pipeline_name = serializers.CharField()
    stage_probability = serializers.IntegerField(help_text="The configured probability, %.")
    open_deals = serializers.IntegerField()
    open_amount = money("Open deals of the period in this stage.")
    expected = money("Σ of the buckets' expected amounts.")
    stage_default_expected = money("Open amount × the stage probability.")
    history_deals = serializers.IntegerField(help_text="Every deal that was in the stage.")
    history_won = serializers.IntegerField()
    history_closed = serializers.IntegerField()
    cells = HistoryCellOutput(many=True)


@one_object
class HistoryForecastOutput(serializers.Serializer):
    period = PeriodOutput()
    currency = serializers.CharField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    window_start = serializers.DateTimeField(help_text="History: deals that entered a stage …")
    window_end = serializers.DateTimeField(help_text="… from window_start up to this moment.")
    min_deals = serializers.IntegerField(help_text="Fewer deals in a bucket: the stage default.")
    history_deals = serializers.IntegerField(help_text="Distinct deals of the history.")
    history_closed = serializers.IntegerField(help_text="Of them won or lost by now.")
    imported_without_stages = serializers.IntegerField(
        help_text="Closed deals of the window imported without stage history: not counted."
    )
    open_deals = serializers.IntegerField()
    open_amount = money("The open pipeline of the period (Omitted left out).")
    expected = money("Expected closed amount from history.")
    stage_default_expected = money("Σ amount × stage probability, for comparison.")
    by_stage = HistoryStageOutput(many=True)


@extend_schema(tags=["forecasting"])
class ForecastHistoryViewSet(ApiViewSet):
    """The forecast from history of a period's open pipeline."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        parameters=[SummaryQuery],
        responses={200: HistoryForecastOutput, **errors(400, 404)},
        description="The period's open pipeline (one currency, Omitted left out) priced "
        "with win probabilities from the organisation's own deals, per stage and days in "
        "the stage (0-14, 15-30, 31-60, 61+): won ÷ every deal that entered the stage "
        "90-455 days ago and stayed that long (open and lost ones count as not won). A "
        "bucket with fewer than `min_deals` such deals uses the stage's probability. "
        "Scope: a rep their own deals, a manager their teams', a leader all; `team` (with "
        "sub-teams) and `owner` narrow it; outside your scope: 404. A bad period: 400.",
    )
    def list(self, request: Request) -> Response:
        return _scoped_read(request, forecasting_selectors.history_forecast, HistoryForecastOutput)
