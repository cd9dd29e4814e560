"""The proposals card on a deal's page (registered with pipeline.providers)."""

from __future__ import annotations

from typing import Any

from pipeline.models import OpportunityStatus
from proposals import selectors
from proposals.models import IN_PROGRESS_STATUSES


def proposals_card_context(user: Any, opp: Any) -> dict[str, Any]:
    """The deal's proposals (one query), the one in progress, and whether the user may
    start one: the owner, one at a time (the service decides; this hides the button)."""
    proposals = list(selectors.proposals_of_opportunity(opp.pk))
    in_progress = next((p for p in proposals if p.status in IN_PROGRESS_STATUSES), None)
    return {
        "proposals": proposals,
        "proposal_in_progress": in_progress,
        "proposal_can_start": opp.status == OpportunityStatus.OPEN
        and user.pk == opp.owner_id
        and in_progress is None,
    }
