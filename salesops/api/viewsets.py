"""The base every app's API views share: strict query strings, ids that are never a 500,
input validation in one call, pagination, and CSV exports that fall back to JSON errors.
Every app's API imports them from here.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.utils.http import urlencode
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from salesops.api.idempotency import IdempotentPostMixin
from salesops.cleaning import query_int

MAX_ID = 2**63 - 1


def int_or_404(value: Any) -> int:
    """A URL id as an int; anything else (or out of range) is a 404, never a 500 (e.g.
    "¹".isdigit() is true but int("¹") raises: DELETE /milestones/¹/ was a 500)."""
    number = query_int(value)
    if number is None:
        raise Http404("Not found.")
    return number


def get_or_404(queryset: QuerySet, pk: Any) -> Any:
    obj = queryset.filter(pk=int_or_404(pk)).first()
    if obj is None:
        raise Http404("Not found.")
    return obj


def _without_empty_values(query: QueryDict) -> QueryDict:
    """`query` less its empty values. Why here, once, rather than in each parser: a client
    sends `?status=` for "no filter" (a form's empty select, a template with an unset
    variable); django-filter and the query serializers already read it so, pagination
    answered 400, and a parser added later would have its own idea."""
    kept = [(name, value) for name, value in query.items() if value != ""]
    return QueryDict(urlencode(kept), encoding=query.encoding)  # type: ignore[arg-type]  # parsed: no key without a value


def valid(
    serializer_class: type[serializers.Serializer], request: Request, **kwargs: Any
) -> dict[str, Any]:
    """The request body validated by `serializer_class` (a 400 with details otherwise)."""
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(django_filters.NumberFilter):
    """An integer id filter ('abc' or 1.5 is a 400, not a 500 or a silent no-op)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class ApiViewSet(IdempotentPostMixin, viewsets.GenericViewSet):
    """Base for the API's viewsets: Idempotency-Key on every POST; NUL characters in the
    URL or query string are refused (PostgreSQL cannot compare them: a 500 otherwise), and
    so is a query parameter given twice (every parameter here takes one value; the filters
    would silently use the last). An empty value (`?status=`) is the same as leaving the
    parameter out, for every parameter (the schema's `allowEmptyValue`)."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        errors: dict[str, list[str]] = {
            k: ["Null characters are not allowed."] for k, v in kwargs.items() if "\x00" in str(v)
        }
        for k, values in request.query_params.lists():
            if any("\x00" in v for v in values):
                errors[k] = ["Null characters are not allowed."]
            elif len(values) > 1:
                errors[k] = ["Give this parameter once."]
        if errors:
            raise serializers.ValidationError(errors)
        if any(value == "" for value in request.query_params.values()):
            request._request.GET = _without_empty_values(request.query_params)

    # Input serializer per action. The views name their serializers explicitly; this is
    # only for the browsable API (DEBUG), which asks for one to render its forms.
    input_serializers: dict[str, type[serializers.Serializer]] = {}

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return self.input_serializers.get(self.action, serializers.Serializer)

    def get_object(self) -> Any:
        """Reads go through the selectors, never DRF's generic lookup. Only OPTIONS (the
        metadata) calls this; the generic one asserted a `pk` URL kwarg and was a 500 on
        /opportunities/by-external-id/{source}/{external_id}/."""
        raise Http404("Not found.")

    def ctx(self) -> dict[str, Any]:
        return {"request": self.request}

    def paginated(self, queryset: Any, serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.ctx()).data
        return self.get_paginated_response(data)


class CsvExportViewSet(ApiViewSet):
    """A `GET …/export.csv` route: the body is a streamed CSV file (a Django response, not
    rendered by DRF). A client that asks for `Accept: text/csv` gets the file; its errors
    (a bad filter, 401, 403) come in the API's JSON error shape instead of a 406."""

    pagination_class = None

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)
