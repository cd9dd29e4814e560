"""The study's decisions, pure (no database): who the top performers are, how big a gap
is and whether it rests on enough data, the sentence that says it, and which gaps become
suggestions for the stage framework."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from insights import stats

RANKINGS = {
    "won_amount": "Won amount",
    "attainment": "Attainment",
    "win_rate": "Win rate",
}

# A gap is ranked only when each group has this many reps with data and the deals behind
# it reach MIN_DEALS; below that it says "not enough data" instead.
MIN_REPS_PER_GROUP = 2
MIN_DEALS = 20


@dataclass(frozen=True)
class RepResult:
    """What ranks a rep: their closed deals and the three measures a leader may rank by."""

    rep_id: int
    name: str
    closed: int
    won_amount: Decimal
    win_rate: float | None
    attainment: float | None


@dataclass(frozen=True)
class TopGroup:
    rank_by: str
    min_closed: int
    top: tuple[int, ...]  # rep ids, best first
    rest: tuple[int, ...]
    too_few: tuple[int, ...]  # reps below min_closed (or without the measure)
    scores: Mapping[int, float]


def top_group(reps: list[RepResult], *, rank_by: str, min_closed: int) -> TopGroup:
    """The top quartile of the ranked reps by `rank_by`; reps with fewer than `min_closed`
    closed deals, or without the measure (no quota for attainment), are not ranked."""
    if rank_by not in RANKINGS:
        raise ValueError(rank_by)
    scores: dict[int, float] = {}
    too_few: list[int] = []
    for rep in reps:
        value = {
            "won_amount": float(rep.won_amount),
            "win_rate": rep.win_rate,
            "attainment": rep.attainment,
        }[rank_by]
        if rep.closed < min_closed or value is None:
            too_few.append(rep.rep_id)
        else:
            scores[rep.rep_id] = value
    top = stats.top_quartile(scores)
    order = sorted(scores, key=lambda pk: (-scores[pk], pk))
    return TopGroup(
        rank_by=rank_by,
        min_closed=min_closed,
        top=tuple(pk for pk in order if pk in top),
        rest=tuple(pk for pk in order if pk not in top),
        too_few=tuple(sorted(too_few)),
        scores=scores,
    )


@dataclass(frozen=True)
class RepMeasure:
    """One rep's measure of a behaviour: the distribution of its per-deal values (value →
    how many), and the deals behind it (see insights.behaviours.RepValue)."""

    histogram: Mapping[float, int]
    deals: int

    @property
    def count(self) -> int:
        return sum(self.histogram.values())


@dataclass(frozen=True)
class Gap:
    key: str
    label: str
    unit: str
    higher_is_better: bool
    top_value: float | None
    rest_value: float | None
    top_reps: int
    rest_reps: int
    deals: int
    effect: stats.EffectSize | None
    enough_data: bool
    top_values: tuple[float, ...]  # each rep's own figure, for the distribution chart
    rest_values: tuple[float, ...]
    # What three in four of the top group's deals reach (their lower quartile): a minimum
    # they already clear, for suggestions.
    top_lower_quartile: float | None = None

    @property
    def difference(self) -> float | None:
        if self.top_value is None or self.rest_value is None:
            return None
        return self.top_value - self.rest_value

    @property
    def distinguishable(self) -> bool:
        """The effect's interval leaves out zero: not explained by noise alone."""
        return bool(self.enough_data and self.effect and self.effect.interval.excludes_zero)

    @property
    def favours_top(self) -> bool:
        """The top group does more of what is better (or less of what is worse)."""
        if self.effect is None or self.effect.estimate == 0:
            return False
        return (self.effect.estimate > 0) == self.higher_is_better

    @property
    def strength(self) -> float:
        """For ranking: the interval's bound nearest zero, so a large effect on little data
        ranks below a clear one."""
        if self.effect is None:
            return 0.0
        low, high = self.effect.interval.low, self.effect.interval.high
        return 0.0 if low <= 0 <= high else min(abs(low), abs(high))

    @property
    def magnitude(self) -> str:
        return stats.magnitude(self.effect.estimate) if self.effect else ""

    @property
    def varies(self) -> bool:
        """Some rep's figure differs from another's: there is something to compare."""
        return len({*self.top_values, *self.rest_values}) > 1


# Units whose figure is a median (skewed: a few deals wait weeks); the others are means.
MEDIAN_UNITS = ("days", "per_month")


