"""Server-drawn charts of the insights page (SVG in the template; no JavaScript, no CDN):
each behaviour's distribution over the reps, the top performers highlighted."""

from __future__ import annotations

from dataclasses import dataclass

from insights import rules

WIDTH, HEIGHT, PAD = 320, 64, 24


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    top: bool
    title: str


@dataclass(frozen=True)
class Distribution:
    width: int
    height: int
    dots: list[Dot]
    low: str
    high: str
    label: str  # for aria-label


def distribution(gap: rules.Gap) -> Distribution:
    """One dot per rep on a horizontal axis from the lowest to the highest rep figure, the
    top group's dots on the upper row. A dot's title gives its group and figure, not the
    person: the chart shows the spread, the results table names people."""
    values = [(v, True) for v in gap.top_values] + [(v, False) for v in gap.rest_values]
    if not values:
        return Distribution(WIDTH, HEIGHT, [], "", "", f"No rep has data for {gap.label}.")
    low, high = min(v for v, _ in values), max(v for v, _ in values)
    span = (high - low) or 1.0
    dots = [
        Dot(
            x=round(PAD + (v - low) / span * (WIDTH - 2 * PAD), 1),
            y=20 if top else 44,
            top=top,
            title=f"{'Top performer' if top else 'Rest'}: {rules.figure(v, gap.unit)}",
        )
        for v, top in values
    ]
    label = (
        f"{gap.label}: each rep's figure; top performers "
        f"{', '.join(rules.figure(v, gap.unit) for v in gap.top_values)}; the rest "
        f"{', '.join(rules.figure(v, gap.unit) for v in gap.rest_values)}."
    )
    return Distribution(
        WIDTH, HEIGHT, dots, rules.figure(low, gap.unit), rules.figure(high, gap.unit), label
    )
