"""Quotas per rep and per team and fiscal period.

GET/POST /api/v1/quotas/, GET/PATCH/DELETE /api/v1/quotas/{id}/."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from forecasting import selectors as forecasting_selectors
from forecasting import services as forecasting_services
from forecasting.api.common import QUOTA_MAX_ID
from forecasting.models import Quota
from salesops import access
from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, IdFilter, int_or_404, valid


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
        return quota.team.name if quota.team is not None else None


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
