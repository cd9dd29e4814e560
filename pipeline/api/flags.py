"""Attention flags (/api/v1/flags/): raised and cleared by the hourly refresh;
read-only."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors
from pipeline.api.common import RefOutput
from pipeline.models import FlagKind, FlagSeverity, OpportunityFlag
from salesops.api.schema import errors
from salesops.api.viewsets import ApiViewSet, IdFilter


class FlagOwnerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class FlagOutput(serializers.ModelSerializer):
    opportunity = RefOutput()
    owner = FlagOwnerOutput(source="opportunity.owner", help_text="The opportunity's owner.")

    class Meta:
        model = OpportunityFlag
        fields = [
            "id", "opportunity", "owner", "kind", "severity", "explanation", "raised_at",
            "cleared_at",
        ]  # fmt: skip
        read_only_fields = fields


class FlagFilter(django_filters.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id")
    kind = django_filters.ChoiceFilter(choices=FlagKind.choices)
    owner = IdFilter(field_name="opportunity__owner_id", help_text="Owner of the opportunity.")
    open = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_open",
        help_text="`true`: open flags only; `false`: cleared ones only.",
    )  # fmt: skip
    severity = django_filters.ChoiceFilter(choices=FlagSeverity.choices)

    class Meta:
        model = OpportunityFlag
        fields: list[str] = []

    def filter_open(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(cleared_at__isnull=value == "true")


# --- attention flags ------------------------------------------------------------------


@extend_schema(tags=["flags"])
class FlagViewSet(ApiViewSet):
    queryset = OpportunityFlag.objects.none()  # the model for the schema; reads use selectors
    filterset_class = FlagFilter

    @extend_schema(
        responses={200: FlagOutput(many=True), **errors(404)},
        description="Attention flags (open and cleared) on the opportunities you may see, "
        "newest first. Raised and cleared by the hourly refresh; read-only.",
    )
    def list(self, request: Request) -> Response:
        flags = self.filter_queryset(selectors.opportunity_flag_list_for(request.user))
        return self.paginated(flags, FlagOutput)
