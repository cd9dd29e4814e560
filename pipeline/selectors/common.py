"""Helpers several pipeline reads share: the query-string check of an id, and a subquery
counted in SQL."""

from __future__ import annotations

from typing import Any

from django.db.models import IntegerField, Subquery

from salesops.cleaning import query_int


def is_id(pk: Any) -> bool:
    return query_int(pk) is not None


class CountOf(Subquery):
    template = "(SELECT count(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()
