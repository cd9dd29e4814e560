"""Accounts (/api/v1/accounts/): the customers deals are with."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors, services
from pipeline.models import Account
from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, int_or_404, valid


class AccountOutput(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [
            "id", "name", "domain", "industry", "employees", "country", "source", "external_id",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class AccountInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "created_at": "It is set by the server.",
    }
    name = serializers.CharField(allow_blank=True)  # PATCH validates with partial=True
    domain = serializers.CharField(required=False, allow_blank=True)
    industry = serializers.CharField(required=False, allow_blank=True)
    employees = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=services.MAX_INT
    )
    country = serializers.CharField(required=False, allow_blank=True)
    source = serializers.CharField(required=False, allow_blank=True)
    external_id = serializers.CharField(required=False, allow_blank=True)


# --- accounts -----------------------------------------------------------------------


@extend_schema(tags=["accounts"])
class AccountViewSet(ApiViewSet):
    queryset = Account.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {
        "create": AccountInput,
        "partial_update": AccountInput,
    }
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[OpenApiParameter("search", OpenApiTypes.STR, description="In the name.")],
        responses={200: AccountOutput(many=True), **errors(404)},
    )
    def list(self, request: Request) -> Response:
        search = request.query_params.get("search", "")
        return self.paginated(selectors.account_list(search), AccountOutput)

    @extend_schema(
        request=AccountInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: AccountOutput, **errors(400, 403, 413, 422)},
    )
    def create(self, request: Request) -> Response:
        data = valid(AccountInput, request)
        account = services.account_create(actor=request.user, name=data.pop("name", ""), **data)
        return Response(AccountOutput(account, context=self.ctx()).data, status=201)

    @extend_schema(responses={200: AccountOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        account = selectors.account_get(int_or_404(pk))
        return Response(AccountOutput(account, context=self.ctx()).data)

    @extend_schema(
        request=AccountInput,
        responses={200: AccountOutput, **errors(400, 403, 404)},
        description="Managers, sales leaders and administrators change any account; a rep "
        "only one no one else's deal uses (else 403 `account_shared`).",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        account = selectors.account_get(int_or_404(pk))
        data = valid(AccountInput, request, partial=True)
        account = services.account_update(account_id=account.pk, actor=request.user, **data)
        return Response(AccountOutput(account, context=self.ctx()).data)

    @extend_schema(
        responses={204: None, **errors(403, 404, 409)},
        description="Administrators only; refused while opportunities use the account.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        account = selectors.account_get(int_or_404(pk))
        services.account_delete(account_id=account.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
