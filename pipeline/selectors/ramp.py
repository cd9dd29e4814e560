"""Per-owner aggregates of deals worked here, for a new rep's ramp (read by hiring): their
firsts (deal, qualification, win) and the amounts they won."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Min, Sum

from pipeline.models import Opportunity, OpportunityStatus, Qualification
from salesops.selectors import since_started_q


@dataclass(frozen=True)
class RampFirsts:
    """When a rep first did what a ramp measures (None: not yet)."""

    opportunity: Any = None  # first deal created
    qualified: Any = None  # first qualification scoring at least the threshold
    won: Any = None  # first deal won


def ramp_firsts(owner_ids: list[int], *, qualified_pct: int) -> dict[int, RampFirsts]:
    """Per owner: their first deal, first qualification ≥ `qualified_pct` %, first win —
    on deals worked here (imported history is not their ramp), from their start date on
    (deals they inherited or worked before it are not their ramp either). Three
    aggregate queries."""
    mine = Opportunity.objects.filter(owner_id__in=owner_ids, imported_at__isnull=True)
    created = dict(
        mine.filter(since_started_q("created_at"))
        .values("owner_id").annotate(m=Min("created_at")).values_list("owner_id", "m")
    )  # fmt: skip
    won = dict(
        mine.filter(
            since_started_q("closed_at"), status=OpportunityStatus.WON,
            closed_at__isnull=False,
        )
        .values("owner_id").annotate(m=Min("closed_at")).values_list("owner_id", "m")
    )  # fmt: skip
    qualified = dict(
        Qualification.objects.filter(
            since_started_q("assessed_at", "opportunity__owner"),
            opportunity__owner_id__in=owner_ids, opportunity__imported_at__isnull=True,
            score_pct__gte=qualified_pct,
        )
        .values("opportunity__owner_id").annotate(m=Min("assessed_at"))
        .values_list("opportunity__owner_id", "m")
    )  # fmt: skip
    return {
        pk: RampFirsts(opportunity=created.get(pk), qualified=qualified.get(pk), won=won.get(pk))
        for pk in owner_ids
    }


def won_amounts_by_owner(
    owner_ids: list[int], *, starts_at: Any, ends_before: Any, currency: str
) -> dict[int, Decimal]:
    """Per owner: the amount of their deals won in [starts_at, ends_before) in `currency`
    (other currencies are not added in). One query."""
    return dict(
        Opportunity.objects.filter(
            owner_id__in=owner_ids, status=OpportunityStatus.WON, currency=currency,
            closed_at__gte=starts_at, closed_at__lt=ends_before,
        )
        .values("owner_id").annotate(total=Sum("amount")).values_list("owner_id", "total")
    )  # fmt: skip
