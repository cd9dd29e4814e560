"""Reads of the attention flags on deals: a deal's open flags (most severe first), the
open flags of a page of deals (prefetched, or as rows for the API), badges from a JSON
array of them, and the flags on the deals a user may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.aggregates import JSONBAgg
from django.db.models import Case, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value, When
from django.db.models.functions import JSONObject

from pipeline.models import FlagKind, FlagSeverity, Opportunity, OpportunityFlag
from salesops import access
from salesops.models import User


def _open_flags() -> QuerySet[OpportunityFlag]:
    return OpportunityFlag.objects.filter(cleared_at__isnull=True).order_by("-raised_at", "-id")


def open_flags_prefetch() -> Prefetch:
    """An opportunity's open flags, newest first, as `opp.open_flags` (one query a page)."""
    return Prefetch("flags", queryset=_open_flags(), to_attr="open_flags")


# What the API shows of an open flag.
OPEN_FLAG_COLUMNS = ("kind", "severity", "explanation", "raised_at")


def open_flags_by_opportunity(opportunity_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The open flags of these opportunities (ids the caller read through a scoped
    selector) as rows of OPEN_FLAG_COLUMNS, newest first, by opportunity id: one query, the
    flags `open_flags_prefetch` gives instances."""
    flags: dict[int, list[dict[str, Any]]] = {}
    rows = (
        _open_flags()
        .filter(opportunity_id__in=opportunity_ids)
        .values("opportunity_id", *OPEN_FLAG_COLUMNS)
    )
    for row in rows:
        flags.setdefault(row.pop("opportunity_id"), []).append(row)
    return flags


def opportunity_flag_list_for(user: User) -> QuerySet[OpportunityFlag]:
    """Flags (open and cleared) on the opportunities `user` may see, newest first."""
    return (
        OpportunityFlag.objects.filter(access.owner_scope_q(user, field="opportunity__owner"))
        .select_related("opportunity__owner")
        .order_by("-raised_at", "-id")
    )


# Critical before warning; a plain ORDER BY on the text would put "critical" first only by
# accident of the alphabet.
SEVERITY_RANK = Case(
    When(severity=FlagSeverity.CRITICAL, then=Value(0)),
    default=Value(1),
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class FlagBadge:
    kind: str
    label: str
    severity: str
    explanation: str


def open_flags_json() -> Subquery:
    """An opportunity's open flags as one JSON array (most severe first), for annotating."""
    return Subquery(
        OpportunityFlag.objects.filter(opportunity=OuterRef("pk"), cleared_at__isnull=True)
        .order_by()
        .values("opportunity")
        .annotate(
            items=JSONBAgg(
                JSONObject(kind="kind", severity="severity", explanation="explanation"),
                order_by=(SEVERITY_RANK, "raised_at", "id"),
            )
        )
        .values("items")
    )


def flag_badges(items: list[dict[str, str]] | None) -> list[FlagBadge]:
    kinds = dict(FlagKind.choices)
    return [
        FlagBadge(
            kind=item["kind"],
            label=kinds.get(item["kind"], item["kind"]),
            severity=item["severity"],
            explanation=item["explanation"],
        )
        for item in items or []
    ]


def open_flags_for(opp: Opportunity) -> QuerySet[OpportunityFlag]:
    """The opportunity's open flags, most severe first, then longest-standing first."""
    return (
        OpportunityFlag.objects.filter(opportunity=opp, cleared_at__isnull=True)
        .annotate(severity_rank=SEVERITY_RANK)
        .order_by("severity_rank", "raised_at", "id")
    )
