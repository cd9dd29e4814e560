"""Reads for imports: the records a CRM export refers to, by name and external id.

Selectors in the sense of the architecture (reads only), for callers that already checked
that the user may import (exchange.services): they are not scoped to a user, because an
import matches the file against the whole company's records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pipeline.models import Account, Opportunity, Pipeline, Product, Stage
from salesops.cleaning import name_key


@dataclass(frozen=True)
class DealState:
    """An existing deal as an import compares it with its file row."""

    id: int
    version: int
    name: str
    account_id: int
    owner_id: int
    product_id: int | None
    stage_id: int
    status: str
    amount: Decimal
    currency: str
    close_date: dt.date
    next_step: str
    next_step_date: dt.date | None
    loss_reason: str
    imported_at: dt.datetime | None


def import_pipeline(pipeline_id: int | None) -> Pipeline | None:
    """The pipeline an import puts deals in: the one asked for, else the first active."""
    pipelines = Pipeline.objects.filter(is_active=True).order_by("id")
    if pipeline_id is not None:
        return pipelines.filter(pk=pipeline_id).first()
    return pipelines.first()


def stages_of(pipeline_id: int) -> list[Stage]:
    return list(Stage.objects.filter(pipeline_id=pipeline_id).order_by("order"))


def deals_by_external_id(source: str, external_ids: Iterable[str]) -> dict[str, DealState]:
    ids = list(set(external_ids))
    if not ids:
        return {}
    rows = Opportunity.objects.filter(source=source, external_id__in=ids).values_list(
        "external_id", "id", "version", "name", "account_id", "owner_id", "product_id",
        "stage_id", "status", "amount", "currency", "close_date", "next_step",
        "next_step_date", "loss_reason", "imported_at",
    )  # fmt: skip
    return {row[0]: DealState(*row[1:]) for row in rows}


def account_index() -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """({(source, external_id): id}, {name_key(name): id}) of every account; of two with
    the same name, the oldest wins."""
    by_external: dict[tuple[str, str], int] = {}
    by_name: dict[str, int] = {}
    for pk, name, source, external_id in Account.objects.order_by("-id").values_list(
        "id", "name", "source", "external_id"
    ):
        if external_id:
            by_external[(source, external_id)] = pk
        by_name[name_key(name)] = pk
    return by_external, by_name


def product_index() -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """Like account_index, for products."""
    by_external: dict[tuple[str, str], int] = {}
    by_name: dict[str, int] = {}
    for pk, name, source, external_id in Product.objects.order_by("-id").values_list(
        "id", "name", "source", "external_id"
    ):
        if external_id:
            by_external[(source, external_id)] = pk
        by_name[name_key(name)] = pk
    return by_external, by_name


def active_pipelines() -> list[Pipeline]:
    return list(Pipeline.objects.filter(is_active=True).order_by("id"))


# --- the accounts and products an accounts or products file is matched against ----------


@dataclass(frozen=True)
class AccountState:
    """An existing account as an import compares it with its file row."""

    id: int
    name: str
    domain: str
    industry: str
    employees: int | None
    country: str
    source: str
    external_id: str


@dataclass(frozen=True)
class ProductState:
    """An existing product as an import compares it with its file row."""

    id: int
    name: str
    family: str
    list_price: Decimal | None
    currency: str
    source: str
    external_id: str


def account_keys() -> list[tuple[int, str, str, str]]:
    """(id, name, source, external_id) of every account, oldest first."""
    return list(Account.objects.order_by("id").values_list("id", "name", "source", "external_id"))


def account_states(ids: Iterable[int]) -> dict[int, AccountState]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = Account.objects.filter(pk__in=wanted).values_list(
        "id", "name", "domain", "industry", "employees", "country", "source", "external_id"
    )
    return {row[0]: AccountState(*row) for row in rows}


def product_keys() -> list[tuple[int, str, str, str]]:
    """(id, name, source, external_id) of every product, oldest first."""
    return list(Product.objects.order_by("id").values_list("id", "name", "source", "external_id"))


def product_states(ids: Iterable[int]) -> dict[int, ProductState]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = Product.objects.filter(pk__in=wanted).values_list(
        "id", "name", "family", "list_price", "currency", "source", "external_id"
    )
    return {row[0]: ProductState(*row) for row in rows}
