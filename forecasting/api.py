"""/api/v1/ of forecasting: serializers and views. Thin: validate, call one service or
selector, serialize."""

from __future__ import annotations

# --- quotas (imports) ---
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action  # --- submissions ---
from rest_framework.request import Request
from rest_framework.response import Response

from forecasting import accuracy as forecasting_accuracy  # --- accuracy and snapshots ---
from forecasting import rules as forecasting_rules  # week-over-week
from forecasting import selectors as forecasting_selectors
from forecasting import services as forecasting_services
from forecasting.models import Quota
from salesops import access
from salesops.api.etag import expected_version, with_etag  # --- forecast meetings ---
from salesops.api.schema import IDEMPOTENCY_KEY, IF_MATCH, errors, one_object
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, IdFilter, int_or_404, valid

# --- quotas ---
# GET/POST /api/v1/quotas/, GET/PATCH/DELETE /api/v1/quotas/{id}/ and
# GET /api/v1/forecast/summary/.

QUOTA_MAX_ID = 2**63 - 1


class QuotaOutput(serializers.ModelSerializer):
    period = serializers.SerializerMethodField(help_text='The period\'s label, e.g. "2026-Q3".')
    rep = serializers.IntegerField(source="rep_id", allow_null=True)
    rep_name = serializers.SerializerMethodField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    team_name = serializers.SerializerMethodField()

    class Meta:
        model = Quota
        fields = [
            "id", "period", "period_kind", "period_start", "rep", "rep_name", "team",
            "team_name", "amount", "currency", "updated_at",
        ]  # fmt: skip

    def get_period(self, quota: Quota) -> str:
        return forecasting_selectors.quota_period_label(quota)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_rep_name(self, quota: Quota) -> str | None:
        return str(quota.rep) if quota.rep_id else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_team_name(self, quota: Quota) -> str | None:
        return quota.team.name if quota.team_id else None


class QuotaInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "period_kind": "Send `period`.",
        "period_start": "Send `period`.",
        "updated_at": "It is set by the server.",
    }
    required_any_of = ("rep", "team")  # exactly one: quota_set refuses neither and both
    period = serializers.CharField(
        help_text='A fiscal month ("2026-07") or quarter ("2026-Q3", "FY2027-Q1").'
    )
    rep = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=QUOTA_MAX_ID
    )
    team = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=QUOTA_MAX_ID
    )
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    currency = serializers.CharField(
        required=False, help_text="Three letters; default: the organisation's currency."
    )


class QuotaUpdateInput(StrictInputSerializer):
    read_only_hints = {
        "period": "Set a quota for another period with POST.",
        "rep": "Set a quota for someone else with POST.",
        "team": "Set a quota for another team with POST.",
    }
    amount = serializers.DecimalField(required=False, max_digits=14, decimal_places=2, min_value=0)
    currency = serializers.CharField(required=False)


