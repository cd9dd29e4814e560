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


RAMP_MILESTONES = ("opportunity", "qualified", "proposal", "won")
RAMP_LABELS = {
    "opportunity": "First opportunity",
    "qualified": "First qualification ≥ 60 %",
    "proposal": "First approved proposal",
    "won": "First win",
}


def days_since(start: Any, moment: Any) -> int | None:
    """Whole days from a start date to a moment's date (None: not yet; never negative —
    something done before the start, e.g. an internal move, counts as day 0)."""
    if moment is None:
        return None
    day = moment.date() if hasattr(moment, "date") else moment
    return max((day - start).days, 0)


def median(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation (Pearson's on the ranks, so ties are handled); None
    with fewer than 3 pairs or when either side does not vary."""
    if len(xs) != len(ys) or len(xs) < 3:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        return None
    return sxy / (sxx * syy) ** 0.5


# How an onboarding template's tasks are grouped on its page: (label, first day, last day).
ONBOARDING_PERIODS: tuple[tuple[str, int, int | None], ...] = (
    ("First 30 days", 0, 30),
    ("Days 31–60", 31, 60),
    ("Days 61–90", 61, 90),
    ("Later", 91, None),
)
