"""/api/v1/proposals/: serializers and views. Thin: validate, call one service or
selector, serialize. Every response with one proposal carries its `ETag` (the revision);
`If-Match` on PATCH refuses lost updates (412)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors as pipeline_selectors
from proposals import selectors, services
from proposals.models import Proposal, ProposalStatus
from salesops.api.etag import expected_version, with_etag
from salesops.api.schema import IDEMPOTENCY_KEY, IF_MATCH, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, IdFilter, int_or_404, valid

PROPOSAL_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)

# --- output -------------------------------------------------------------------------


class SectionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.IntegerField()
    heading = serializers.CharField()
    body = serializers.CharField()


class ReviewOutput(serializers.Serializer):
    id = serializers.IntegerField()
    reviewer = serializers.CharField(source="reviewer.get_full_name")
    decision = serializers.CharField()
    comment = serializers.CharField()
    checklist = serializers.JSONField()
    decided_at = serializers.DateTimeField()


class CommentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    section = serializers.IntegerField(source="section_id", allow_null=True)
    author = serializers.CharField(source="author.get_full_name")
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class ProposalListOutput(serializers.ModelSerializer):
    opportunity = serializers.IntegerField(source="opportunity_id")
    opportunity_name = serializers.CharField(source="opportunity.name")
    account = serializers.CharField(source="opportunity.account.name")
    owner = serializers.IntegerField(source="opportunity.owner_id")
    total_value = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = Proposal
        fields = [
            "id", "opportunity", "opportunity_name", "account", "owner", "number", "title",
            "status", "total_value", "currency", "valid_until", "submitted_at", "approved_at",
            "sent_at", "revision", "updated_at",
        ]  # fmt: skip


class ProposalOutput(ProposalListOutput):
    sections = SectionOutput(many=True)
    reviews = ReviewOutput(many=True)
    comments = CommentOutput(many=True)

    class Meta(ProposalListOutput.Meta):
        fields = [*ProposalListOutput.Meta.fields, "executive_summary", "sections", "reviews",
                  "comments"]  # fmt: skip


class CheckOutput(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()


class CheckSummaryOutput(serializers.Serializer):
    passed = serializers.BooleanField()
    checks = CheckOutput(many=True)


# --- input --------------------------------------------------------------------------


class SectionInput(StrictInputSerializer):
    heading = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=False)
    body = serializers.CharField(allow_blank=True, required=False, trim_whitespace=False)


class ProposalWriteFields(StrictInputSerializer):
    read_only_hints = {
        "status": "Use /submit/, /approve/, /request-changes/ or /mark-sent/.",
        "number": "Versions are numbered by the system; use /new-version/.",
        "revision": "Send it in If-Match instead.",
    }
    title = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    executive_summary = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False
    )
    total_value = serializers.CharField(required=False, allow_blank=True)
    currency = serializers.CharField(required=False, allow_blank=True)
    valid_until = serializers.CharField(required=False, allow_blank=True)
    sections = SectionInput(many=True, required=False)


class ProposalCreateInput(ProposalWriteFields):
    opportunity = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    # Required to create (proposal_create refuses without); blank reaches the service.
    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    valid_until = serializers.CharField(allow_blank=True)


class ReviewInput(StrictInputSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    checklist = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
        required=False,
        help_text="Ids of the reviewer checklist items confirmed (all, to approve).",
    )


class RequestChangesInput(ReviewInput):
    comment = serializers.CharField(
        allow_blank=True, trim_whitespace=False, help_text="What to change (required)."
    )


class CheckSummaryInput(StrictInputSerializer):
    opportunity = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    executive_summary = serializers.CharField(allow_blank=True, trim_whitespace=False)


class CommentInput(StrictInputSerializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
    section = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**63 - 1
    )


# --- filters ------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class StatusFilter(django_filters.ChoiceFilter):
    pass


class ProposalFilter(django_filters.FilterSet):
    status = StatusFilter(choices=ProposalStatus.choices)
    opportunity = IdFilter(field_name="opportunity_id")
    owner = IdFilter(field_name="opportunity__owner_id")

    class Meta:
        model = Proposal
        fields: list[str] = []


# --- views --------------------------------------------------------------------------


def _response(request: Request, proposal: Proposal, *, status_code: int = 200) -> Response:
    fresh = selectors.proposal_get_for(request.user, proposal.pk)
    data = ProposalOutput(fresh, context={"request": request}).data
    return with_etag(Response(data, status=status_code), fresh.revision)


def _sections(data: dict[str, Any]) -> dict[str, Any]:
    if "sections" in data:
        data["sections"] = [dict(s) for s in data["sections"]]
    return data


@extend_schema(tags=["proposals"])
class ProposalViewSet(ApiViewSet):
    """Proposals of the deals the user may see. Drafts (and proposals sent back with
    requested changes) are editable by the deal's owner; the workflow is actions."""

    queryset = Proposal.objects.none()
    filterset_class = ProposalFilter
    input_serializers = {
        "create": ProposalCreateInput,
        "partial_update": ProposalWriteFields,
        "approve": ReviewInput,
        "request_changes": RequestChangesInput,
        "check_summary": CheckSummaryInput,
        "comments": CommentInput,
    }

    def get_queryset(self) -> QuerySet[Proposal]:
        return selectors.proposal_list_for(self.request.user)

    def _get(self, pk: Any) -> Proposal:
        return selectors.proposal_get_for(self.request.user, int_or_404(pk))

    @extend_schema(responses={200: ProposalListOutput(many=True), **errors(400, 403, 404)})
    def list(self, request: Request) -> Response:
        return self.paginated(self.filter_queryset(self.get_queryset()), ProposalListOutput)

    @extend_schema(
        request=ProposalCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ProposalOutput, **errors(400, 403, 404, 409, 413, 422)},
        description="Start the next version of a deal's proposal as a draft (the deal's "
        "owner only). The executive summary need not pass its checks until /submit/.",
    )
    def create(self, request: Request) -> Response:
        data = _sections(valid(ProposalCreateInput, request))
        proposal = services.proposal_create(
            actor=request.user, opportunity_id=data.pop("opportunity"), **data
        )
        return _response(request, proposal, status_code=201)

    @extend_schema(parameters=[PROPOSAL_ID], responses={200: ProposalOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        proposal = self._get(pk)
        data = ProposalOutput(proposal, context=self.ctx()).data
        return with_etag(Response(data), proposal.revision)

    @extend_schema(
        parameters=[PROPOSAL_ID, IF_MATCH],
        request=ProposalWriteFields,
        responses={200: ProposalOutput, **errors(400, 403, 404, 409, 412)},
        description="Change a draft. `sections`, when given, replaces all sections. A "
        "proposal in review, approved or sent is refused (409).",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        proposal = self._get(pk)
        data = _sections(valid(ProposalWriteFields, request))
        proposal = services.proposal_update(
            actor=request.user,
            proposal_id=proposal.pk,
            expected_revision=expected_version(request),
            **data,
        )
        return _response(request, proposal)

    @extend_schema(
        parameters=[PROPOSAL_ID],
        responses={204: None, **errors(403, 404, 409)},
        description="Delete a draft that was never submitted.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        proposal = self._get(pk)
        services.proposal_delete(actor=request.user, proposal_id=proposal.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _transition(self, request: Request, pk: str, service: Any, **kwargs: Any) -> Response:
        proposal = self._get(pk)
        proposal = service(actor=request.user, proposal_id=proposal.pk, **kwargs)
        return _response(request, proposal)

    def _review(
        self, request: Request, pk: str, service: Any, serializer: type[ReviewInput] = ReviewInput
    ) -> Response:
        data = valid(serializer, request)
        return self._transition(
            request, pk, service,
            comment=data.get("comment", ""), checked_items=data.get("checklist", []),
        )  # fmt: skip

    @extend_schema(
        operation_id="proposals_submit",
        parameters=[PROPOSAL_ID, IDEMPOTENCY_KEY],
        request=None,
        responses={200: ProposalOutput, **errors(403, 404, 409, 422)},
        description="Send to the owner's manager for review. 422 `summary_checks_failed` "
        "when the executive summary fails a check (`details.checks`, `details.failed`).",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        return self._transition(request, pk, services.proposal_submit)

    @extend_schema(
        operation_id="proposals_approve",
        parameters=[PROPOSAL_ID, IDEMPOTENCY_KEY],
        request=ReviewInput,
        responses={200: ProposalOutput, **errors(400, 403, 404, 409)},
        description="A manager of the deal's owner (or a leader) approves; every reviewer "
        "checklist item must be confirmed. Never the owner.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._review(request, pk, services.proposal_approve)

    @extend_schema(
        operation_id="proposals_request_changes",
        parameters=[PROPOSAL_ID, IDEMPOTENCY_KEY],
        request=RequestChangesInput,
        responses={200: ProposalOutput, **errors(400, 403, 404, 409)},
        description="Send back to the owner with a (required) comment.",
    )
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request: Request, pk: str) -> Response:
        return self._review(
            request, pk, services.proposal_request_changes, serializer=RequestChangesInput
        )

    @extend_schema(
        operation_id="proposals_mark_sent",
        parameters=[PROPOSAL_ID, IDEMPOTENCY_KEY],
        request=None,
        responses={200: ProposalOutput, **errors(403, 404, 409)},
        description="Record that the approved proposal went to the customer; it is frozen.",
    )
    @action(detail=True, methods=["post"], url_path="mark-sent")
    def mark_sent(self, request: Request, pk: str) -> Response:
        return self._transition(request, pk, services.proposal_mark_sent)

    @extend_schema(
        operation_id="proposals_new_version",
        parameters=[PROPOSAL_ID, IDEMPOTENCY_KEY],
        request=None,
        responses={201: ProposalOutput, **errors(403, 404, 409)},
        description="Copy an approved or sent proposal into the next version, as a draft.",
    )
    @action(detail=True, methods=["post"], url_path="new-version")
    def new_version(self, request: Request, pk: str) -> Response:
        source = self._get(pk)
        copy = services.proposal_new_version(actor=request.user, proposal_id=source.pk)
        return _response(request, copy, status_code=201)

    @extend_schema(
        operation_id="proposals_comments_create",
        parameters=[PROPOSAL_ID, IDEMPOTENCY_KEY],
        request=CommentInput,
        responses={201: CommentOutput, **errors(400, 403, 404)},
        description="Comment on a section (`section`) or on the whole proposal.",
    )
    @action(detail=True, methods=["post"])
    def comments(self, request: Request, pk: str) -> Response:
        proposal = self._get(pk)
        data = valid(CommentInput, request)
        comment = services.proposal_comment_add(
            actor=request.user, proposal_id=proposal.pk, body=data["body"],
            section_id=data.get("section"),
        )  # fmt: skip
        return Response(CommentOutput(comment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="proposals_check_summary",
        parameters=[IDEMPOTENCY_KEY],
        request=CheckSummaryInput,
        responses={200: CheckSummaryOutput, **errors(400, 404)},
        description="The executive summary checklist for a deal and a text, without "
        "saving anything.",
    )
    @action(detail=False, methods=["post"], url_path="check-summary")
    def check_summary(self, request: Request) -> Response:
        data = valid(CheckSummaryInput, request)
        opp = pipeline_selectors.opportunity_get_for(request.user, data["opportunity"])
        checks = services.summary_checks(opportunity=opp, text=data["executive_summary"])
        return Response(
            CheckSummaryOutput({"passed": all(c.passed for c in checks), "checks": checks}).data
        )