class QuotaFilter(django_filters.FilterSet):
    period = django_filters.CharFilter(
        method="filter_period", help_text='A period label, e.g. "2026-Q3" or "2026-07".'
    )
    rep = IdFilter(field_name="rep_id")
    team = IdFilter(
        method="filter_team",
        help_text="The team's quotas and its reps', sub-teams included.",
    )

    class Meta:
        model = Quota
        fields: list[str] = []

    def filter_period(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        period = forecasting_services.period_from_label(value)
        return queryset.filter(period_kind=period.kind.value, period_start=period.start)

    def filter_team(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        teams = access.team_subtree(value)
        return queryset.filter(Q(team_id__in=teams) | Q(rep__team_id__in=teams))


@extend_schema(tags=["forecasting"])
class QuotaViewSet(ApiViewSet):
    """Quotas per rep and per team and fiscal period: read within your scope (a rep their
    own, a manager their teams' and their reps', a leader all); written by administrators
    and sales leaders."""

    queryset = Quota.objects.none()  # the model for the schema; reads use selectors
    filterset_class = QuotaFilter
    input_serializers = {"create": QuotaInput, "partial_update": QuotaUpdateInput}

    @extend_schema(responses={200: QuotaOutput(many=True), **errors(400, 404)})
    def list(self, request: Request) -> Response:
        quotas = self.filter_queryset(forecasting_selectors.quota_list_for(request.user))
        return self.paginated(quotas, QuotaOutput)

    @extend_schema(
        request=QuotaInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: QuotaOutput, 200: QuotaOutput, **errors(400, 403, 413, 422)},
        description="Administrators and sales leaders only. Sets the quota of `rep` or `team` "
        "(exactly one) for `period`: 201 when it is new, 200 when it replaces the one there was.",
    )
    def create(self, request: Request) -> Response:
        data = valid(QuotaInput, request)
        quota, created = forecasting_services.quota_set(
            actor=request.user,
            period=data["period"],
            amount=data["amount"],
            currency=data.get("currency"),
            rep_id=data.get("rep"),
            team_id=data.get("team"),
        )
        quota = forecasting_selectors.quota_get_for(request.user, quota.pk)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(QuotaOutput(quota).data, status=code)

    @extend_schema(responses={200: QuotaOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        quota = forecasting_selectors.quota_get_for(request.user, int_or_404(pk))
        return Response(QuotaOutput(quota).data)

    @extend_schema(
        request=QuotaUpdateInput,
        responses={200: QuotaOutput, **errors(400, 403, 404)},
        description="Administrators and sales leaders only: change the amount or the currency.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        quota = forecasting_selectors.quota_get_for(request.user, int_or_404(pk))
        data = valid(QuotaUpdateInput, request)
        forecasting_services.quota_update(actor=request.user, quota_id=quota.pk, **data)
        return Response(
            QuotaOutput(forecasting_selectors.quota_get_for(request.user, quota.pk)).data
        )

    @extend_schema(
        responses={204: None, **errors(403, 404)},
        description="Administrators and sales leaders only. A team's quota falls back to the "
        "sum of its reps'.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        quota = forecasting_selectors.quota_get_for(request.user, int_or_404(pk))
        forecasting_services.quota_delete(actor=request.user, quota_id=quota.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _money(help_text: str = "", **kwargs: Any) -> serializers.DecimalField:
    """A read-only amount (every forecast output's money field)."""
    return serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, help_text=help_text, **kwargs
    )


class FiguresOutput(serializers.Serializer):
    """The numbers of one scope (reads a rules.ForecastFigures)."""

    closed_won = _money("Won in the period (closed_at in it).")
    commit = _money("Open deals closing in the period in Commit.")
    best_case = _money("… in Best case.")
    pipeline = _money("… in Pipeline.")
    commit_cumulative = _money("Closed won + commit.")
    best_case_cumulative = _money("Commit cumulative + best case.")
    pipeline_cumulative = _money("Best case cumulative + pipeline.")
    open_pipeline = _money("Commit + best case + pipeline (open, omitted left out).")
    weighted_pipeline = _money("Σ amount × stage probability of the open pipeline.")
    quota = _money("Null: no quota.", allow_null=True)
    attainment_percent = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Closed won ÷ quota × 100; null: no or 0 quota."
    )
    remaining = _money("max(quota − closed won, 0); null: no quota.", allow_null=True)
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


class PeriodOutput(serializers.Serializer):
    label = serializers.CharField()
    kind = serializers.CharField()
    start = serializers.DateField(help_text="First day.")
    last_day = serializers.DateField()


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


# --- week-over-week ---
# GET /api/v1/forecast/changes/ and GET /api/v1/forecast/trend/ (everyone, in their scope).


def _per_currency(help_text: str) -> serializers.DictField:
    return serializers.DictField(
        child=_money(), read_only=True, help_text=f"{help_text} Per currency code."
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
    delta = _money("The signed change to the period's open pipeline.")
    amount_before = _money("Last week's amount; null: not in last week's snapshot.",
                               allow_null=True)  # fmt: skip
    amount_after = _money("This week's amount; null: not in this week's snapshot.",
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
    amount = _money()
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


_SCOPE_TEXT = (
    "Your scope applies to the snapshot rows as they were taken (the owner and team that "
    "week): a rep their own deals, a manager their teams', a leader all; `team` (with its "
    "sub-teams) and `owner` narrow it. A team or owner outside your scope: 404. Amounts "
    "per currency, never summed across currencies."
)


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
        + _SCOPE_TEXT
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
        "(`has_snapshot` false: none was taken). " + _SCOPE_TEXT,
    )
    def list(self, request: Request) -> Response:
        query = TrendQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        trend = forecasting_selectors.snapshot_trend(
            request.user, data.get("period"), data["weeks"], data.get("team"), data.get("owner")
        )
        return Response(TrendOutput(trend).data)


# --- submissions ---
# GET/POST /api/v1/forecast/submissions/, GET /api/v1/forecast/submissions/{id}/ (no
# update, no delete: 405) and GET /api/v1/forecast/submissions/missing/.


def _sub_money(help_text: str = "") -> serializers.CharField:
    return serializers.CharField(
        allow_null=True, help_text=help_text or "A decimal as a string; null: none."
    )


class SubmissionFiguresOutput(serializers.Serializer):
    """The system's totals for the scope when the call was made (see /forecast/summary/),
    numbers as decimal strings."""

    currency = serializers.CharField()
    closed_won = _sub_money()
    commit = _sub_money()
    best_case = _sub_money()
    pipeline = _sub_money()
    commit_cumulative = _sub_money()
    best_case_cumulative = _sub_money()
    pipeline_cumulative = _sub_money()
    open_pipeline = _sub_money()
    weighted_pipeline = _sub_money()
    quota = _sub_money()
    attainment_percent = _sub_money()
    remaining = _sub_money()
    coverage = _sub_money()


class RepCallOutput(serializers.Serializer):
    rep = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.IntegerField(allow_null=True)
    submission = serializers.IntegerField(allow_null=True, help_text="Null: no call yet.")
    commit = _sub_money()
    best_case = _sub_money()
    currency = serializers.CharField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)


class SubmissionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.SerializerMethodField(help_text='The period\'s label, e.g. "2026-Q3".')
    period_kind = serializers.CharField()
    period_start = serializers.DateField()
    level = serializers.ChoiceField(choices=["rep", "team"])
    submitter = serializers.IntegerField(source="submitter_id")
    submitter_name = serializers.SerializerMethodField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    team_name = serializers.SerializerMethodField()
    commit = serializers.DecimalField(max_digits=14, decimal_places=2)
    best_case = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    notes = serializers.CharField()
    adjustment_note = serializers.CharField()
    figures = SubmissionFiguresOutput()
    reps_calls = RepCallOutput(many=True, help_text="Team level: each rep's latest call.")
    submitted_at = serializers.DateTimeField()
    supersedes = serializers.IntegerField(source="supersedes_id", allow_null=True)
    superseded_by = serializers.IntegerField(
        source="next_id", allow_null=True, help_text="Null: this is the latest call."
    )

    def get_period(self, submission: Any) -> str:
        return forecasting_selectors.submission_period_label(submission)

    def get_submitter_name(self, submission: Any) -> str:
        return str(submission.submitter)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_team_name(self, submission: Any) -> str | None:
        return submission.team.name if submission.team_id else None


class SubmissionInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "figures": "They are computed by the server.",
        "reps_calls": "They are read by the server.",
        "submitted_at": "It is set by the server.",
        "supersedes": "A new call supersedes your latest one by itself.",
    }
    period = serializers.CharField(
        help_text='A fiscal month ("2026-07") or quarter ("2026-Q3", "FY2027-Q1").'
    )
    # No quantizing here (it raised on 1e30): the service checks the range and rounds.
    commit = serializers.DecimalField(max_digits=None, decimal_places=None)
    best_case = serializers.DecimalField(max_digits=None, decimal_places=None)
    notes = serializers.CharField(required=False, allow_blank=True)
    team = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=QUOTA_MAX_ID,
        help_text="A team call (managers, leaders); absent: your own call (reps).",
    )
    adjustment_note = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Required when a team's call differs from the sum of its reps' calls.",
    )
    currency = serializers.CharField(
        required=False, help_text="Three letters; default: the organisation's currency."
    )


class SubmissionQuery(serializers.Serializer):
    period = serializers.CharField(required=False, help_text='A period label, e.g. "2026-Q3".')
    person = serializers.IntegerField(
        required=False, min_value=1, max_value=QUOTA_MAX_ID, help_text="The submitter."
    )
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=QUOTA_MAX_ID,
        help_text="The team's calls and its reps', sub-teams included.",
    )
    level = serializers.ChoiceField(required=False, choices=["rep", "team"])
    latest = serializers.BooleanField(
        required=False, default=False, help_text="Only the latest call of each chain."
    )


