"""/api/v1/opportunities/: the deals the user may see, their moves (advance, close won
or lost), their milestones, history, activities, business issues and qualifications, and
the sync by external id. Every response with one opportunity carries its ETag."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors, services
from pipeline.api.activities import ActivityInput, ActivityOutput
from pipeline.api.business_issues import BusinessIssueInput, BusinessIssueOutput
from pipeline.api.milestones import CompletionOutput, MilestoneCompleteInput, MilestoneStateOutput
from pipeline.api.opportunity_serializers import (
    CATEGORY_DECISION_409,
    OPPORTUNITY_COLUMNS,
    AdvanceInput,
    CloseLostInput,
    CloseWonInput,
    OpportunityChangeOutput,
    OpportunityCreateInput,
    OpportunityFilter,
    OpportunityOutput,
    OpportunityUpdateInput,
    OpportunityUpsertInput,
)
from pipeline.api.qualification import QualificationInput, QualificationOutput
from pipeline.models import Opportunity
from salesops.api.etag import expected_version, with_etag
from salesops.api.schema import IDEMPOTENCY_KEY, IF_MATCH, errors
from salesops.api.viewsets import ApiViewSet, int_or_404, valid

# --- opportunities -------------------------------------------------------------------

OPP_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
MILESTONE_ID = OpenApiParameter("milestone_id", OpenApiTypes.INT, OpenApiParameter.PATH)
EXTERNAL_PARAMS = [
    OpenApiParameter("source", OpenApiTypes.STR, OpenApiParameter.PATH,
                     description="The system the record comes from, e.g. `salesforce`."),
    OpenApiParameter("external_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                     description="The record's id in that system."),
]  # fmt: skip


def _opportunity_response(request: Request, opp: Opportunity, *, status_code: int = 200,
                          created: bool = False) -> Response:  # fmt: skip
    if not hasattr(opp, "open_flags"):  # as a service returned it
        opp = selectors.attention_load(opp)
    data = OpportunityOutput(opp, context={"request": request}).data
    response = Response(data, status=status_code)
    if created:
        response["Location"] = data["url"]
    return with_etag(response, opp.version)


@extend_schema(tags=["opportunities"])
class OpportunityViewSet(ApiViewSet):
    """Opportunities the user may see. Every response with one opportunity carries its
    `ETag`; send it back in `If-Match` to refuse lost updates (412)."""

    queryset = Opportunity.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {
        "create": OpportunityCreateInput,
        "partial_update": OpportunityUpdateInput,
        "advance": AdvanceInput,
        "close_won": CloseWonInput,
        "close_lost": CloseLostInput,
        "milestone_complete": MilestoneCompleteInput,
        "activities_create": ActivityInput,
        "business_issues_create": BusinessIssueInput,
        "by_external_id_upsert": OpportunityUpsertInput,
        "qualifications_create": QualificationInput,
    }
    filterset_class = OpportunityFilter
    # The list's order (opportunity_list_for): `?cursor=` walks it by this key.
    cursor_key = ("close_date", "id")

    def get_queryset(self) -> QuerySet[Opportunity]:
        return selectors.opportunity_list_for(self.request.user)

    def _opp(self, pk: Any) -> Opportunity:
        return selectors.opportunity_get_for(self.request.user, int_or_404(pk))

    @extend_schema(responses={200: OpportunityOutput(many=True), **errors(403, 404)})
    def list(self, request: Request) -> Response:
        # The page as rows of OPPORTUNITY_COLUMNS, not model instances (see there).
        page = self.paginator.paginate_queryset(
            self.filter_queryset(self.get_queryset()), request, self, columns=OPPORTUNITY_COLUMNS
        )
        flags = selectors.open_flags_by_opportunity([row["id"] for row in page])
        for row in page:
            row["open_flags"] = flags.get(row["id"], [])
        data = OpportunityOutput(page, many=True, context=self.ctx()).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=OpportunityCreateInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: OpportunityOutput, **errors(400, 403, 409, 413, 422)},
        description="Create an open opportunity in the first stage of its pipeline. "
        "The stage and status are not writable: use the actions. A close date in the past "
        "is accepted without asking (the pages ask for a confirmation first); the response's "
        "`open_flags` already hold the deal's attention flags (e.g. `past_close_date`).",
    )
    def create(self, request: Request) -> Response:
        data = valid(OpportunityCreateInput, request)
        opp = services.opportunity_create(
            actor=request.user,
            name=data.pop("name", None),
            account=data.pop("account", None),
            close_date=data.pop("close_date", None),
            **data,
        )
        return _opportunity_response(request, opp, status_code=201, created=True)

    @extend_schema(parameters=[OPP_ID], responses={200: OpportunityOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return _opportunity_response(
            request, selectors.opportunity_api_get_for(request.user, int_or_404(pk))
        )

    @extend_schema(
        parameters=[OPP_ID, IF_MATCH],
        request=OpportunityUpdateInput,
        responses={200: OpportunityOutput, **errors(400, 403, 404, 409, 412)},
        description="Change editable fields. `stage`, `status`, `version` and the other "
        "read-only fields are refused (400); use the actions. A close date in the past is "
        "accepted without asking; `open_flags` in the response follow the change at once.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(OpportunityUpdateInput, request)
        opp = services.opportunity_update(
            opportunity_id=opp.pk, actor=request.user,
            expected_version=expected_version(request), **data,
        )  # fmt: skip
        return _opportunity_response(request, opp)

    @extend_schema(
        parameters=[OPP_ID],
        responses={204: None, **errors(403, 404)},
        description="Administrators only.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        services.opportunity_delete(opportunity_id=opp.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- state transitions ---

    @extend_schema(
        operation_id="opportunities_advance",
        parameters=[OPP_ID, IF_MATCH, IDEMPOTENCY_KEY],
        request=AdvanceInput,
        responses={
            200: OpportunityOutput,
            **errors(400, 403, 404, 409, 412, 422),
            409: CATEGORY_DECISION_409,
        },
        description="Move to another stage of the pipeline through its gate. 409 "
        "`gate_not_met` lists the missing milestones in `details.missing` (the gate is "
        "checked first). 409 `category_override_decision`: the forecast category was set by "
        "hand and the target stage defaults to another; `details` holds `current_category`, "
        "`override_reason`, `stage_default`, `target_stage` (id), `target_stage_name` and "
        "`choices`; nothing was changed — send the move again with "
        "`forecast_category_on_move` `keep` or `follow`.",
    )
    @action(detail=True, methods=["post"])
    def advance(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(AdvanceInput, request)
        opp = services.opportunity_advance(
            opportunity_id=opp.pk, stage_id=data["stage"], actor=request.user,
            override_reason=data.get("override_reason", ""),
            loss_reason=data.get("loss_reason", ""), expected_version=expected_version(request),
            forecast_category_on_move=data.get("forecast_category_on_move"),
        )  # fmt: skip
        return _opportunity_response(request, opp)

    @extend_schema(
        operation_id="opportunities_close_won",
        parameters=[OPP_ID, IF_MATCH, IDEMPOTENCY_KEY],
        request=CloseWonInput,
        responses={200: OpportunityOutput, **errors(400, 403, 404, 409, 412, 422)},
        description="Close as won; the gate of the remaining stages applies.",
    )
    @action(detail=True, methods=["post"], url_path="close-won")
    def close_won(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(CloseWonInput, request)
        opp = services.opportunity_close_won(
            opportunity_id=opp.pk, actor=request.user,
            override_reason=data.get("override_reason", ""),
            expected_version=expected_version(request),
        )  # fmt: skip
        return _opportunity_response(request, opp)

    @extend_schema(
        operation_id="opportunities_close_lost",
        parameters=[OPP_ID, IF_MATCH, IDEMPOTENCY_KEY],
        request=CloseLostInput,
        responses={200: OpportunityOutput, **errors(400, 404, 409, 412, 422)},
        description="Close as lost; `loss_reason` is required.",
    )
    @action(detail=True, methods=["post"], url_path="close-lost")
    def close_lost(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(CloseLostInput, request)
        opp = services.opportunity_close_lost(
            opportunity_id=opp.pk, actor=request.user, loss_reason=data.get("loss_reason", ""),
            expected_version=expected_version(request),
        )  # fmt: skip
        return _opportunity_response(request, opp)

    # --- milestones ---

    @extend_schema(
        parameters=[OPP_ID],
        responses={200: MilestoneStateOutput(many=True), **errors(404)},
        description="Every milestone of the opportunity's pipeline, in stage order, with "
        "whether it is met for this opportunity.",
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def milestones(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        rows = []
        for group in selectors.milestones_by_stage(opp):
            for row in group.seller_actions + group.buyer_commitments:
                row.milestone.stage = group.stage  # already loaded: no query per row
                rows.append(row)
        rows.sort(key=lambda r: (r.milestone.stage.order, r.milestone.order, r.milestone.id))
        return Response(MilestoneStateOutput(rows, many=True, context=self.ctx()).data)

    @extend_schema(
        operation_id="opportunities_milestones_complete",
        parameters=[OPP_ID, MILESTONE_ID, IDEMPOTENCY_KEY],
        request=MilestoneCompleteInput,
        responses={200: CompletionOutput, **errors(400, 403, 404, 409, 422)},
        description="Tick a milestone, with evidence where the milestone requires it. "
        "Ticking again keeps the first completion (and updates its evidence). 403 "
        "`milestone_manager_only`: the milestone's `completable_by` is `manager` and the caller "
        "is not the owner's manager (nor a leader or admin); 409 `automatic_milestone`: the "
        "system checks it.",
    )
    @action(
        detail=True, methods=["post"], filter_backends=[],
        url_path=r"milestones/(?P<milestone_id>[^/.]+)/complete",
    )  # fmt: skip
    def milestone_complete(self, request: Request, pk: str, milestone_id: str) -> Response:
        opp = self._opp(pk)
        data = valid(MilestoneCompleteInput, request)
        completion = services.milestone_complete(
            opportunity_id=opp.pk, milestone_id=int_or_404(milestone_id), actor=request.user,
            evidence=data.get("evidence", ""),
        )  # fmt: skip
        return Response(CompletionOutput(completion, context=self.ctx()).data)

    @extend_schema(
        operation_id="opportunities_milestones_uncomplete",
        parameters=[OPP_ID, MILESTONE_ID, IDEMPOTENCY_KEY],
        request=None,
        responses={204: None, **errors(403, 404, 409, 422)},
        description="Un-tick a milestone (a no-op when it is not ticked). 403 "
        "`milestone_manager_only` as for ticking.",
    )
    @action(
        detail=True, methods=["post"], filter_backends=[],
        url_path=r"milestones/(?P<milestone_id>[^/.]+)/uncomplete",
    )  # fmt: skip
    def milestone_uncomplete(self, request: Request, pk: str, milestone_id: str) -> Response:
        opp = self._opp(pk)
        services.milestone_uncomplete(
            opportunity_id=opp.pk, milestone_id=int_or_404(milestone_id), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- nested reads and writes ---

    @extend_schema(
        parameters=[OPP_ID],
        responses={200: OpportunityChangeOutput(many=True), **errors(404)},
        description="Append-only history of stage, amount, close date, forecast category, "
        "status and owner changes, newest first.",
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request: Request, pk: str) -> Response:
        return self.paginated(selectors.history_for(self._opp(pk)), OpportunityChangeOutput)

    @extend_schema(
        parameters=[OPP_ID],
        responses={200: ActivityOutput(many=True), **errors(404)},
        description="Calls, meetings, emails and notes, newest first.",
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def activities(self, request: Request, pk: str) -> Response:
        return self.paginated(selectors.activities_for(self._opp(pk)), ActivityOutput)

    @extend_schema(
        operation_id="opportunities_activities_create",
        parameters=[OPP_ID, IDEMPOTENCY_KEY],
        request=ActivityInput,
        responses={201: ActivityOutput, **errors(400, 403, 404, 422)},
    )
    @activities.mapping.post
    def activities_create(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(ActivityInput, request)
        activity = services.activity_log(
            opportunity_id=opp.pk, actor=request.user, kind=data.pop("kind"),
            subject=data.pop("subject", ""), **data,
        )  # fmt: skip
        return Response(ActivityOutput(activity, context=self.ctx()).data, status=201)

    @extend_schema(
        parameters=[OPP_ID],
        responses={200: BusinessIssueOutput(many=True), **errors(404)},
        description="The customer's business issues mapped to the value we offer.",
    )
    @action(detail=True, methods=["get"], url_path="business-issues", filter_backends=[])
    def business_issues(self, request: Request, pk: str) -> Response:
        return self.paginated(selectors.business_issues_for(self._opp(pk)), BusinessIssueOutput)

    @extend_schema(
        operation_id="opportunities_business_issues_create",
        parameters=[OPP_ID, IDEMPOTENCY_KEY],
        request=BusinessIssueInput,
        responses={201: BusinessIssueOutput, **errors(400, 403, 404, 409, 422)},
    )
    @business_issues.mapping.post
    def business_issues_create(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(BusinessIssueInput, request)
        issue = services.business_issue_create(
            opportunity_id=opp.pk, actor=request.user, issue=data.pop("issue", ""), **data
        )
        return Response(BusinessIssueOutput(issue, context=self.ctx()).data, status=201)

    # --- qualification ---

    @extend_schema(
        parameters=[OPP_ID],
        responses={200: QualificationOutput(many=True), **errors(404)},
        description="The history of qualifications, newest first; the latest one counts.",
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def qualifications(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        page = self.paginate_queryset(selectors.qualification_history_for(opp))
        # Newest first: the latest qualification is the first row of page 1 (no query).
        first_page = self.paginator.page.number == 1
        latest_id = page[0].pk if page and first_page else None
        context = {**self.ctx(), "opportunity": opp, "latest_id": latest_id}
        data = QualificationOutput(page, many=True, context=context).data
        return self.get_paginated_response(data)

    @extend_schema(
        operation_id="opportunities_qualifications_create",
        parameters=[OPP_ID, IDEMPOTENCY_KEY],
        request=QualificationInput,
        responses={201: QualificationOutput, **errors(400, 403, 404, 409, 422)},
        description="Qualify the deal: score every element of its pipeline's framework 0–3, "
        "with `evidence` and its `source` for scores of 2 and 3. Nothing is saved unless "
        "every score is valid. A 400 keys the problems of each entry by its element id — "
        '`details.scores` is `{"<element id>": {"score"|"evidence"|"source"|"element": '
        '[messages]}}` (`"#<index>"` for an entry without a usable element id; an element '
        "left out is reported under its id with `score`). 409 `no_framework` when the "
        "pipeline has no framework, `opportunity_closed` for a closed deal.",
    )
    @qualifications.mapping.post
    def qualifications_create(self, request: Request, pk: str) -> Response:
        opp = self._opp(pk)
        data = valid(QualificationInput, request)
        qualification = services.qualification_create(
            opportunity_id=opp.pk, actor=request.user,
            scores=[dict(entry) for entry in data["scores"]], note=data.get("note", ""),
        )  # fmt: skip
        qualification = selectors.qualification_history_for(opp).get(pk=qualification.pk)
        context = {**self.ctx(), "opportunity": opp, "latest_id": qualification.pk}
        return Response(QualificationOutput(qualification, context=context).data, status=201)

    # --- sync by external id ---

    @extend_schema(
        operation_id="opportunities_by_external_id_retrieve",
        parameters=EXTERNAL_PARAMS,
        responses={200: OpportunityOutput, **errors(404)},
    )
    @action(
        detail=False, methods=["get"], filter_backends=[], pagination_class=None,
        url_path=r"by-external-id/(?P<source>[^/]+)/(?P<external_id>[^/]+)",
    )  # fmt: skip
    def by_external_id(self, request: Request, source: str, external_id: str) -> Response:
        opp = selectors.opportunity_get_by_external_id_for(request.user, source, external_id)
        return _opportunity_response(request, opp)

    @extend_schema(
        operation_id="opportunities_by_external_id_upsert",
        parameters=EXTERNAL_PARAMS,
        request=OpportunityUpsertInput,
        responses={
            200: OpportunityOutput,
            201: OpportunityOutput,
            **errors(400, 403, 404, 409, 412),
        },
        description="Create (201) or update (200) the opportunity known to `source` as "
        "`external_id`. Syncing the same record twice never makes a duplicate. Creating it "
        "needs `name`, `account` and `close_date`; an update changes only what is sent. A "
        "record outside your visibility answers 404, as reading it does. The source "
        "system is authoritative here: If-Match is not checked on this endpoint. A close date "
        "in the past is accepted without asking; `open_flags` in the response are decided "
        "at once.",
    )
    @by_external_id.mapping.put
    def by_external_id_upsert(self, request: Request, source: str, external_id: str) -> Response:
        data = valid(OpportunityUpsertInput, request)
        opp, created = services.opportunity_upsert_by_external_id(
            actor=request.user, source=source, external_id=external_id, data=data
        )
        return _opportunity_response(
            request, opp, status_code=201 if created else 200, created=created
        )
