"""/api/v1/insights/: results, the behaviour gaps of the top performers, suggestions
(list, accept, dismiss) and experiments (list, detail). Thin: the query string is parsed
by insights.scope, reads go through insights.selectors, writes through insights.services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from insights import rules, selectors, services
from insights.models import Suggestion, SuggestionStatus
from insights.results import GROUPINGS
from insights.scope import scope_from_query
from salesops.api.etag import expected_version, with_etag
from salesops.api.schema import IDEMPOTENCY_KEY, IF_MATCH, errors, one_object
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, int_or_404

# --- queries ----------------------------------------------------------------------------


class ScopeQuery(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day; default a year ago.")
    end = serializers.DateField(required=False, help_text="Last day; default today.")
    team = serializers.IntegerField(required=False, min_value=1, help_text="With sub-teams.")
    owner = serializers.IntegerField(
        required=False, min_value=1, help_text="One person: their results and stage flow."
    )
    currency = serializers.CharField(
        required=False, help_text="Amounts in this currency; default the organisation's."
    )
    min_closed = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=1000,
        help_text="Closed deals a rep needs to be ranked (default INSIGHTS_MIN_CLOSED_DEALS).",
    )


class ResultsQuery(ScopeQuery):
    group_by = serializers.ChoiceField(choices=GROUPINGS, required=False, default="rep")


class BehavioursQuery(ScopeQuery):
    rank_by = serializers.ChoiceField(
        choices=list(rules.RANKINGS), required=False, default="won_amount"
    )


def _query(request: Request, serializer: type[serializers.Serializer]) -> dict[str, Any]:
    query = serializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


# --- outputs ----------------------------------------------------------------------------


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


class IntervalOutput(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()


class ResultRowOutput(serializers.Serializer):
    key = serializers.CharField(
        help_text='The rep, team or product id, industry, size band; "" for none.'
    )
    label = serializers.CharField()
    created = serializers.IntegerField()
    closed = serializers.IntegerField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True, help_text="won ÷ closed")
    win_rate_interval = IntervalOutput(allow_null=True, help_text="95 % Wilson interval.")
    won_amount = _money()
    avg_won = _money(allow_null=True)
    median_won = _money(allow_null=True)
    won_in_other_currencies = serializers.IntegerField(
        help_text="Won deals in another currency: counted, not in the amounts."
    )
    cycle_won_median = serializers.FloatField(allow_null=True, help_text="Days, created → closed.")
    cycle_won_mean = serializers.FloatField(allow_null=True)
    cycle_lost_median = serializers.FloatField(allow_null=True)
    cycle_lost_mean = serializers.FloatField(allow_null=True)
    quota = _money(allow_null=True, help_text="Quotas of fiscal periods wholly in the range.")
    attainment = serializers.FloatField(allow_null=True)


class StageFlowOutput(serializers.Serializer):
    stage_id = serializers.IntegerField()
    stage = serializers.CharField()
    pipeline = serializers.CharField()
    entered = serializers.IntegerField()
    advanced = serializers.IntegerField()
    lost = serializers.IntegerField()
    still_in = serializers.IntegerField()
    conversion = serializers.FloatField(allow_null=True, help_text="advanced ÷ entered")
    median_days = serializers.FloatField(allow_null=True)


class ScopeOutput(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    currency = serializers.CharField()
    min_closed = serializers.IntegerField()


@one_object
class ResultsOutput(serializers.Serializer):
    scope = ScopeOutput()
    group_by = serializers.CharField()
    rows = ResultRowOutput(many=True)
    total = ResultRowOutput()
    stage_flow = StageFlowOutput(many=True)


class EffectOutput(serializers.Serializer):
    estimate = serializers.FloatField()
    interval = IntervalOutput()
    method = serializers.CharField()


class GapOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    higher_is_better = serializers.BooleanField()
    top_value = serializers.FloatField(allow_null=True)
    rest_value = serializers.FloatField(allow_null=True)
    difference = serializers.FloatField(allow_null=True)
    effect = EffectOutput(allow_null=True)
    magnitude = serializers.CharField()
    top_reps = serializers.IntegerField()
    rest_reps = serializers.IntegerField()
    deals = serializers.IntegerField()
    enough_data = serializers.BooleanField()
    distinguishable = serializers.BooleanField()
    sentence = serializers.SerializerMethodField()

    def get_sentence(self, gap: rules.Gap) -> str:
        return rules.sentence(gap)


class RepRankOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    group = serializers.CharField(help_text='"top", "rest" or "too_few"')


@one_object
class BehavioursOutput(serializers.Serializer):
    scope = ScopeOutput()
    rank_by = serializers.CharField()
    reps = RepRankOutput(many=True)
    gaps = GapOutput(many=True)


def _study_payload(study: selectors.Study) -> dict[str, Any]:
    group = study.group
    reps = [
        {"id": pk, "name": study.names.get(pk, ""), "score": group.scores.get(pk), "group": kind}
        for kind, ids in (("top", group.top), ("rest", group.rest), ("too_few", group.too_few))
        for pk in ids
    ]
    return {"scope": study.scope, "rank_by": group.rank_by, "reps": reps, "gaps": study.gaps}


class SuggestionOutput(serializers.ModelSerializer):
    stage_name = serializers.CharField(source="stage.name")
    decided_by = serializers.CharField(source="decided_by.__str__", allow_null=True, default=None)
    rule_change = serializers.IntegerField(source="rule_change_id", allow_null=True)

    class Meta:
        model = Suggestion
        fields = [
            "id",
            "stage",
            "stage_name",
            "kind",
            "behaviour",
            "title",
            "proposal",
            "evidence",
            "status",
            "created_at",
            "decided_at",
            "decided_by",
            "dismiss_reason",
            "rule_change",
            "version",
        ]


class DismissInput(StrictInputSerializer):
    reason = serializers.CharField(allow_blank=True, max_length=2000)


class ComparisonOutput(serializers.Serializer):
    metric = serializers.CharField()
    label = serializers.CharField()
    before = serializers.FloatField(allow_null=True)
    after = serializers.FloatField(allow_null=True)
    before_count = serializers.IntegerField()
    after_count = serializers.IntegerField()
    difference = serializers.FloatField(source="difference.estimate", allow_null=True, default=None)
    interval = IntervalOutput(source="difference.interval", allow_null=True, default=None)
    verdict = serializers.ChoiceField(choices=["better", "worse", "noise", "too_few"])
    sentence = serializers.CharField()


class ExperimentOutput(serializers.Serializer):
    id = serializers.IntegerField(source="change_id")
    stage = serializers.IntegerField(source="stage_id")
    stage_name = serializers.CharField(source="stage")
    pipeline = serializers.CharField()
    version = serializers.IntegerField()
    changed_at = serializers.DateTimeField()
    changed_by = serializers.CharField()
    summary = serializers.CharField()
    note = serializers.CharField()
    before_start = serializers.DateTimeField()
    after_end = serializers.DateTimeField()
    horizon_days = serializers.IntegerField(
        help_text="Both sides' deals are followed this long after entering the stage."
    )
    comparisons = ComparisonOutput(many=True)


# --- views ------------------------------------------------------------------------------


class _InsightsViewSet(ApiViewSet):
    queryset = Suggestion.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    pagination_class = None


@extend_schema(tags=["insights"])
class ResultsViewSet(_InsightsViewSet):
    @extend_schema(
        parameters=[ResultsQuery],
        responses={200: ResultsOutput, **errors(400, 403, 404)},
        description="Results per rep (or team, product, industry, account size) for a date "
        "range: created, closed, won, lost, win rate with its 95 % interval, won amount, "
        "deal sizes, sales cycles, quota and attainment, and the stage flow. Imported "
        "history counts fully. A rep gets their own row only (group_by=rep); other groupings "
        "are for managers (their teams), leaders and admins.",
    )
    def list(self, request: Request) -> Response:
        data = _query(request, ResultsQuery)
        scope = scope_from_query(request.user, request.query_params)
        table = selectors.results_for(request.user, scope, group_by=data["group_by"])
        return Response(ResultsOutput(table).data)


@extend_schema(tags=["insights"])
class BehavioursViewSet(_InsightsViewSet):
    @extend_schema(
        parameters=[BehavioursQuery],
        responses={200: BehavioursOutput, **errors(400, 403, 404)},
        description="The top performers (top quartile by `rank_by` among reps with at least "
        "`min_closed` closed deals) and every behaviour gap against the rest, ranked: the "
        "two figures, Cliff's delta over the deals with its 95 % interval, and the reps and "
        "deals behind it. Gaps on too little data say so (`enough_data` false).",
    )
    def list(self, request: Request) -> Response:
        data = _query(request, BehavioursQuery)
        scope = scope_from_query(request.user, request.query_params)
        study = selectors.study_for(request.user, scope, rank_by=data["rank_by"])
        return Response(BehavioursOutput(_study_payload(study)).data)


class SuggestionQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=SuggestionStatus.values, required=False)


@extend_schema(tags=["insights"])
class SuggestionViewSet(_InsightsViewSet):
    @extend_schema(
        parameters=[SuggestionQuery],
        responses={200: SuggestionOutput(many=True), **errors(400, 403)},
    )
    def list(self, request: Request) -> Response:
        data = _query(request, SuggestionQuery)
        rows = selectors.suggestion_list_for(request.user, status=data.get("status"))
        return Response(SuggestionOutput(rows, many=True).data)

    @extend_schema(responses={200: SuggestionOutput, **errors(403, 404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        found = selectors.suggestion_get_for(request.user, int_or_404(pk))
        return with_etag(Response(SuggestionOutput(found).data), found.version)

    @extend_schema(
        request=None,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY],
        responses={200: SuggestionOutput, **errors(403, 404, 409, 412)},
        description="Make the suggested change to the stage's exit rules (through the "
        "pipeline's milestone services: a new rules version, logged as an experiment).",
    )
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        found = selectors.suggestion_get_for(request.user, int_or_404(pk))
        done = services.suggestion_accept(
            suggestion_id=found.pk, actor=request.user, expected_version=expected_version(request)
        )
        return with_etag(Response(SuggestionOutput(done).data), done.version)

    @extend_schema(
        request=DismissInput,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY],
        responses={200: SuggestionOutput, **errors(400, 403, 404, 409, 412)},
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str) -> Response:
        found = selectors.suggestion_get_for(request.user, int_or_404(pk))
        data = DismissInput(data=request.data)
        data.is_valid(raise_exception=True)
        done = services.suggestion_dismiss(
            suggestion_id=found.pk,
            actor=request.user,
            reason=data.validated_data["reason"],
            expected_version=expected_version(request),
        )
        return with_etag(Response(SuggestionOutput(done).data), done.version)


@extend_schema(tags=["insights"])
class ExperimentViewSet(_InsightsViewSet):
    @extend_schema(
        responses={200: ExperimentOutput(many=True), **errors(403)},
        description="Every change of a stage's exit rules, newest first: deals that entered "
        "the stage before against after, on conversion, win rate and cycle, with 95 % "
        "intervals, counts and a verdict (better, worse, noise, too_few).",
    )
    def list(self, request: Request) -> Response:
        scope = scope_from_query(request.user, {})
        return Response(
            ExperimentOutput(selectors.experiment_list_for(request.user, scope), many=True).data
        )

    @extend_schema(responses={200: ExperimentOutput, **errors(403, 404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        scope = scope_from_query(request.user, {})
        found = selectors.experiment_get_for(request.user, scope, int_or_404(pk))
        return Response(ExperimentOutput(found).data)
