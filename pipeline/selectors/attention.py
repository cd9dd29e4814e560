"""The "Needs attention" list — one row per flagged deal, its open flags as chips, and
its per-owner overview — and the navbar's counts (flagged deals, unread notifications,
reviews waiting), read in one query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypedDict

from django.contrib.postgres.aggregates import JSONBAgg
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, JSONObject
from django.http import Http404

from pipeline import providers
from pipeline.models import FlagKind, FlagSeverity, Opportunity, OpportunityFlag, OpportunityStatus
from pipeline.selectors.common import CountOf
from salesops import access, organisation
from salesops.cleaning import query_int
from salesops.models import User
from salesops.selectors import notification_list_for

# sort= values of the list: (label, ORDER BY over the annotations of `_attention_deals`).
# "severity" — what to do first — is the default and the documented order (README):
#   1. the most severe flag: a deal with a critical flag before one with warnings only;
#   2. the bigger deal — among deals in one currency, the organisation's first (amounts in
#      different currencies are never compared: no exchange rates are kept);
#   3. the sooner close date (an overdue one first);
#   4. more open flags first; then the deal's id, so that pages never overlap.
# "age" (newest flag first) is where a notification about new flags links to.
ATTENTION_SORTS: dict[str, tuple[str, list[Any]]] = {
    "severity": (
        "What to do first",
        [
            "worst_rank",
            "currency_rank",
            "currency",
            F("amount").desc(),
            "close_date",
            F("flag_count").desc(),
            "id",
        ],
    ),
    "age": ("Newest flag first", [F("newest_flag_at").desc(), "-id"]),
    "-age": ("Longest flagged first", ["oldest_flag_at", "id"]),
    "close_date": ("Soonest close first", ["close_date", "worst_rank", "id"]),
}


# A flag row that exists (not the NULLs of a deal without flags on a LEFT JOIN) and is open.
_OPEN_FLAG = Q(flags__id__isnull=False, flags__cleared_at__isnull=True)


_CRITICAL_FLAG = _OPEN_FLAG & Q(flags__severity=FlagSeverity.CRITICAL)


@dataclass(frozen=True)
class AttentionFlag:
    """One open flag of a deal on the attention list (read from the deal's JSON array)."""

    kind: str
    label: str
    severity: str
    severity_label: str
    explanation: str
    raised_at: Any  # an aware datetime


class NavbarCounts(TypedDict):
    """What the navbar shows (`navbar_counts_for`)."""

    flags: int
    unread: int
    reviews: int


@dataclass(frozen=True)
class AttentionOwner:
    """One owner's share of the attention list: deals flagged, of them with a critical
    flag, and open flags on them."""

    owner_id: int
    name: str
    deals: int
    critical_deals: int
    flags: int


def _attention_annotations() -> dict[str, Any]:
    """Per deal, over its open flags (joined once): the counts, the first and last raise,
    the worst severity (0 critical, 1 warning) and the flags themselves as one JSON array,
    most severe first, then longest-standing first."""
    flag_rank = Case(
        When(flags__severity=FlagSeverity.CRITICAL, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return {
        "flag_count": Count("flags", filter=_OPEN_FLAG),
        "critical_count": Count("flags", filter=_CRITICAL_FLAG),
        "worst_rank": Min(flag_rank, filter=_OPEN_FLAG),
        "newest_flag_at": Max("flags__raised_at", filter=_OPEN_FLAG),
        "oldest_flag_at": Min("flags__raised_at", filter=_OPEN_FLAG),
        "flag_items": JSONBAgg(
            JSONObject(
                kind="flags__kind",
                severity="flags__severity",
                explanation="flags__explanation",
                raised_at="flags__raised_at",
            ),
            filter=_OPEN_FLAG,
            order_by=(flag_rank, "flags__raised_at", "flags__id"),
        ),
    }


def _has_open_flag(**lookups: Any) -> Exists:
    return Exists(
        OpportunityFlag.objects.filter(
            opportunity=OuterRef("pk"), cleared_at__isnull=True, **lookups
        )
    )


def _flagged_deals(user: User, f: dict[str, Any]) -> QuerySet[Opportunity]:
    """The open deals `user` may see with at least one open flag, joined to their open
    flags (the join the annotations aggregate over). Filters (optional): owner; kind and
    severity — deals with an open flag of that kind / severity (their other flags stay)."""
    qs = Opportunity.objects.filter(
        _OPEN_FLAG, access.owner_scope_q(user), status=OpportunityStatus.OPEN
    )
    if f.get("owner"):
        qs = qs.filter(owner_id=f["owner"])
    if f.get("kind"):
        qs = qs.filter(_has_open_flag(kind=f["kind"]))
    if f.get("severity"):
        qs = qs.filter(_has_open_flag(severity=f["severity"]))
    return qs


def attention_deals_for(
    user: User,
    filters: dict[str, Any] | None = None,
    sort: str = "severity",
    *,
    group_by_owner: bool = False,
) -> QuerySet[Opportunity]:
    """The "Needs attention" list: one row per open deal `user` may see (a rep: their own;
    a manager: their teams'; a leader: all) with at least one open flag, carrying its
    flags (`flag_items`, see `attention_flags`) and what the row shows — one query a page,
    however many deals and flags.

    Filters (optional): owner, kind, severity (see `_flagged_deals`). `sort` is a key of
    ATTENTION_SORTS (unknown: severity); `group_by_owner` orders by owner first."""
    order = ATTENTION_SORTS.get(sort, ATTENTION_SORTS["severity"])[1]
    if group_by_owner:
        order = ["owner__username", "owner_id", *order]
    home_currency = organisation.current().default_currency
    return (
        _flagged_deals(user, filters or {})
        .select_related("account", "owner", "stage", "pipeline")
        .annotate(
            **_attention_annotations(),
            currency_rank=Case(
                When(currency=home_currency, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by(*order)
    )


def attention_deal_for(user: User, pk: Any) -> Opportunity:
    """One deal as a row of the attention list shows it — also when it has no open flag
    (any more) or is closed. Outside `user`'s scope: 404."""
    deal = (
        Opportunity.objects.filter(access.owner_scope_q(user), pk=query_int(pk) or 0)
        .select_related("account", "owner", "stage", "pipeline")
        .annotate(**_attention_annotations())
        .first()
    )
    if deal is None:
        raise Http404("No such opportunity.")
    return deal


def attention_flags(items: list[dict[str, Any]] | None) -> list[AttentionFlag]:
    """A deal's `flag_items` (JSON, most severe first) as AttentionFlag, for the page."""
    kinds, severities = dict(FlagKind.choices), dict(FlagSeverity.choices)
    return [
        AttentionFlag(
            kind=item["kind"],
            label=str(kinds.get(item["kind"], item["kind"])),
            severity=item["severity"],
            severity_label=str(severities.get(item["severity"], item["severity"])),
            explanation=item["explanation"],
            raised_at=dt.datetime.fromisoformat(item["raised_at"]),
        )
        for item in items or []
    ]


def attention_owners_for(user: User, filters: dict[str, Any] | None = None) -> list[AttentionOwner]:
    """Per owner of the attention list (the same filters, except the owner's own): deals
    flagged, of them with a critical flag, and their open flags — one query, for the
    page's "by rep" overview and group headings."""
    f = {k: v for k, v in (filters or {}).items() if k != "owner"}
    # The plugin mistakes the `flags` annotation for the deal's reverse relation `flags`;
    # on a values() query Django allows the name.
    rows = (
        _flagged_deals(user, f)  # type: ignore[no-redef]  # see above
        .values("owner_id", "owner__username", "owner__first_name", "owner__last_name")
        .annotate(
            deals=Count("id", distinct=True),
            critical_deals=Count("id", distinct=True, filter=_CRITICAL_FLAG),
            flags=Count("flags"),
        )
        .order_by("owner__username", "owner_id")
    )
    return [
        AttentionOwner(
            owner_id=row["owner_id"],
            name=f"{row['owner__first_name']} {row['owner__last_name']}".strip()
            or row["owner__username"],
            deals=row["deals"],
            critical_deals=row["critical_deals"],
            flags=row["flags"],  # type: ignore[misc]  # annotated above (the plugin misses it)
        )
        for row in rows
    ]


def _open_flags_in_scope(user: User, *, one_query: bool = False) -> QuerySet[OpportunityFlag]:
    scope = access.owner_scope_sql_q if one_query else access.owner_scope_q
    return OpportunityFlag.objects.filter(
        scope(user, field="opportunity__owner"),
        cleared_at__isnull=True,
        opportunity__status=OpportunityStatus.OPEN,
    )


def navbar_counts_for(user: User) -> NavbarCounts:
    """The deals with open flags in `user`'s scope (the attention page shows one card per
    deal, so its badge counts deals, not flags), their unread notifications and the
    proposals waiting for their review — ONE query, since the navbar shows them on every
    page."""
    none: NavbarCounts = {"flags": 0, "unread": 0, "reviews": 0}
    if not user.is_authenticated:
        return none
    flags = (
        _open_flags_in_scope(user, one_query=True).order_by().values("opportunity_id").distinct()
    )
    unread = notification_list_for(user).filter(read_at__isnull=True).order_by().values("pk")
    reviews = providers.review_queue(user)  # registered by proposals
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            flags=CountOf(flags),
            unread=CountOf(unread),
            # A rep reviews nothing: an empty subquery, NULL in SQL.
            reviews=Coalesce(CountOf(reviews), 0),
        )
        .values("flags", "unread", "reviews")
        .first()
    )
    return row or none
