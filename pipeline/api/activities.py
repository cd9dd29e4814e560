"""Activities: calls, meetings, emails and notes logged on a deal (logged through
/api/v1/opportunities/{id}/activities/; /api/v1/activities/ lists them all)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors
from pipeline.api.common import UserRefOutput
from pipeline.models import Activity, ActivityKind
from salesops.api.schema import errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet


class ActivityOutput(serializers.ModelSerializer):
    opportunity = serializers.IntegerField(source="opportunity_id")
    logged_by = UserRefOutput()

    class Meta:
        model = Activity
        fields = [
            "id", "opportunity", "kind", "subject", "body", "occurred_at", "logged_by",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ActivityInput(StrictInputSerializer):
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    subject = serializers.CharField(allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)


@extend_schema(tags=["activities"])
class ActivityViewSet(ApiViewSet):
    queryset = Activity.objects.none()  # the model for the schema; reads use selectors
    filter_backends: list[Any] = []

    @extend_schema(
        responses={200: ActivityOutput(many=True), **errors(404)},
        description="Activities on the opportunities you may see, newest first.",
    )
    def list(self, request: Request) -> Response:
        return self.paginated(selectors.activity_list_for(request.user), ActivityOutput)
