"""Pure decisions of structured hiring — no database: where interviewers disagree, which
attributes nobody assessed, the weighted view of a candidate, and the moves a candidate's
stage may make."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# How much each category counts in the weighted view: track record (past numbers) the
# least — years of experience hardly predict performance (domain.md, Hiring).
CATEGORY_WEIGHTS: Mapping[str, int] = {
    "aptitude": 3,
    "attitude": 3,
    "selling_skill": 2,
    "culture_fit": 2,
    "track_record": 1,
}

OPEN_STAGES = ("applied", "screen", "interviews", "offer")
CLOSING_STAGES = ("rejected", "withdrawn")  # with a reason; "hired" only by hiring


def runs_hiring(user: Any) -> bool:
    """Administrators and recruiters run hiring: every template, position and candidate."""
    return bool(user.is_admin_role or user.is_recruiter)


def disagree(ratings: Sequence[int | None]) -> bool:
    """Two or more ratings at least two points apart (e.g. No and Yes, Mixed and Strong
    yes): the interviewers saw different people — talk it through before deciding."""
    given = [r for r in ratings if r is not None]
    return len(given) >= 2 and max(given) - min(given) >= 2


@dataclass(frozen=True)
class AttributeLine:
    attribute_id: int
    name: str
    category: str
    ratings: tuple[int | None, ...]  # one per interviewer column, None: not rated by them

    @property
    def assessed(self) -> bool:
        return any(r is not None for r in self.ratings)

    @property
    def disagreement(self) -> bool:
        return disagree(self.ratings)

    @property
    def mean(self) -> float | None:
        given = [r for r in self.ratings if r is not None]
        return sum(given) / len(given) if given else None


def weighted_mean(lines: Sequence[AttributeLine]) -> float | None:
    """The candidate's ratings on the 1–5 scale, each assessed attribute's mean weighted
    by its category (CATEGORY_WEIGHTS); None when nothing was assessed."""
    total = weight = 0.0
    for line in lines:
        if line.mean is not None:
            w = CATEGORY_WEIGHTS.get(line.category, 1)
            total += w * line.mean
            weight += w
    return total / weight if weight else None


def stage_move_problem(current: str, target: str, reason: str) -> str | None:
    """Why a candidate cannot move from `current` to `target` (with `reason`), or None."""
    if current not in OPEN_STAGES:
        return f"The candidate's process has ended ({current}); it cannot move any more."
    if target == current:
        return f"The candidate is already at {target}."
    if target == "hired":
        return "Hire through the decision, which creates the new rep's account."
    if target in CLOSING_STAGES:
        return None if reason.strip() else "Say why: a reason is required."
    if target not in OPEN_STAGES:
        return f"Unknown stage {target!r}."
    return None


def attribute_means(ratings: Sequence[tuple[int, int, int]]) -> list[tuple[int, float]]:
    """(attribute, order, rating) rows → (attribute, mean rating), lowest mean first; ties
    in the template's order."""
    sums: dict[int, list[int]] = {}
    order: dict[int, int] = {}
    for attribute, position, rating in ratings:
        sums.setdefault(attribute, []).append(rating)
        order[attribute] = position
    means = [(a, sum(r) / len(r)) for a, r in sums.items()]
    return sorted(means, key=lambda m: (m[1], order[m[0]], m[0]))
