"""Business issues: the customer's issues mapped to the value we offer (added through
/api/v1/opportunities/{id}/business-issues/; read, changed and deleted at
/api/v1/business-issues/)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors, services
from pipeline.api.common import SET_AT_CREATION
from pipeline.models import BusinessIssue
from salesops.api.schema import errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, int_or_404, valid


class BusinessIssueOutput(serializers.ModelSerializer):
    opportunity = serializers.IntegerField(source="opportunity_id")
    created_by = serializers.IntegerField(source="created_by_id")

    class Meta:
        model = BusinessIssue
        fields = [
            "id", "opportunity", "issue", "impact", "our_value", "quantified_value",
            "created_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class BusinessIssueInput(StrictInputSerializer):
    read_only_hints = {"id": "It is assigned by the server.", "opportunity": SET_AT_CREATION}
    issue = serializers.CharField(allow_blank=True)  # PATCH validates with partial=True
    impact = serializers.CharField(required=False, allow_blank=True)
    our_value = serializers.CharField(required=False, allow_blank=True)
    quantified_value = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, allow_null=True
    )


# --- business issues, activities (top level) ---------------------------------------


@extend_schema(tags=["business-issues"])
@extend_schema_view(
    list=extend_schema(responses={200: BusinessIssueOutput(many=True), **errors(404)}),
    retrieve=extend_schema(responses={200: BusinessIssueOutput, **errors(404)}),
)
class BusinessIssueViewSet(ApiViewSet):
    queryset = BusinessIssue.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {
        "partial_update": BusinessIssueInput,
    }
    filter_backends: list[Any] = []

    def list(self, request: Request) -> Response:
        return self.paginated(selectors.business_issue_list_for(request.user), BusinessIssueOutput)

    def retrieve(self, request: Request, pk: str) -> Response:
        issue = selectors.business_issue_get_for(request.user, int_or_404(pk))
        return Response(BusinessIssueOutput(issue, context=self.ctx()).data)

    @extend_schema(
        request=BusinessIssueInput,
        responses={200: BusinessIssueOutput, **errors(400, 403, 404, 409)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        issue = selectors.business_issue_get_for(request.user, int_or_404(pk))
        data = valid(BusinessIssueInput, request, partial=True)
        issue = services.business_issue_update(
            business_issue_id=issue.pk, actor=request.user, **data
        )
        return Response(BusinessIssueOutput(issue, context=self.ctx()).data)

    @extend_schema(responses={204: None, **errors(403, 404, 409)})
    def destroy(self, request: Request, pk: str) -> Response:
        issue = selectors.business_issue_get_for(request.user, int_or_404(pk))
        services.business_issue_delete(business_issue_id=issue.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
