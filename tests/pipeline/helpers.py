"""Assertions shared by the flag tests."""

from __future__ import annotations

from salesops.models import Notification


def flags_announced(notes: list[Notification]) -> int:
    """How many raised flags the flag notifications announce: "Kind: deal" is one, "N new
    attention flags on your deals" is N."""
    total = 0
    for note in notes:
        assert note.dedupe_key.startswith("flags:"), note.dedupe_key
        head = note.title.split(" ", 1)[0]
        total += int(head) if note.title.endswith(" new attention flags on your deals") else 1
    return total