def _figure_of(histogram: Mapping[float, int], unit: str) -> float | None:
    if unit in MEDIAN_UNITS:
        return stats.median_of_counts(histogram)
    count = sum(histogram.values())
    return sum(v * n for v, n in histogram.items()) / count if count else None


def _merged(measures: list[RepMeasure]) -> dict[float, int]:
    merged: dict[float, int] = {}
    for m in measures:
        for value, n in m.histogram.items():
            merged[value] = merged.get(value, 0) + n
    return merged


def gap(
    *,
    key: str,
    label: str,
    unit: str,
    higher_is_better: bool,
    per_rep: Mapping[int, RepMeasure],
    group: TopGroup,
) -> Gap:
    """The top group against the rest for one behaviour. The effect is Cliff's delta over
    the groups' deals (for a share it equals the difference of the two shares), so a gap
    on many deals can be told from noise with few reps; each rep's own figure is kept for
    the distribution chart, which shows whether one rep makes the gap. Reps without the
    measure are left out of both sides."""
    top = [per_rep[pk] for pk in group.top if pk in per_rep and per_rep[pk].count]
    rest = [per_rep[pk] for pk in group.rest if pk in per_rep and per_rep[pk].count]
    deals = sum(m.deals for m in top) + sum(m.deals for m in rest)
    top_all, rest_all = _merged(top), _merged(rest)
    enough = len(top) >= MIN_REPS_PER_GROUP and len(rest) >= MIN_REPS_PER_GROUP
    enough = enough and deals >= MIN_DEALS
    return Gap(
        key=key,
        label=label,
        unit=unit,
        higher_is_better=higher_is_better,
        top_value=_figure_of(top_all, unit),
        rest_value=_figure_of(rest_all, unit),
        top_reps=len(top),
        rest_reps=len(rest),
        deals=deals,
        effect=stats.cliffs_delta_counts(top_all, rest_all) if top and rest else None,
        enough_data=enough,
        top_values=tuple(v for m in top if (v := _figure_of(m.histogram, unit)) is not None),
        rest_values=tuple(v for m in rest if (v := _figure_of(m.histogram, unit)) is not None),
        top_lower_quartile=stats.quantile_of_counts(top_all, 0.25),
    )


def ranked(gaps: list[Gap]) -> list[Gap]:
    """Gaps resting on enough data first, the clearest (interval farthest from zero) first,
    then by the size of the effect; gaps without enough data last, by key."""
    return sorted(
        gaps,
        key=lambda g: (
            not g.enough_data,
            -g.strength,
            -abs(g.effect.estimate) if g.effect else 0.0,
            g.key,
        ),
    )


def figure(value: float | None, unit: str) -> str:
    """A behaviour's figure as the page writes it."""
    if value is None:
        return "—"
    if unit == "share":
        return f"{round(value * 100):.0f} %"
    if unit == "score":
        return f"{value:.0f} %"
    if unit == "days":
        return f"{value:.1f} days"
    return f"{value:.1f}"


def sentence(g: Gap) -> str:
    """The gap in one sentence, with the people and deals behind it."""
    counts = f"{g.top_reps} vs {g.rest_reps} reps, {g.deals:,} deals"
    if not g.enough_data:
        return (
            f"Not enough data to compare '{g.label}': {counts} "
            f"(a gap needs {MIN_REPS_PER_GROUP} reps on each side and {MIN_DEALS} deals)."
        )
    top, rest = figure(g.top_value, g.unit), figure(g.rest_value, g.unit)
    text = f"{g.label}: top performers {top}, the rest {rest} — {counts}."
    if g.unit == "share":
        text = f"{g.label}: top performers in {top} of cases, the rest in {rest} — {counts}."
    if not g.distinguishable:
        text += " Not yet distinguishable from noise."
    return text


# --- suggestions ----------------------------------------------------------------------


def suggested_min_score(top_value: float | None, current: int | None) -> int | None:
    """A qualification minimum the top group already clears (pass their lower quartile:
    three in four of their deals reach it) rounded down to a multiple of 5, and only when
    above today's minimum."""
    if top_value is None:
        return None
    proposed = int(math.floor(top_value / 5.0) * 5)
    if proposed <= (current or 0) or proposed <= 0:
        return None
    return min(proposed, 100)


def worth_suggesting(g: Gap) -> bool:
    """Only clear gaps that favour the top group turn into suggestions."""
    return g.distinguishable and g.favours_top
