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
    count: int = 1  # reps with this very figure (drawn as one, labelled "×n")


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
    same: dict[tuple[str, bool], list[float]] = {}
    for v, top in values:  # reps whose figures print the same share one dot
        same.setdefault((rules.figure(v, gap.unit), top), []).append(v)
    dots = [
        Dot(
            x=round(PAD + (vs[0] - low) / span * (WIDTH - 2 * PAD), 1),
            y=20 if top else 44,
            top=top,
            title=(
                f"{'Top performer' if top else 'Rest'}: {shown}"
                + (f" ({len(vs)} reps)" if len(vs) > 1 else "")
            ),
            count=len(vs),
        )
        for (shown, top), vs in same.items()
    ]
    label = (
        f"{gap.label}: each rep's figure; top performers "
        f"{', '.join(rules.figure(v, gap.unit) for v in gap.top_values)}; the rest "
        f"{', '.join(rules.figure(v, gap.unit) for v in gap.rest_values)}."
    )
    return Distribution(
        WIDTH, HEIGHT, dots, rules.figure(low, gap.unit), rules.figure(high, gap.unit), label
    )
