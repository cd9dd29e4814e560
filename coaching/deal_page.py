"""The "Coaching review" card on a deal's page (registered with pipeline.providers)."""

from __future__ import annotations

from typing import Any

from coaching import selectors, services
from pipeline.models import OpportunityStatus


def reviews_card_context(user: Any, opp: Any) -> dict[str, Any]:
    """The deal's reviews the user may see (one query) and whether they may start one (a
    manager of the owner; the service decides)."""
    reviews = selectors.reviews_of_opportunity(user, opp.pk)
    return {
        "coaching_reviews": reviews,
        "review_open": next((r for r in reviews if r.is_open), None),
        "review_can_start": opp.status == OpportunityStatus.OPEN
        and user.pk != opp.owner_id
        and services.can_start_review(user),
    }
