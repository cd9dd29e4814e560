"""Page-numbered lists whose cost does not grow with the page number."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from rest_framework import pagination


class DeferredJoinPaginator(Paginator):
    """Pages of a queryset as ``WHERE pk IN (SELECT pk … ORDER BY … LIMIT n OFFSET m)``.

    A plain ``OFFSET m`` joins (account, owner, stage…) and throws away every row before
    the page: page 1,000 of 100,000 opportunities took ~100 ms. The key-only subquery is
    an index-only scan over the ordering index (e.g. ``(close_date, id)``); only the
    page's rows are joined. Still one query per page, whatever the rows or the page.
    """

    def page(self, number: Any) -> Page:
        page = super().page(number)
        if isinstance(self.object_list, QuerySet):
            keys = page.object_list.values("pk")
            page.object_list = list(self.object_list.filter(pk__in=keys))
        return page


class PageNumberPagination(pagination.PageNumberPagination):
    """Page-numbered lists; `page_size` may be asked for, up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    django_paginator_class = DeferredJoinPaginator
