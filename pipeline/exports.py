"""CSV exports of accounts, products and opportunities in the import's columns
(pipeline/columns.py), for the pages and the API alike.

Each export takes a queryset a selector already scoped and filtered (the same one the list
shows), reads it as plain rows of the columns it needs — one query, joins included, read
through a database cursor in chunks — and streams the file (salesops.exports.csv_stream).
So the query count never grows with the rows, and the memory neither.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from pipeline.columns import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS, PRODUCT_COLUMNS
from pipeline.models import Account, Opportunity, Product
from salesops import organisation
from salesops.columns import external_id_or_own
from salesops.exports import csv_stream, export_filename

# Rows fetched from the cursor at a time.
CHUNK_SIZE = 2000


def _today() -> str:
    return organisation.current().today().isoformat()


# --- accounts -------------------------------------------------------------------------

_ACCOUNT_VALUES = ("pk", "external_id", "name", "domain", "industry", "employees", "country")


def account_rows(accounts: QuerySet[Account]) -> Iterator[list[Any]]:
    """One row per account, in ACCOUNT_COLUMNS order."""
    for pk, external_id, *rest in accounts.values_list(*_ACCOUNT_VALUES).iterator(
        chunk_size=CHUNK_SIZE
    ):
        yield [external_id_or_own(external_id, pk), *rest]


def account_export(accounts: QuerySet[Account]) -> StreamingHttpResponse:
    return csv_stream(
        export_filename("accounts", _today()), ACCOUNT_COLUMNS, account_rows(accounts)
    )


# --- products -------------------------------------------------------------------------

_PRODUCT_VALUES = ("pk", "external_id", "name", "family", "list_price", "currency")


def product_rows(products: QuerySet[Product]) -> Iterator[list[Any]]:
    """One row per product, in PRODUCT_COLUMNS order."""
    for pk, external_id, *rest in products.values_list(*_PRODUCT_VALUES).iterator(
        chunk_size=CHUNK_SIZE
    ):
        yield [external_id_or_own(external_id, pk), *rest]


def product_export(products: QuerySet[Product]) -> StreamingHttpResponse:
    return csv_stream(
        export_filename("products", _today()), PRODUCT_COLUMNS, product_rows(products)
    )


# --- opportunities --------------------------------------------------------------------

_OPPORTUNITY_VALUES = (
    "pk", "external_id", "name", "account__name", "account_id", "account__external_id",
    "owner__email", "owner__username", "product__name", "stage__name", "status", "amount",
    "currency", "created_at", "close_date", "closed_at", "loss_reason", "next_step",
    "next_step_date",
)  # fmt: skip


def opportunity_rows(
    opportunities: QuerySet[Opportunity], *, tz: dt.tzinfo | None = None
) -> Iterator[list[Any]]:
    """One row per opportunity, in OPPORTUNITY_COLUMNS order. `created_date` is the day of
    `created_at` in `tz` (default: the current time zone, the organisation's), read now:
    the rows are produced later, while the response streams."""
    zone = tz or timezone.get_current_timezone()
    rows = opportunities.values_list(*_OPPORTUNITY_VALUES).iterator(chunk_size=CHUNK_SIZE)
    return _opportunity_rows(rows, zone)


def _opportunity_rows(rows: Iterator[tuple[Any, ...]], zone: dt.tzinfo) -> Iterator[list[Any]]:
    for (
        pk, external_id, name, account, account_id, account_external_id, email, username,
        product, stage, status, amount, currency, created_at, close_date, closed_at,
        loss_reason, next_step, next_step_date,
    ) in rows:  # fmt: skip
        yield [
            external_id_or_own(external_id, pk),
            name,
            account,
            external_id_or_own(account_external_id, account_id),
            email or username,
            product,
            stage,
            status,
            amount,
            currency,
            created_at.astimezone(zone).date(),
            close_date,
            closed_at.astimezone(zone).date() if closed_at else None,
            loss_reason,
            next_step,
            next_step_date,
        ]


def opportunity_export(opportunities: QuerySet[Opportunity]) -> StreamingHttpResponse:
    return csv_stream(
        export_filename("opportunities", _today()),
        OPPORTUNITY_COLUMNS,
        opportunity_rows(opportunities),
    )
