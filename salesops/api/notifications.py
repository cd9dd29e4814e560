"""/api/v1/notifications/: a user's own notifications, read and marked read — the same
services as the notifications page."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.viewsets import ApiViewSet, int_or_404
from salesops.models import Notification
from salesops.selectors import notification_list_for
from salesops.services import notification_mark_read, notifications_mark_all_read


class NotificationOutput(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "title", "body", "link", "created_at", "read_at"]


class MarkedOutput(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are read now.")


class NotificationViewSet(ApiViewSet):
    """Your own notifications, newest first; nobody reads anyone else's."""

    queryset = Notification.objects.none()
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter("unread", OpenApiTypes.BOOL, description="Only the unread ones.")
        ],
        responses={200: NotificationOutput(many=True), **errors(404)},
    )
    def list(self, request: Request) -> Response:
        unread = request.query_params.get("unread", "")
        if unread not in ("", "true", "false"):
            raise serializers.ValidationError({"unread": ["Use true or false."]})
        notifications = notification_list_for(request.user)
        if unread == "true":
            notifications = notifications.filter(read_at__isnull=True)
        return self.paginated(notifications, NotificationOutput)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: NotificationOutput, **errors(403, 404)},
        description="Mark one of your notifications read (twice changes nothing).",
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str) -> Response:
        notification = notification_mark_read(notification_id=int_or_404(pk), actor=request.user)
        return Response(NotificationOutput(notification).data)

    @extend_schema(
        request=None,
        parameters=[IDEMPOTENCY_KEY],
        responses={200: MarkedOutput, **errors(403)},
        description="Mark all your unread notifications read.",
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        return Response({"marked": notifications_mark_all_read(actor=request.user)})
