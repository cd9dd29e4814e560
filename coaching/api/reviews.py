"""Opportunity reviews: serializers and views.

/api/v1/opportunity-reviews/ (the action items a review sets are also at
/api/v1/action-items/, see `action_items`). A review holds no forecast numbers: its
representation has none either."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from coaching import selectors, services
from coaching.api.action_items import ActionItemOutput
from coaching.api.common import ID, MAX_ID, text_field
from coaching.models import (
    CoachingPoint,
    OpportunityReview,
    ReviewAgendaItem,
    ReviewFinding,
    ReviewStatus,
)
from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, IdFilter, int_or_404, valid


class ReviewAgendaItemOutput(serializers.ModelSerializer):
    added_by = serializers.IntegerField(source="added_by_id", allow_null=True)

    class Meta:
        model = ReviewAgendaItem
        fields = ["id", "source", "title", "detail", "order", "discussed", "added_by"]


class ReviewFindingOutput(serializers.ModelSerializer):
    created_by = serializers.IntegerField(source="created_by_id")

    class Meta:
        model = ReviewFinding
        fields = ["id", "text", "created_by", "created_at"]


class CoachingPointOutput(serializers.ModelSerializer):
    skill = serializers.IntegerField(source="skill_id")
    skill_name = serializers.CharField(source="skill.name")
    created_by = serializers.IntegerField(source="created_by_id")

    class Meta:
        model = CoachingPoint
        fields = ["id", "skill", "skill_name", "text", "created_by", "created_at"]


class OpportunityReviewListOutput(serializers.ModelSerializer):
    opportunity = serializers.IntegerField(source="opportunity_id")
    opportunity_name = serializers.CharField(source="opportunity.name")
    rep = serializers.IntegerField(source="rep_id")
    rep_name = serializers.CharField(source="rep.__str__")
    manager = serializers.IntegerField(source="manager_id")
    manager_name = serializers.CharField(source="manager.__str__")
    open_items = serializers.IntegerField(help_text="Action items not done yet.")

    class Meta:
        model = OpportunityReview
        fields = [
            "id", "opportunity", "opportunity_name", "rep", "rep_name", "manager",
            "manager_name", "status", "started_at", "completed_at", "open_items",
        ]  # fmt: skip


class OpportunityReviewOutput(OpportunityReviewListOutput):
    agenda = ReviewAgendaItemOutput(source="agenda_items", many=True, read_only=True)
    findings = ReviewFindingOutput(many=True, read_only=True)
    coaching_points = CoachingPointOutput(many=True, read_only=True)
    action_items = ActionItemOutput(many=True, read_only=True)

    class Meta(OpportunityReviewListOutput.Meta):
        fields = [
            *OpportunityReviewListOutput.Meta.fields, "agenda", "findings", "coaching_points",
            "action_items",
        ]  # fmt: skip


class ReviewCreateInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "rep": "The deal's owner is the rep.",
        "manager": "You hold the review.",
        "status": "Use POST …/{id}/complete/.",
        "agenda": "It is generated from the deal's gaps; add points with POST …/{id}/agenda/.",
    }
    opportunity = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class AgendaItemInput(StrictInputSerializer):
    read_only_hints = {"source": "Points you add are the manager's.", "order": "Added last."}
    title = serializers.CharField(trim_whitespace=False, allow_blank=True, help_text="≤ 300.")
    detail = text_field()


class FindingInput(StrictInputSerializer):
    text = serializers.CharField(trim_whitespace=False, allow_blank=True)


class CoachingPointInput(StrictInputSerializer):
    skill = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    text = serializers.CharField(trim_whitespace=False, allow_blank=True)


class ReviewActionItemInput(StrictInputSerializer):
    read_only_hints = {"done": "Use POST /action-items/{id}/complete/."}
    title = serializers.CharField(trim_whitespace=False, allow_blank=True, help_text="≤ 300.")
    due_on = serializers.DateField(help_text="Today or later, within a year.")
    owner = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID,
        help_text="The rep (default) or the manager of the review.",
    )  # fmt: skip


class ReviewCompleteInput(StrictInputSerializer):
    confirm = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: complete even with agenda points not ticked as discussed.",
    )


class ReviewFilter(django_filters.FilterSet):
    rep = IdFilter(field_name="rep_id")
    manager = IdFilter(field_name="manager_id")
    opportunity = IdFilter(field_name="opportunity_id")
    status = django_filters.ChoiceFilter(choices=ReviewStatus.choices)

    class Meta:
        model = OpportunityReview
        fields: list[str] = []


def _review_response(request: Request, review_id: int, *, status_code: int = 200) -> Response:
    review = selectors.review_get_for(request.user, review_id)
    return Response(OpportunityReviewOutput(review).data, status=status_code)


class AgendaDiscussedInput(serializers.Serializer):
    discussed = serializers.BooleanField()


@extend_schema(tags=["coaching"])
class OpportunityReviewViewSet(ApiViewSet):
    """Coaching reviews of one deal the user may see: a rep those of their deals, a manager
    their teams' (and those they held), a leader everyone's. Latest first. Only the manager
    holding a review (or a leader) changes it, while it is in progress."""

    queryset = OpportunityReview.objects.none()
    filterset_class = ReviewFilter
    input_serializers = {
        "create": ReviewCreateInput,
        "agenda": AgendaItemInput,
        "agenda_discussed": AgendaDiscussedInput,
        "findings": FindingInput,
        "coaching_points": CoachingPointInput,
        "action_items": ReviewActionItemInput,
        "complete": ReviewCompleteInput,
    }

    def get_queryset(self) -> QuerySet[OpportunityReview]:
        return selectors.reviews_for(self.request.user)

    @extend_schema(responses={200: OpportunityReviewListOutput(many=True), **errors(400, 404)})
    def list(self, request: Request) -> Response:
        return self.paginated(
            self.filter_queryset(self.get_queryset()), OpportunityReviewListOutput
        )

    @extend_schema(parameters=[ID], responses={200: OpportunityReviewOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return _review_response(request, int_or_404(pk))

    @extend_schema(
        request=ReviewCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: OpportunityReviewOutput, **errors(400, 403, 404, 409)},
        description="Start a review of an open deal with its owner; the agenda is generated "
        "from the deal's gaps. A rep gets 403, as does a manager for their own deal; a deal "
        "outside your teams 404; a closed deal 409 (opportunity_closed); a deal with a "
        "review in progress 409 (review_in_progress, details.review is its id).",
    )
    def create(self, request: Request) -> Response:
        data = valid(ReviewCreateInput, request)
        review = services.review_start(actor=request.user, opportunity_id=data["opportunity"])
        return _review_response(request, review.pk, status_code=201)

    @extend_schema(
        methods=["GET"],
        operation_id="opportunity_reviews_agenda_list",
        parameters=[ID],
        request=None,
        responses={200: ReviewAgendaItemOutput(many=True), **errors(404)},
        description="The review's agenda, in order.",
    )
    @extend_schema(
        methods=["POST"],
        operation_id="opportunity_reviews_agenda_create",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=AgendaItemInput,
        responses={201: ReviewAgendaItemOutput, **errors(400, 403, 404, 409)},
        description="Add a point of your own after the generated ones (title ≤ 300, "
        "detail ≤ 5,000). A completed review: 409 review_completed.",
    )
    # The whole agenda in one plain list (a review has a handful of points): no pagination,
    # and none of the review list's filters apply to it.
    @action(
        detail=True, methods=["get", "post"], url_path="agenda",
        pagination_class=None, filter_backends=[],
    )  # fmt: skip
    def agenda(self, request: Request, pk: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        if request.method == "GET":
            return Response(ReviewAgendaItemOutput(review.agenda_items.all(), many=True).data)
        data = valid(AgendaItemInput, request)
        item = services.agenda_item_add(
            actor=request.user, review_id=review.pk, title=data["title"],
            detail=data.get("detail", ""),
        )  # fmt: skip
        return Response(ReviewAgendaItemOutput(item).data, status=201)

    @extend_schema(
        operation_id="opportunity_reviews_agenda_discussed",
        parameters=[
            ID,
            OpenApiParameter("item_id", OpenApiTypes.INT, OpenApiParameter.PATH),
            IDEMPOTENCY_KEY,
        ],
        request=AgendaDiscussedInput,
        responses={200: ReviewAgendaItemOutput, **errors(400, 403, 404, 409)},
        description="Tick an agenda point as discussed (or not), as the review page does; "
        "twice changes nothing. A point of another review: 404.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"agenda/(?P<item_id>[^/.]+)/discussed",
        url_name="agenda-discussed",
    )
    def agenda_discussed(self, request: Request, pk: str, item_id: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        data = valid(AgendaDiscussedInput, request)
        item = review.agenda_items.filter(pk=int_or_404(item_id)).first()
        if item is None:
            raise Http404("No such agenda point in this review.")
        item = services.agenda_item_set_discussed(
            actor=request.user, item_id=item.pk, discussed=data["discussed"]
        )
        return Response(ReviewAgendaItemOutput(item).data)

    @extend_schema(
        operation_id="opportunity_reviews_findings_create",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=FindingInput,
        responses={201: ReviewFindingOutput, **errors(400, 403, 404, 409)},
        description="Record a finding about the deal.",
    )
    @action(detail=True, methods=["post"], url_path="findings")
    def findings(self, request: Request, pk: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        data = valid(FindingInput, request)
        finding = services.review_finding_add(
            actor=request.user, review_id=review.pk, text=data["text"]
        )
        return Response(ReviewFindingOutput(finding).data, status=201)

    @extend_schema(
        operation_id="opportunity_reviews_coaching_points_create",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=CoachingPointInput,
        responses={201: CoachingPointOutput, **errors(400, 403, 404, 409)},
        description="Record a coaching point tied to an active skill of the framework "
        "(otherwise 400 with details.skill).",
    )
    @action(detail=True, methods=["post"], url_path="coaching-points")
    def coaching_points(self, request: Request, pk: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        data = valid(CoachingPointInput, request)
        point = services.review_coaching_point_add(
            actor=request.user, review_id=review.pk, skill_id=data["skill"], text=data["text"]
        )
        return Response(CoachingPointOutput(point).data, status=201)

    @extend_schema(
        operation_id="opportunity_reviews_action_items_create",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=ReviewActionItemInput,
        responses={201: ActionItemOutput, **errors(400, 403, 404, 409)},
        description="Give the rep (default) or the manager an action item. A due date in "
        "the past or over a year ahead: 400 details.due_on.",
    )
    @action(detail=True, methods=["post"], url_path="action-items")
    def action_items(self, request: Request, pk: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        data = valid(ReviewActionItemInput, request)
        item = services.review_action_item_add(
            actor=request.user,
            review_id=review.pk,
            title=data["title"],
            due_on=data["due_on"],
            owner_id=data.get("owner"),
        )
        return Response(ActionItemOutput(item).data, status=201)

    @extend_schema(
        operation_id="opportunity_reviews_complete",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=ReviewCompleteInput,
        responses={200: OpportunityReviewOutput, **errors(400, 403, 404, 409)},
        description="Complete the review: it is frozen from now on and the rep is sent the "
        "action items. Agenda points not ticked as discussed: 409 undiscussed_points "
        "(details.undiscussed lists them, {id, title}) unless the body says "
        '{"confirm": true}. Already completed: 409 review_completed.',
    )
    @action(detail=True, methods=["post"], url_path="complete")
    def complete(self, request: Request, pk: str) -> Response:
        review = selectors.review_get_for(request.user, int_or_404(pk))
        data = valid(ReviewCompleteInput, request)
        services.review_complete(actor=request.user, review_id=review.pk, confirm=data["confirm"])
        return _review_response(request, review.pk)
