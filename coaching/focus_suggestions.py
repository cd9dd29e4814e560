"""Suggested focus skills for a rep's next 1:1, from apps above coaching: hiring registers
one at start-up (a new hire's weakest selling skills on their interview scorecards, for
their first 1:1s). The 1:1 form pre-fills them when it opens for that rep with no focus
chosen, and its side panel offers them with the reason; the manager may change them.
Nothing here imports a model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FocusSuggestion:
    skill_ids: tuple[int, ...]  # at most two: the form's focus and second focus skill
    reason: str  # said next to them: where they come from


Suggester = Callable[[int], FocusSuggestion | None]

_SUGGESTERS: dict[str, Suggester] = {}


def register(name: str, suggester: Suggester) -> None:
    """Add (or replace) a suggester: called with a rep's id, None when it has nothing."""
    _SUGGESTERS[name] = suggester


def suggest(rep_id: int) -> FocusSuggestion | None:
    """The first suggestion a registered suggester has for this rep (in name order)."""
    for name in sorted(_SUGGESTERS):
        if (found := _SUGGESTERS[name](rep_id)) is not None and found.skill_ids:
            return FocusSuggestion(found.skill_ids[:2], found.reason)
    return None