class MissingQuery(serializers.Serializer):
    period = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text='"2026-Q3", "2026-07" or "FY2027-Q1"; default: the current quarter.',
    )


class MissingPersonOutput(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=["rep", "team"], help_text="rep: their own call; team: a call for `team`."
    )
    person = serializers.IntegerField(source="person_id")
    name = serializers.CharField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    team_name = serializers.CharField(allow_null=True)
    last_submitted_at = serializers.DateTimeField(
        allow_null=True, help_text="Their latest call of the period (before this week)."
    )


class NotSubmittedOutput(serializers.Serializer):
    period = PeriodOutput()
    week = serializers.DateField(help_text="This week's Monday.")
    since = serializers.DateTimeField()
    people = MissingPersonOutput(many=True)


@extend_schema(tags=["forecasting"])
class ForecastSubmissionViewSet(ApiViewSet):
    """Forecast calls: immutable. A later call supersedes an earlier one; there is no
    update and no delete (PUT, PATCH and DELETE: 405)."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    input_serializers = {"create": SubmissionInput}

    @extend_schema(
        parameters=[SubmissionQuery],
        responses={200: SubmissionOutput(many=True), **errors(400, 404)},
        description="The calls you may see, newest first: a rep their own; a manager "
        "theirs, their reps' and every call for the teams they manage; a leader all.",
    )
    def list(self, request: Request) -> Response:
        query = SubmissionQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rows = forecasting_selectors.submissions_for(
            request.user,
            period=data.get("period"),
            person=data.get("person"),
            team=data.get("team"),
            level=data.get("level"),
            latest=data["latest"],
        )
        return self.paginated(rows, SubmissionOutput)

    @extend_schema(
        request=SubmissionInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: SubmissionOutput, **errors(400, 403, 404, 409, 413)},
        description="Submit a call for `period`: without `team` your own (reps); with "
        "`team` the team's (its manager, or a leader). It records the system's numbers "
        "at this moment and supersedes your previous call of the same period and team. "
        "A team call that differs from the sum of its reps' calls needs "
        "`adjustment_note`. A period already over: 409 `period_closed`.",
    )
    def create(self, request: Request) -> Response:
        data = valid(SubmissionInput, request)
        submission = forecasting_services.forecast_submit(
            actor=request.user,
            period=data["period"],
            commit=data["commit"],
            best_case=data["best_case"],
            notes=data.get("notes", ""),
            team_id=data.get("team"),
            adjustment_note=data.get("adjustment_note", ""),
            currency=data.get("currency"),
        )
        submission = forecasting_selectors.submission_get_for(request.user, submission.pk)
        return Response(SubmissionOutput(submission).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: SubmissionOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        submission = forecasting_selectors.submission_get_for(request.user, int_or_404(pk))
        return Response(SubmissionOutput(submission).data)

    @extend_schema(
        parameters=[MissingQuery],
        responses={200: NotSubmittedOutput, **errors(400, 404)},
        description="Who in your scope has not submitted a call for the period since "
        "this week's Monday (organisation's timezone): reps for themselves, managers for "
        "each team they manage.",
    )
    @action(detail=False, methods=["get"], url_path="missing", pagination_class=None)
    def missing(self, request: Request) -> Response:
        query = MissingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = forecasting_selectors.not_submitted_this_week(
            request.user, query.validated_data.get("period")
        )
        return Response(NotSubmittedOutput(result).data)


# --- forecast from history ---
# GET /api/v1/forecast/history/ (everyone, in their scope).


class HistoryCellOutput(serializers.Serializer):
    bucket = serializers.CharField(help_text='Days in the stage: "0-14", "15-30", "31-60", "61+".')
    open_deals = serializers.IntegerField()
    open_amount = _money("Open deals of the period in this stage and age bucket.")
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
    expected = _money("Open amount × probability.")


class HistoryStageOutput(serializers.Serializer):
    stage = serializers.IntegerField(source="stage_id")
    stage_name = serializers.CharField()
    pipeline_name = serializers.CharField()
    stage_probability = serializers.IntegerField(help_text="The configured probability, %.")
    open_deals = serializers.IntegerField()
    open_amount = _money("Open deals of the period in this stage.")
    expected = _money("Σ of the buckets' expected amounts.")
    stage_default_expected = _money("Open amount × the stage probability.")
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
    open_amount = _money("The open pipeline of the period (Omitted left out).")
    expected = _money("Expected closed amount from history.")
    stage_default_expected = _money("Σ amount × stage probability, for comparison.")
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


# --- accuracy and snapshots ---
# GET /api/v1/forecast/accuracy/ and GET /api/v1/forecast/snapshots/ (everyone, in their
# scope).


def _ratio(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(read_only=True, allow_null=True, help_text=help_text)


class AccuracyQuery(serializers.Serializer):
    person = serializers.IntegerField(
        required=False, min_value=1, max_value=QUOTA_MAX_ID, help_text="The caller."
    )
    level = serializers.ChoiceField(required=False, choices=["rep", "team"])
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=QUOTA_MAX_ID,
        help_text="The team's calls and its reps', sub-teams included.",
    )
    kind = serializers.ChoiceField(required=False, choices=["quarter", "month"], default="quarter")
    periods = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=forecasting_accuracy.MAX_PERIODS,
        default=4,
        help_text="How many closed periods, the latest last (default 4).",
    )
    checkpoints = serializers.CharField(
        required=False,
        help_text='Weeks of the period, comma-separated, e.g. "1,6" (at most 4; a quarter '
        "1-13, a month 1-4). Default: 1,6 for a quarter, 1,3 for a month.",
    )
    currency = serializers.CharField(
        required=False, help_text="Default: the organisation's currency."
    )


class AccuracyRowOutput(serializers.Serializer):
    person = serializers.IntegerField(source="person_id")
    person_name = serializers.CharField()
    level = serializers.ChoiceField(choices=["rep", "team"])
    team = serializers.IntegerField(
        source="team_id", allow_null=True, help_text="Team level: the team; rep level: theirs now."
    )
    team_name = serializers.CharField(allow_null=True)
    period = serializers.CharField(help_text='The period\'s label, e.g. "2026-Q3".')
    checkpoint = serializers.IntegerField(help_text="The week of the period.")
    cutoff = serializers.DateTimeField(help_text="The call counted was the latest before this.")
    submission = serializers.IntegerField(source="submission_id", allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    submitted = _money("The call's commit; null: no call to compare.", allow_null=True)
    best_case = _money("The call's best case.", allow_null=True)
    actual = _money("Closed won of the scope in the period.")
    error = _money("submitted − actual: positive = over-forecast.", allow_null=True)
    best_case_error = _money("best case − actual.", allow_null=True)
    accuracy = _ratio("1 − |error| ÷ actual (1 = exact); null: no call or no closed won.")
    note = serializers.CharField(
        help_text='Empty when compared; "no call", "call in USD" (another currency) or '
        '"no closed won".'
    )


class AccuracyPersonOutput(serializers.Serializer):
    person = serializers.IntegerField(source="person_id")
    person_name = serializers.CharField()
    level = serializers.ChoiceField(choices=["rep", "team"])
    team = serializers.IntegerField(source="team_id", allow_null=True)
    team_name = serializers.CharField(allow_null=True)
    checkpoint = serializers.IntegerField()
    periods = serializers.IntegerField(help_text="Periods with a call or a call owed.")
    calls = serializers.IntegerField(help_text="Periods with a call compared.")
    accuracy = _ratio("Mean accuracy of the periods that have one.")
    accuracy_periods = serializers.IntegerField()
    bias = _money("Mean error of the calls (positive = over-forecast).", allow_null=True)
    bias_ratio = _ratio("Σ error ÷ Σ actual of the calls.")
    note = serializers.CharField(help_text='Empty, "no call" or "no closed won".')


@one_object
class AccuracyOutput(serializers.Serializer):
    currency = serializers.CharField()
    kind = serializers.CharField()
    checkpoints = serializers.ListField(child=serializers.IntegerField())
    periods = PeriodOutput(many=True, help_text="Oldest first.")
    person = serializers.IntegerField(source="person_id", allow_null=True)
    level = serializers.CharField(allow_null=True)
    team = serializers.IntegerField(source="team_id", allow_null=True)
    by_person = AccuracyPersonOutput(many=True)
    rows = AccuracyRowOutput(many=True)


@extend_schema(tags=["forecasting"])
class ForecastAccuracyViewSet(ApiViewSet):
    """The accuracy and bias of past forecast calls."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        parameters=[AccuracyQuery],
        responses={200: AccuracyOutput, **errors(400, 404)},
        description="For each of the last `periods` closed periods and each checkpoint "
        "week: every call standing at the end of that week (the latest submitted before "
        "it, per person, level and team) against the closed won of its scope in the "
        "period (a rep's deals; a team's with its sub-teams, by the owners' teams now): "
        "error = commit − actual, accuracy = 1 − |error| ÷ actual. People who owed a "
        'call and made none have rows with note "no call". `by_person`: per person, '
        "level, team and checkpoint, the mean accuracy, the mean error (bias) and "
        "Σ error ÷ Σ actual. Scope: a rep their own calls, a manager theirs and their "
        "teams', a leader all; outside it: 404. Bad parameters: 400 naming the field.",
    )
    def list(self, request: Request) -> Response:
        query = AccuracyQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        report = forecasting_accuracy.forecast_accuracy(
            request.user,
            person_id=data.get("person"),
            level=data.get("level"),
            team_id=data.get("team"),
            kind=data["kind"],
            periods=data["periods"],
            checkpoints=data.get("checkpoints"),
            currency=data.get("currency"),
        )
        return Response(AccuracyOutput(report).data)


