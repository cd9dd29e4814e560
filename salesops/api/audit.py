"""/api/v1/audit-events/: the audit trail for administrators, read-only — the filters of the
/audit/ page (salesops/audit.py), newest first, a page at a time."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from salesops import selectors
from salesops.api.schema import errors
from salesops.api.viewsets import ApiViewSet
from salesops.audit import AuditEventFilter, target_link
from salesops.models import ApiKey, AuditEvent, User


class AuditActorOutput(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username"]
        read_only_fields = fields


class AuditApiKeyOutput(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix"]
        read_only_fields = fields


class AuditEventOutput(serializers.ModelSerializer):
    actor = AuditActorOutput(allow_null=True, help_text="Who acted; null: the system.")
    api_key = AuditApiKeyOutput(allow_null=True, help_text="The key of an api_key event.")
    target_url = serializers.SerializerMethodField(
        help_text="The target's page, when it has one; else empty."
    )

    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "actor", "action", "target_type", "target_id", "target_url",
            "channel", "api_key", "request_id", "origin", "data",
        ]  # fmt: skip
        read_only_fields = fields

    def get_target_url(self, event: AuditEvent) -> str:
        return target_link(event.target_type, event.target_id)


@extend_schema(tags=["audit"])
class AuditEventViewSet(ApiViewSet):
    queryset = AuditEvent.objects.none()  # the model for the schema; reads use selectors
    filterset_class = AuditEventFilter

    @extend_schema(
        responses={200: AuditEventOutput(many=True), **errors(403, 404)},
        description="Who did what, when and by which path (`channel`: page, api, api_key, "
        "import, task, command, system), newest first. Administrators only; read-only.",
    )
    def list(self, request: Request) -> Response:
        events: Any = self.filter_queryset(selectors.audit_event_list_for(request.user))
        return self.paginated(events, AuditEventOutput)
