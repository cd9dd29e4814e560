"""Action items of opportunity reviews and 1:1s: /api/v1/action-items/ (serializer,
filter and views). The review API shows them with the same serializer."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from coaching import selectors, services
from coaching.api.common import ID
from coaching.models import ActionItem
from salesops import organisation
from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.viewsets import ApiViewSet, IdFilter, int_or_404


class ActionItemOutput(serializers.ModelSerializer):
    review = serializers.IntegerField(source="review_id", allow_null=True)
    session = serializers.IntegerField(source="session_id", allow_null=True)
    owner = serializers.IntegerField(source="owner_id")
    owner_name = serializers.CharField(source="owner.__str__")
    done = serializers.BooleanField(source="is_done")
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id", "review", "session", "title", "owner", "owner_name", "due_on", "done",
            "done_at", "overdue", "created_at",
        ]  # fmt: skip

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_overdue(self, item: ActionItem) -> bool:
        return item.done_at is None and item.due_on < organisation.current().today()


BOOL_CHOICES = [("true", "true"), ("false", "false")]


def _true(value: str) -> bool:
    return value == "true"


class ActionItemFilter(django_filters.FilterSet):
    owner = IdFilter(field_name="owner_id")
    # "true"/"false" only: a NullBooleanField would read "perhaps" as no filter at all.
    done = django_filters.TypedChoiceFilter(
        choices=BOOL_CHOICES, coerce=_true, method="filter_done", help_text="true: done only."
    )
    overdue = django_filters.TypedChoiceFilter(
        choices=BOOL_CHOICES,
        coerce=_true,
        method="filter_overdue",
        help_text="true: open and past their due date.",
    )

    class Meta:
        model = ActionItem
        fields: list[str] = []

    def filter_done(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(done_at__isnull=not value)

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        overdue = Q(done_at__isnull=True, due_on__lt=organisation.current().today())
        return queryset.filter(overdue if value else ~overdue)


@extend_schema(tags=["coaching"])
class ActionItemViewSet(ApiViewSet):
    """Action items of the reviews and 1:1s the user may see, and their own; soonest due
    first. Their owner, the manager who set them, or a leader ticks them off."""

    queryset = ActionItem.objects.none()
    filterset_class = ActionItemFilter

    def get_queryset(self) -> QuerySet[ActionItem]:
        return selectors.action_items_for(self.request.user)

    @extend_schema(responses={200: ActionItemOutput(many=True), **errors(400, 404)})
    def list(self, request: Request) -> Response:
        return self.paginated(self.filter_queryset(self.get_queryset()), ActionItemOutput)

    @extend_schema(parameters=[ID], responses={200: ActionItemOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        item = selectors.action_item_get_for(request.user, int_or_404(pk))
        return Response(ActionItemOutput(item).data)

    def _set_done(self, request: Request, pk: str, done: bool) -> Response:
        item = selectors.action_item_get_for(request.user, int_or_404(pk))
        services.action_item_set_done(actor=request.user, item_id=item.pk, done=done)
        fresh = selectors.action_item_get_for(request.user, item.pk)
        return Response(ActionItemOutput(fresh).data)

    @extend_schema(
        operation_id="action_items_complete",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=None,
        responses={200: ActionItemOutput, **errors(403, 404)},
        description="Mark it done (again: no change). Its owner, the manager of its review "
        "or 1:1, or a leader; others who see it: 403.",
    )
    @action(detail=True, methods=["post"], url_path="complete")
    def complete(self, request: Request, pk: str) -> Response:
        return self._set_done(request, pk, True)

    @extend_schema(
        operation_id="action_items_reopen",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=None,
        responses={200: ActionItemOutput, **errors(403, 404)},
        description="Open it again. The same people as complete.",
    )
    @action(detail=True, methods=["post"], url_path="reopen")
    def reopen(self, request: Request, pk: str) -> Response:
        return self._set_done(request, pk, False)