class SnapshotQuery(serializers.Serializer):
    week = serializers.DateField(
        required=False,
        help_text="A Monday, YYYY-MM-DD; default: the latest week with a snapshot.",
    )
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=QUOTA_MAX_ID,
        help_text="The row's team that week, with its sub-teams.",
    )
    owner = serializers.IntegerField(
        required=False, min_value=1, max_value=QUOTA_MAX_ID, help_text="The owner that week."
    )
    period = serializers.CharField(
        required=False,
        help_text='Deals closing in this period that week: "2026-Q3", "2026-07", "FY2027-Q1".',
    )


class SnapshotRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SnapshotRowOutput(serializers.Serializer):
    week = serializers.DateField(help_text="The Monday of the snapshot's week.")
    opportunity = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField(help_text="That week; null: the user was deleted.")
    team = serializers.SerializerMethodField(help_text="The owner's team that week.")
    stage = serializers.SerializerMethodField()
    forecast_category = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    close_date = serializers.DateField()
    status = serializers.CharField()

    @extend_schema_field(SnapshotRefOutput)
    def get_opportunity(self, row: Any) -> dict[str, Any]:
        return {"id": row.opportunity_id, "name": row.opportunity.name}

    @extend_schema_field(SnapshotRefOutput(allow_null=True))
    def get_owner(self, row: Any) -> dict[str, Any] | None:
        return {"id": row.owner_id, "name": str(row.owner)} if row.owner_id else None

    @extend_schema_field(SnapshotRefOutput(allow_null=True))
    def get_team(self, row: Any) -> dict[str, Any] | None:
        return {"id": row.team_id, "name": row.team.name} if row.team_id else None

    @extend_schema_field(SnapshotRefOutput)
    def get_stage(self, row: Any) -> dict[str, Any]:
        return {"id": row.stage_id, "name": row.stage.name}


