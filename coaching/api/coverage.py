"""Coaching coverage and coaching flags: serializers and views.

GET /api/v1/coaching/coverage/ (managers and leaders) and GET /api/v1/coaching-flags/
(everyone: their own open flags; a manager also their teams' people's, a leader all)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from coaching import selectors
from coaching.api.common import MAX_ID
from coaching.models import CoachingFlag, flag_kind_choices
from salesops.api.schema import errors, one_object
from salesops.api.viewsets import ApiViewSet


class CoverageQuery(serializers.Serializer):
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="A team you may see: its managers and reps, sub-teams included.",
    )
    days = serializers.IntegerField(
        required=False,
        min_value=selectors.COVERAGE_MIN_DAYS,
        max_value=selectors.COVERAGE_MAX_DAYS,
        default=selectors.COVERAGE_DEFAULT_DAYS,
        help_text="The window in days (7–365, default 30).",
    )


class CoverageRowOutput(serializers.Serializer):
    manager = serializers.IntegerField(
        source="manager_id", allow_null=True, help_text="Null on the totals row."
    )
    manager_name = serializers.CharField()
    reps = serializers.IntegerField()
    coached = serializers.IntegerField(help_text="Reps whose 1:1 is not overdue today.")
    coached_share = serializers.FloatField(allow_null=True, help_text="0–1; null: no reps.")
    one_on_ones = serializers.IntegerField(help_text="1:1s held in the window.")
    reviews = serializers.IntegerField(help_text="Opportunity reviews completed in the window.")
    items_due = serializers.IntegerField(
        help_text="Action items of the manager's reviews and 1:1s due in the window."
    )
    items_on_time = serializers.IntegerField(help_text="… done on or before their due date.")
    on_time_share = serializers.FloatField(allow_null=True, help_text="0–1; null: none due.")

    def to_representation(self, row: Any) -> dict[str, Any]:
        data = super().to_representation(row)
        for name in ("coached_share", "on_time_share"):
            if data[name] is not None:
                data[name] = round(data[name], 4)
        return data


@one_object
class CoverageOutput(serializers.Serializer):
    days = serializers.IntegerField()
    team = serializers.SerializerMethodField()
    since = serializers.DateField(help_text="1:1s and reviews count from this day to today.")
    items_from = serializers.DateField(
        help_text="Action items due from this day to yesterday count."
    )
    today = serializers.DateField()
    rows = CoverageRowOutput(many=True)
    totals = CoverageRowOutput()

    # null when no `team` was asked for: the coverage of everyone in scope, not of one team.
    @extend_schema_field({"type": "integer", "nullable": True})
    def get_team(self, coverage: selectors.Coverage) -> int | None:
        return coverage.team.pk if coverage.team else None


class CoachingFlagOutput(serializers.ModelSerializer):
    recipient = serializers.IntegerField(source="recipient_id")
    recipient_name = serializers.CharField(source="recipient.__str__")
    rep = serializers.IntegerField(source="rep_id", allow_null=True)
    rep_name = serializers.SerializerMethodField()
    action_item = serializers.IntegerField(source="action_item_id", allow_null=True)
    action_item_title = serializers.SerializerMethodField()

    class Meta:
        model = CoachingFlag
        fields = [
            "id", "kind", "recipient", "recipient_name", "rep", "rep_name", "action_item",
            "action_item_title", "explanation", "link", "raised_at",
        ]  # fmt: skip

    @extend_schema_field({"type": "string", "nullable": True})
    def get_rep_name(self, flag: CoachingFlag) -> str | None:
        return str(flag.rep) if flag.rep_id else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_action_item_title(self, flag: CoachingFlag) -> str | None:
        return flag.action_item.title if flag.action_item_id else None  # type: ignore[union-attr]  # set when action_item_id is


class CoachingFlagFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=flag_kind_choices)

    class Meta:
        model = CoachingFlag
        fields: list[str] = []


@extend_schema(tags=["coaching"])
class CoachingCoverageViewSet(ApiViewSet):
    """Coaching coverage per manager: managers and leaders."""

    queryset = CoachingFlag.objects.none()  # for the schema; reads use selectors
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        parameters=[CoverageQuery],
        responses={200: CoverageOutput, **errors(400, 403, 404)},
        description="One row per manager in your scope (a leader: every manager, of "
        "`team`'s subtree when given; a manager: themselves and their sub-teams' "
        "managers) and the totals: reps, reps coached within cadence today, 1:1s held and "
        "reviews completed in the last `days` days, and action items of their reviews "
        "and 1:1s due in the `days` days before today and done on time. A rep gets 403; "
        "a team outside your scope 404; `days` outside 7–365 400.",
    )
    def list(self, request: Request) -> Response:
        query = CoverageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        coverage = selectors.coverage_for(
            request.user, query.validated_data.get("team"), query.validated_data["days"]
        )
        return Response(CoverageOutput(coverage).data)


@extend_schema(tags=["coaching"])
class CoachingFlagViewSet(ApiViewSet):
    """Open coaching flags (overdue 1:1s and action items) you may see: your own; a
    manager's also those of their teams' people; a leader's all. Newest first."""

    queryset = CoachingFlag.objects.none()
    filterset_class = CoachingFlagFilter

    def get_queryset(self) -> QuerySet[CoachingFlag]:
        return selectors.coaching_flags_for(self.request.user)

    @extend_schema(responses={200: CoachingFlagOutput(many=True), **errors(400, 404)})
    def list(self, request: Request) -> Response:
        return self.paginated(self.filter_queryset(self.get_queryset()), CoachingFlagOutput)
