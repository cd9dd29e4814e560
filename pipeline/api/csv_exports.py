"""CSV exports in the import's columns (pipeline/columns.py): opportunities, accounts
and products, every matching row (no pages), streamed."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from pipeline import exports, selectors
from pipeline.api.opportunity_serializers import OpportunityFilter
from pipeline.api.products import ProductQuery, product_query
from pipeline.models import Account, Opportunity, Product
from salesops.api.schema import errors
from salesops.api.viewsets import CsvExportViewSet

# --- CSV exports in the import's columns (pipeline/columns.py) ---------------------------

_CSV_TEXT = (
    "A CSV file (UTF-8 with a byte-order mark) in the import's columns, streamed: "
    "export → import into an empty database gives the same records."
)


def _csv_ok(what: str) -> dict[Any, OpenApiResponse]:
    return {
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=f"{what}. {_CSV_TEXT}")
    }


@extend_schema(tags=["opportunities"])
class OpportunityExportViewSet(CsvExportViewSet):
    queryset = Opportunity.objects.none()  # the model for the schema; reads use selectors
    filterset_class = OpportunityFilter

    @extend_schema(
        operation_id="opportunities_export_csv",
        responses={
            **_csv_ok("The opportunities you may see that match the filters"),
            **errors(404),
        },
        description="The opportunities of the list with the same filters, every one of them "
        "(no pages), in the columns of pipeline/columns.py OPPORTUNITY_COLUMNS.",
    )
    def list(self, request: Request) -> Any:
        opportunities = self.filter_queryset(selectors.opportunity_list_for(request.user))
        return exports.opportunity_export(opportunities)


@extend_schema(tags=["accounts"])
class AccountExportViewSet(CsvExportViewSet):
    queryset = Account.objects.none()  # the model for the schema; reads use selectors
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="accounts_export_csv",
        parameters=[OpenApiParameter("search", OpenApiTypes.STR, description="In the name.")],
        responses={**_csv_ok("The accounts (matching `search`)"), **errors(404)},
    )
    def list(self, request: Request) -> Any:
        search = request.query_params.get("search", "")
        return exports.account_export(selectors.account_list(search))


@extend_schema(tags=["products"])
class ProductExportViewSet(CsvExportViewSet):
    queryset = Product.objects.none()  # the model for the schema; reads use selectors
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="products_export_csv",
        parameters=[ProductQuery],
        responses={**_csv_ok("The products (matching the filters)"), **errors(404)},
    )
    def list(self, request: Request) -> Any:
        return exports.product_export(selectors.product_list(**product_query(request)))
