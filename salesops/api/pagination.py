"""Page-numbered lists whose cost does not grow with the page number."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import Page, Paginator
from django.db.models import F, Lookup, QuerySet
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError


class DeferredJoinPaginator(Paginator):
    """Pages of a queryset as ``WHERE pk = ANY(ARRAY(SELECT pk … ORDER BY … LIMIT n OFFSET m))``.

    A plain ``OFFSET m`` joins (account, owner, stage…) and throws away every row before
    the page: page 1,000 of 100,000 opportunities took ~100 ms. The key-only subquery is
    an index-only scan over the ordering index (e.g. ``(close_date, id)``); only the
    page's rows are joined. Still one query per page, whatever the rows or the page.

    With `columns`, the page is read as ``.values(*columns)`` dicts instead of model
    instances. They are applied here, to the page's query only: the joins that related
    columns need would otherwise be in the key subquery too, which then joins every row
    it skips (INNER JOINs are never removed by the planner).
    """

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *args: Any,
        columns: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        self.columns = columns

    def page(self, number: Any) -> Page:
        page = super().page(number)
        if isinstance(self.object_list, QuerySet):
            # pk = ANY(ARRAY(keys)), the same rows as pk IN (keys): the keys become an
            # InitPlan instead of a semi-join the planner fits into the join order. Planning
            # the opportunity page (five tables) took ~1 ms that way, twice as long as
            # running it; now ~0.5 ms.
            keys = ArraySubquery(page.object_list.values("pk"))
            rows = self.object_list.filter(_EqualsAny(F("pk"), keys))
            page.object_list = list(rows.values(*self.columns) if self.columns else rows)
        return page


class _EqualsAny(Lookup):
    """``lhs = ANY(rhs)``, `rhs` an array expression (PostgreSQL)."""

    lookup_name = "equals_any"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = compiler.compile(self.rhs)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


MAX_BIGINT = 2**63 - 1


class PageNumberPagination(pagination.PageNumberPagination):
    """Page-numbered lists; `page_size` may be asked for, up to 200 (larger is capped).

    `page` and `page_size` are whole numbers ≥ 1, given once. Anything else (`abc`, `0`,
    `1.5`, repeated) is a 400 with `details`; a page past the last one is a 404. DRF's
    default silently ignored a bad `page_size` and answered 404 for a malformed `page`.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    page_columns: Sequence[str] | None = None

    def paginate_queryset(
        self, queryset: Any, request: Any, view: Any = None, columns: Sequence[str] | None = None
    ) -> Any:
        """`columns`: read the page as rows of these (see DeferredJoinPaginator)."""
        self.page_columns = columns
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, object_list: Any, per_page: int) -> DeferredJoinPaginator:
        # What DRF instantiates; a method, to pass the page's columns on.
        return DeferredJoinPaginator(object_list, per_page, columns=self.page_columns)

    def get_page_size(self, request: Any) -> int:
        size = _positive_int(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_page_number(self, request: Any, paginator: Paginator) -> int:
        number = _positive_int(request, self.page_query_param) or 1
        if number > paginator.num_pages:  # counted once; paginator.page() reuses the count
            pages = paginator.num_pages
            raise NotFound(
                f"Page {number} does not exist; there {'is' if pages == 1 else 'are'} "
                f"{pages} page{'' if pages == 1 else 's'}."
            )
        return number

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_BIGINT}
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page (default {self.page_size}; more than "
                    f"{self.max_page_size} is capped to {self.max_page_size})."
                )
        return parameters


def _positive_int(request: Any, name: str) -> int | None:
    """A query parameter as a whole number from 1 to 2**63-1; None when absent."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    text = values[0]
    if len(values) > 1:
        raise ValidationError({name: ["Give this parameter once."]})
    if (
        not (text.isascii() and text.isdigit())
        or len(text) > 19
        or not 1 <= int(text) <= MAX_BIGINT
    ):
        raise ValidationError({name: [f"Enter a whole number from 1 to {MAX_BIGINT}."]})
    return int(text)