@extend_schema(tags=["forecasting"])
class ForecastSnapshotViewSet(ApiViewSet):
    """The rows of the weekly pipeline snapshots."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[SnapshotQuery],
        responses={200: SnapshotRowOutput(many=True), **errors(400, 404)},
        description="Each open deal as the snapshot of `week` recorded it (default: the "
        "latest week with a snapshot), ordered by opportunity id. " + _SCOPE_TEXT + " A "
        "`week` that is not a Monday or has not begun, or a bad period: 400.",
    )
    def list(self, request: Request) -> Response:
        query = SnapshotQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        result = forecasting_accuracy.snapshot_rows_for(
            request.user,
            week=data.get("week"),
            team_id=data.get("team"),
            owner_id=data.get("owner"),
            period=data.get("period"),
        )
        return self.paginated(result.rows, SnapshotRowOutput)


# --- forecast meetings ---
# GET/POST /api/v1/forecast/meetings/, GET/PATCH /api/v1/forecast/meetings/{id}/ (no PUT,
# no DELETE: 405). Read in scope (a rep the meetings they attended, a manager their teams',
# a leader all); recorded and changed by a manager of the team or a leader. The numbers are
# frozen when the meeting is recorded; each response with one meeting carries its ETag
# (its version) and PATCH with a stale If-Match is refused (412).


class MeetingFiguresRowOutput(SubmissionFiguresOutput):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    team = serializers.IntegerField(allow_null=True)


class MeetingFiguresOutput(serializers.Serializer):
    """The team's numbers when the meeting was recorded (see /forecast/summary/), decimal
    strings in `currency`."""

    currency = serializers.CharField()
    totals = SubmissionFiguresOutput()
    by_owner = MeetingFiguresRowOutput(many=True)


class MeetingRiskOutput(serializers.Serializer):
    opportunity_id = serializers.IntegerField()
    name = serializers.CharField()
    owner_id = serializers.IntegerField()
    owner_name = serializers.CharField()
    amount = serializers.CharField(help_text="A decimal as a string, in `currency`.")
    currency = serializers.CharField()
    forecast_category = serializers.CharField()
    close_date = serializers.DateField()
    severity = serializers.CharField(help_text='"critical" (an open critical flag) or "warning".')
    reasons = serializers.ListField(child=serializers.CharField(), help_text="In words.")


class MeetingChangeItemOutput(serializers.Serializer):
    opportunity_id = serializers.IntegerField()
    name = serializers.CharField()
    currency = serializers.CharField()
    delta = serializers.CharField()
    amount_before = serializers.CharField(allow_null=True)
    amount_after = serializers.CharField(allow_null=True)
    close_date_before = serializers.DateField(allow_null=True)
    close_date_after = serializers.DateField(allow_null=True)


class MeetingChangeGroupOutput(serializers.Serializer):
    kind = serializers.CharField(
        help_text="A kind of forecasting.rules.Change: new, pulled_in, pushed_out, amount_up, "
        "amount_down, won, lost, moved_in, moved_out, dropped."
    )
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="Deals (exact).")
    deltas = serializers.DictField(
        child=serializers.CharField(), help_text="Per currency: the change to the pipeline."
    )
    items = MeetingChangeItemOutput(many=True, help_text="The largest 50 changes.")


class MeetingPreviousOutput(serializers.Serializer):
    id = serializers.IntegerField()
    held_on = serializers.DateField()


class MeetingChangesOutput(serializers.Serializer):
    previous_meeting = MeetingPreviousOutput(
        allow_null=True, help_text="The meeting compared with; null: the first one."
    )
    figure_deltas = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        allow_null=True,
        help_text="Each total now minus at the previous meeting; null: no previous meeting.",
    )
    basis = serializers.ChoiceField(
        choices=["previous_meeting", "previous_week"],
        help_text="previous_week: no previous meeting, the deals compared with last week.",
    )
    from_week = serializers.DateField(allow_null=True)
    to_week = serializers.DateField(allow_null=True)
    available = serializers.BooleanField(help_text="False: a week without a snapshot.")
    opening = serializers.DictField(child=serializers.CharField())
    closing = serializers.DictField(child=serializers.CharField())
    deals = MeetingChangeGroupOutput(many=True)


class MeetingAttendeeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class MeetingListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.SerializerMethodField(help_text='The period\'s label, e.g. "2026-Q3".')
    period_kind = serializers.CharField()
    period_start = serializers.DateField()
    team = serializers.IntegerField(source="team_id")
    team_name = serializers.CharField(source="team.name")
    held_on = serializers.DateField()
    attendee_count = serializers.IntegerField(default=0)
    risk_count = serializers.SerializerMethodField()
    created_by = serializers.IntegerField(source="created_by_id")
    created_by_name = serializers.CharField(source="created_by.__str__")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    version = serializers.IntegerField(help_text="The ETag; send it as If-Match to PATCH.")

    def get_period(self, meeting: Any) -> str:
        return forecasting_selectors.meeting_period_label(meeting)

    def get_risk_count(self, meeting: Any) -> int:
        return len(meeting.risks)


class MeetingOutput(MeetingListOutput):
    notes = serializers.CharField()
    attendees = MeetingAttendeeOutput(many=True, source="attendees.all")
    figures = MeetingFiguresOutput()
    risks = MeetingRiskOutput(many=True)
    changes = MeetingChangesOutput()
    previous_meeting = serializers.SerializerMethodField(
        help_text="The meeting of the team and period before this one that you may see."
    )
    next_meeting = serializers.SerializerMethodField()

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_previous_meeting(self, meeting: Any) -> int | None:
        before = self.context.get("neighbours", (None, None))[0]
        return before.pk if before else None

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_next_meeting(self, meeting: Any) -> int | None:
        after = self.context.get("neighbours", (None, None))[1]
        return after.pk if after else None


def _attendees_field(*, required: bool) -> serializers.ListField:
    return serializers.ListField(
        required=required,
        child=serializers.IntegerField(min_value=1, max_value=QUOTA_MAX_ID),
        max_length=forecasting_services.MEETING_MAX_ATTENDEES,
        help_text="User ids: members of the team or its sub-teams, its managers, leaders.",
    )


class MeetingInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "figures": "They are computed by the server.",
        "risks": "They are computed by the server.",
        "changes": "They are computed by the server.",
        "version": "It is set by the server.",
        "created_by": "You are the creator.",
    }
    period = serializers.CharField(
        help_text='A fiscal month ("2026-07") or quarter ("2026-Q3", "FY2027-Q1").'
    )
    team = serializers.IntegerField(min_value=1, max_value=QUOTA_MAX_ID)
    held_on = serializers.DateField(
        required=False, allow_null=True, help_text="Default: today. Not in the future."
    )
    attendees = _attendees_field(required=True)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class MeetingUpdateInput(StrictInputSerializer):
    read_only_hints = {
        **MeetingInput.read_only_hints,
        "period": "A meeting's period does not change; record another meeting.",
        "team": "A meeting's team does not change; record another meeting.",
    }
    held_on = serializers.DateField(required=False, help_text="Not in the future.")
    attendees = _attendees_field(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class MeetingQuery(serializers.Serializer):
    period = serializers.CharField(required=False, help_text='A period label, e.g. "2026-Q3".')
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=QUOTA_MAX_ID,
        help_text="The team's meetings and its sub-teams'.",
    )


def _meeting_response(request: Request, pk: int, *, status_code: int = 200) -> Response:
    meeting = forecasting_selectors.meeting_get_for(request.user, pk)
    neighbours = forecasting_selectors.meeting_neighbours(request.user, meeting)
    data = MeetingOutput(meeting, context={"request": request, "neighbours": neighbours}).data
    return with_etag(Response(data, status=status_code), meeting.version)


@extend_schema(tags=["forecasting"])
class ForecastMeetingViewSet(ApiViewSet):
    """Forecast meetings of a team about a period, with the numbers frozen when recorded.
    No PUT and no DELETE (405)."""

    queryset = Quota.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    input_serializers = {"create": MeetingInput, "partial_update": MeetingUpdateInput}

    @extend_schema(
        parameters=[MeetingQuery],
        responses={200: MeetingListOutput(many=True), **errors(400, 404)},
        description="The meetings you may see, latest first: a rep those they attended; "
        "a manager those of their teams (and those they attended); a leader all.",
    )
    def list(self, request: Request) -> Response:
        query = MeetingQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rows = forecasting_selectors.meetings_for(
            request.user, period=data.get("period"), team=data.get("team")
        )
        return self.paginated(rows, MeetingListOutput)

    @extend_schema(responses={200: MeetingOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return _meeting_response(request, int_or_404(pk))

    @extend_schema(
        request=MeetingInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: MeetingOutput, **errors(400, 403, 404, 409)},
        description="Record a team's forecast meeting: a manager of the team or a leader "
        "(a rep: 403; a team you do not manage: 404). The team's figures, the deals at "
        "risk and the changes since the previous meeting are computed and frozen. "
        "held_on: today or up to a year back. Attendees: members of the team or its "
        "sub-teams, its managers or leaders. The same team, period and day again: 409 "
        "`duplicate_meeting`.",
    )
    def create(self, request: Request) -> Response:
        data = valid(MeetingInput, request)
        meeting = forecasting_services.meeting_create(
            actor=request.user,
            period=data["period"],
            team_id=data["team"],
            held_on=data.get("held_on"),
            attendee_ids=data["attendees"],
            notes=data.get("notes", ""),
        )
        return _meeting_response(request, meeting.pk, status_code=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[IF_MATCH],
        request=MeetingUpdateInput,
        responses={200: MeetingOutput, **errors(400, 403, 404, 409, 412)},
        description="Change the notes, attendees or date: a manager of the team or a "
        "leader (a rep who attended: 403). The numbers never change.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        meeting = forecasting_selectors.meeting_get_for(request.user, int_or_404(pk))
        data = valid(MeetingUpdateInput, request)
        changes = {"attendee_ids" if k == "attendees" else k: v for k, v in data.items()}
        forecasting_services.meeting_update(
            actor=request.user,
            meeting_id=meeting.pk,
            expected_version=expected_version(request),
            **changes,
        )
        return _meeting_response(request, meeting.pk)
