"""What the apps above the pipeline tell it, registered in their `AppConfig.ready`, so
that the pipeline imports none of them (the order of the apps is salesops ← pipeline ←
proposals, coaching, forecasting, hiring, insights ← demo; see docs/architecture.md).

- `approved_proposals(opportunity_id)`: how many of a deal's proposals were approved —
  the gate's automatic "proposal approved" check (registered by proposals).
- `review_queue(user)`: the proposals waiting for `user`'s review, as a subquery of keys
  for the navbar's count (registered by proposals).
- `deal_sections(user, opp)`: the cards other apps add to a deal's page — each a template
  and its context, in their registered order (proposals, coaching).

With nothing registered (the pipeline alone) a deal has no approved proposal, nobody has
a review waiting and a deal's page has no extra card.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from salesops.models import User


@dataclass(frozen=True)
class DealSection:
    """A card on a deal's page: `template`, included with the page's context plus what
    `context(user, opp)` returns; sections are shown by ascending `order`."""

    order: int
    template: str
    context: Callable[[Any, Any], dict[str, Any]]


_approved_proposals: Callable[[int], int] | None = None
_review_queue: Callable[[Any], QuerySet] | None = None
_deal_sections: dict[str, DealSection] = {}


def register_approved_proposals(count: Callable[[int], int]) -> None:
    global _approved_proposals
    _approved_proposals = count


def register_review_queue(queue: Callable[[Any], QuerySet]) -> None:
    global _review_queue
    _review_queue = queue


def register_deal_section(section: DealSection) -> None:
    _deal_sections[section.template] = section  # registering again replaces it


def approved_proposals(opportunity_id: int) -> int:
    return _approved_proposals(opportunity_id) if _approved_proposals else 0


def review_queue(user: Any) -> QuerySet:
    if _review_queue is None:
        return User.objects.none().values("pk")
    return _review_queue(user)


def deal_sections(user: Any, opp: Any) -> tuple[list[str], dict[str, Any]]:
    """The extra cards of `opp`'s page for `user`: their templates in order, and the
    context they read (one dict: each section's keys are its own)."""
    templates: list[str] = []
    context: dict[str, Any] = {}
    for section in sorted(_deal_sections.values(), key=lambda s: s.order):
        templates.append(section.template)
        context.update(section.context(user, opp))
    return templates, context
