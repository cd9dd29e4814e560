"""The board: a pipeline's open stages as columns of deal cards, with counts and totals
in each currency."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.safestring import SafeString

from pipeline import rules
from pipeline.models import Opportunity, OpportunityStatus, Pipeline, Stage
from pipeline.selectors.flags import flag_badges, open_flags_json
from pipeline.selectors.opportunities import opportunity_list_for
from salesops import organisation
from salesops.models import User


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    amount: Decimal


@dataclass
class BoardColumn:
    stage: Stage
    cards: list[Opportunity]
    count: int
    # One per currency, the organisation's first: amounts in different currencies are never
    # added together. An empty column has the organisation's currency at zero.
    totals: list[CurrencyTotal]
    # Filled in by the board page (pipeline.views.board_page) for its template: the cards
    # not shown, whether cards name their owner, and the stages a card may move to.
    hidden: int = 0
    show_owners: bool = False
    move_targets: list[Stage] = field(default_factory=list)
    move_options: SafeString = field(default_factory=SafeString)


BOARD_CARDS_PER_COLUMN = 50


# What a board card shows (templates/partials/board_columns.html) and its health needs.
BOARD_CARD_FIELDS = (
    "name",
    "amount",
    "currency",
    "close_date",
    "stage_entered_at",
    "version",
    "stage_id",
    "owner_id",
    "account__name",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "stage__order",
    "stage__warn_days",
    "stage__rot_days",
)


def board_for(
    user: User,
    pipeline: Pipeline,
    filters: dict[str, Any] | None = None,
    per_column: int = BOARD_CARDS_PER_COLUMN,
) -> list[BoardColumn]:
    """Open stages of `pipeline`, each with its first cards (soonest close first), the
    number of open deals and their total in each currency. Three queries whatever the
    number of deals."""
    stages = list(
        Stage.objects.filter(pipeline=pipeline, is_won=False, is_lost=False).order_by("order")
    )
    scoped = opportunity_list_for(
        user, {**(filters or {}), "pipeline": pipeline.pk, "status": OpportunityStatus.OPEN}
    )
    default_currency = organisation.current().default_currency
    counts: dict[int, int] = {}
    totals: dict[int, list[CurrencyTotal]] = {}
    for row in sorted(
        scoped.order_by()
        .values("stage_id", "currency")
        .annotate(n=Count("*"), total=Sum("amount")),
        key=lambda row: (row["currency"] != default_currency, row["currency"]),
    ):
        counts[row["stage_id"]] = counts.get(row["stage_id"], 0) + row["n"]
        totals.setdefault(row["stage_id"], []).append(
            CurrencyTotal(currency=row["currency"], amount=row["total"])
        )
    # Each column's first cards by its own LIMIT (an index scan per stage that stops at
    # `per_column`), then those cards with what they show; ranking every open deal in one
    # window query read and annotated them all (80 ms for a manager at 100,000 deals).
    firsts = [
        scoped.filter(stage_id=s.id).order_by("close_date", "id").values("pk")[:per_column]
        for s in stages
    ]
    card_ids = firsts[0].union(*firsts[1:], all=True) if firsts else []
    # The cards' flag badges come with the cards: no query of their own. Only the columns a
    # card shows are read (BOARD_CARD_FIELDS): building 100 cards with every column of the
    # deal, its owner (password hash included), account, stage and pipeline took ~8 ms.
    ranked = (
        scoped.filter(pk__in=card_ids)  # type: ignore[misc]  # a values("pk") subquery: valid for __in
        .select_related(None)
        .select_related("account", "owner", "stage")
        .only(*BOARD_CARD_FIELDS)
        .annotate(open_flags_json=open_flags_json())
    )
    now = timezone.now()
    cards: dict[int, list[Opportunity]] = {s.id: [] for s in stages}
    # days_in_stage, health and flag_badges: for the board's template only.
    for opp in ranked.order_by("stage__order", "close_date", "id"):
        opp.days_in_stage = rules.days_in_stage(stage_entered_at=opp.stage_entered_at, now=now)  # type: ignore[attr-defined]
        opp.health = rules.stage_health(  # type: ignore[attr-defined]
            days=opp.days_in_stage,  # type: ignore[attr-defined]
            warn_days=opp.stage.warn_days,
            rot_days=opp.stage.rot_days,
        )
        opp.flag_badges = flag_badges(opp.open_flags_json)  # type: ignore[attr-defined]
        cards.setdefault(opp.stage_id, []).append(opp)
    return [
        BoardColumn(
            stage=s,
            cards=cards.get(s.id, []),
            count=counts.get(s.id, 0),
            totals=totals.get(s.id) or [CurrencyTotal(default_currency, Decimal("0"))],
        )
        for s in stages
    ]
