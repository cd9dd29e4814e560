"""The product catalogue (/api/v1/products/): what a deal sells. Everyone reads it,
administrators write it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline import selectors, services
from pipeline.models import Product
from salesops.api.permissions import ApiKeyScopePermission, IsAdminRoleOrReadOnly
from salesops.api.schema import IDEMPOTENCY_KEY, errors
from salesops.api.serializers import StrictInputSerializer
from salesops.api.viewsets import ApiViewSet, int_or_404, valid


class ProductOutput(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "id", "name", "family", "list_price", "currency", "is_active", "source",
            "external_id", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ProductInput(StrictInputSerializer):
    read_only_hints = {
        "id": "It is assigned by the server.",
        "created_at": "It is set by the server.",
    }
    name = serializers.CharField(allow_blank=True)  # PATCH validates with partial=True
    family = serializers.CharField(required=False, allow_blank=True)
    list_price = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, allow_null=True
    )
    currency = serializers.CharField(
        required=False, allow_blank=True, help_text="ISO 4217 code, e.g. EUR; empty: none."
    )
    is_active = serializers.BooleanField(
        required=False, help_text="false takes the product off the offer; deals keep it."
    )
    source = serializers.CharField(required=False, allow_blank=True)
    external_id = serializers.CharField(required=False, allow_blank=True)


class ProductQuery(serializers.Serializer):
    active = serializers.ChoiceField(
        choices=["true", "false"], required=False,
        help_text="`true`: products on offer; `false`: those taken off it.",
    )  # fmt: skip
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="In the name."
    )


# --- products: everyone reads the catalogue, administrators write it --------------------


def product_query(request: Request) -> dict[str, Any]:
    """The catalogue's list filters from the query string (a bad value is a 400)."""
    query = ProductQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    active = query.validated_data.get("active")
    return {
        "active": None if active is None else active == "true",
        "search": query.validated_data.get("search", ""),
    }


@extend_schema(tags=["products"])
class ProductViewSet(ApiViewSet):
    """The product catalogue: what a deal sells (optional on an opportunity)."""

    permission_classes = [ApiKeyScopePermission, IsAdminRoleOrReadOnly]
    queryset = Product.objects.none()  # the model for the schema; reads use selectors
    input_serializers = {"create": ProductInput, "partial_update": ProductInput}
    filter_backends: list[Any] = []

    @extend_schema(
        parameters=[ProductQuery], responses={200: ProductOutput(many=True), **errors(404)}
    )
    def list(self, request: Request) -> Response:
        return self.paginated(selectors.product_list(**product_query(request)), ProductOutput)

    @extend_schema(responses={200: ProductOutput, **errors(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        product = selectors.product_get(int_or_404(pk))
        return Response(ProductOutput(product, context=self.ctx()).data)

    @extend_schema(
        request=ProductInput,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: ProductOutput, **errors(400, 403, 413, 422)},
        description="Administrators only. The name is unique whatever the case.",
    )
    def create(self, request: Request) -> Response:
        data = valid(ProductInput, request)
        product = services.product_create(actor=request.user, name=data.pop("name", ""), **data)
        return Response(ProductOutput(product, context=self.ctx()).data, status=201)

    @extend_schema(
        request=ProductInput,
        responses={200: ProductOutput, **errors(400, 403, 404)},
        description="Administrators only. `is_active: false` takes it off the offer.",
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        product = selectors.product_get(int_or_404(pk))
        data = valid(ProductInput, request, partial=True)
        product = services.product_update(product_id=product.pk, actor=request.user, **data)
        return Response(ProductOutput(product, context=self.ctx()).data)

    @extend_schema(
        responses={204: None, **errors(403, 404, 409)},
        description="Administrators only; refused (409 `product_in_use`) while deals use the "
        "product — deactivate it instead.",
    )
    def destroy(self, request: Request, pk: str) -> Response:
        product = selectors.product_get(int_or_404(pk))
        services.product_delete(product_id=product.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
