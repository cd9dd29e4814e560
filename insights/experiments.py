"""Did it work? Every change of a stage's exit rules (pipeline.StageRuleChange) is an
experiment: deals that entered the stage before the change against deals that entered it
after, on conversion to a later stage, win rate and sales cycle, with 95 % intervals and
the counts behind them.

The windows are as long on both sides: "after" runs from the change to the stage's next
rule change (or now); "before" is as long, ending at the change, and never reaches back
past the previous rule change of the stage — so each side saw one version of the rules.
A deal counts once per side, at its first entry. Both sides are followed for the same
time after entering (the horizon: half the "after" window, at most FOLLOW_UP): a deal
counts only once it has been in the experiment that long, and what it did later does not
count — otherwise a recent change always looks worse, its deals not having had the time
the older ones had. Entries at or before a deal's import are not real entries and are
left out. One query for every experiment, on the deals' stage stays (insights.facts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone

from insights import facts, stats
from pipeline import selectors as pipeline_selectors

# Fewer deals than this on a side: "too few deals yet" instead of a verdict.
MIN_ENTERED = 20
MIN_CLOSED = 10
LONGEST_WINDOW = dt.timedelta(days=365)
FOLLOW_UP = dt.timedelta(days=90)

_SQL = """
WITH exps AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(stages)s::bigint[], %(starts)s::timestamptz[],
                         %(ats)s::timestamptz[], %(ends)s::timestamptz[],
                         %(horizons)s::interval[])
           AS e(id, stage_id, before_start, at, after_end, horizon)
),
firsts AS (
    SELECT DISTINCT ON (e.id, x.entered_at >= e.at, x.opportunity_id)
           e.id, x.entered_at >= e.at AS after,
           x.outcome = 'advanced' AND x.left_at <= x.entered_at + e.horizon AS advanced,
           CASE WHEN x.closed_at <= x.entered_at + e.horizon THEN x.status END AS status,
           EXTRACT(EPOCH FROM (x.closed_at - x.created_at)) / 86400.0 AS cycle_days
      FROM exps e
      JOIN insights_stagestay x ON x.stage_id = e.stage_id
       AND x.entered_at >= e.before_start AND x.entered_at < e.after_end
       AND x.entered_at + e.horizon <= e.after_end
     WHERE x.owner_id IN (SELECT unnest(%(owners)s::bigint[]))
     ORDER BY e.id, x.entered_at >= e.at, x.opportunity_id, x.entered_at
)
SELECT id, after, count(*), count(*) FILTER (WHERE advanced),
       count(*) FILTER (WHERE status = 'won'),
       count(*) FILTER (WHERE status IN ('won', 'lost')),
       array_agg(cycle_days) FILTER (WHERE status IN ('won', 'lost'))
  FROM firsts
 GROUP BY id, after
"""


@dataclass(frozen=True)
class Side:
    entered: int = 0
    advanced: int = 0
    won: int = 0
    closed: int = 0
    cycles: tuple[float, ...] = ()

    @property
    def conversion(self) -> float | None:
        return self.advanced / self.entered if self.entered else None

    @property
    def win_rate(self) -> float | None:
        return self.won / self.closed if self.closed else None

    @property
    def cycle_median(self) -> float | None:
        return stats.median(self.cycles)

    @property
    def cycle_mean(self) -> float | None:
        return stats.mean(self.cycles)


@dataclass(frozen=True)
class Comparison:
    metric: str  # "conversion", "win_rate", "cycle"
    label: str
    before: float | None
    after: float | None
    before_count: int
    after_count: int
    difference: stats.Difference | None
    verdict: str  # "better", "worse", "noise", "too_few"
    sentence: str


@dataclass(frozen=True)
class Experiment:
    change_id: int
    stage_id: int
    stage: str
    pipeline: str
    version: int
    changed_at: dt.datetime
    changed_by: str
    summary: str
    note: str
    before_start: dt.datetime
    after_end: dt.datetime
    horizon_days: int  # each deal followed this long after entering the stage
    before: Side
    after: Side
    comparisons: tuple[Comparison, ...]

    @property
    def headline(self) -> Comparison:
        return self.comparisons[0]


def _verdict(
    difference: stats.Difference | None, *, enough: bool, lower_is_better: bool = False
) -> str:
    if not enough or difference is None:
        return "too_few"
    if not difference.interval.excludes_zero:
        return "noise"
    improved = difference.estimate < 0 if lower_is_better else difference.estimate > 0
    return "better" if improved else "worse"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} days"


def _say(label: str, verdict: str, before: str, after: str, counts: str) -> str:
    if verdict == "too_few":
        return f"{label}: too few deals yet to tell ({counts})."
    if verdict == "noise":
        return (
            f"{label}: {before} before, {after} after — not yet distinguishable from noise "
            f"({counts})."
        )
    word = "better" if verdict == "better" else "worse"
    return f"{label}: {before} before, {after} after — {word}, beyond noise ({counts})."


def compare(before: Side, after: Side, *, horizon_days: int) -> tuple[Comparison, ...]:
    """The three comparisons of an experiment, each with its verdict in words; both sides
    followed for `horizon_days` after entering the stage."""
    within = f"within {horizon_days} days"
    conversion = stats.proportion_difference(
        after.advanced, after.entered, before.advanced, before.entered
    )
    v = _verdict(conversion, enough=before.entered >= MIN_ENTERED and after.entered >= MIN_ENTERED)
    counts = f"{before.entered} vs {after.entered} deals entered and followed"
    out = [
        Comparison(
            metric="conversion",
            label=f"Conversion to a later stage {within}",
            before=before.conversion,
            after=after.conversion,
            before_count=before.entered,
            after_count=after.entered,
            difference=conversion,
            verdict=v,
            sentence=_say(
                f"Conversion to a later stage {within}",
                v,
                _pct(before.conversion),
                _pct(after.conversion),
                counts,
            ),
        )
    ]
    enough_closed = before.closed >= MIN_CLOSED and after.closed >= MIN_CLOSED
    closed_counts = f"{before.closed} vs {after.closed} deals closed"
    win = stats.proportion_difference(after.won, after.closed, before.won, before.closed)
    v = _verdict(win, enough=enough_closed)
    out.append(
        Comparison(
            metric="win_rate",
            label=f"Win rate of deals closed {within}",
            before=before.win_rate,
            after=after.win_rate,
            before_count=before.closed,
            after_count=after.closed,
            difference=win,
            verdict=v,
            sentence=_say(
                f"Win rate of deals closed {within}",
                v,
                _pct(before.win_rate),
                _pct(after.win_rate),
                closed_counts,
            ),
        )
    )
    cycle = stats.mean_difference(after.cycles, before.cycles)
    v = _verdict(cycle, enough=enough_closed, lower_is_better=True)
    out.append(
        Comparison(
            metric="cycle",
            label=f"Sales cycle (mean) of deals closed {within}",
            before=before.cycle_mean,
            after=after.cycle_mean,
            before_count=before.closed,
            after_count=after.closed,
            difference=cycle,
            verdict=v,
            sentence=_say(
                f"Sales cycle (mean) of deals closed {within}",
                v,
                _days(before.cycle_mean),
                _days(after.cycle_mean),
                closed_counts,
            ),
        )
    )
    return tuple(out)


def experiments(*, owner_ids: tuple[int, ...], now: dt.datetime | None = None) -> list[Experiment]:
    """Every rule change, newest first, measured on the deals of `owner_ids`."""
    now = now or timezone.now()
    changes = pipeline_selectors.stage_rule_change_list()
    if not changes:
        return []
    by_stage: dict[int, list] = {}
    for change in sorted(changes, key=lambda c: (c.changed_at, c.pk)):
        by_stage.setdefault(change.stage_id, []).append(change)
    windows: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    horizons: dict[int, dt.timedelta] = {}
    for stage_changes in by_stage.values():
        for i, change in enumerate(stage_changes):
            following = stage_changes[i + 1].changed_at if i + 1 < len(stage_changes) else now
            after_end = max(change.changed_at, min(following, now))
            length = min(after_end - change.changed_at, LONGEST_WINDOW)
            start = change.changed_at - length
            if i > 0:
                start = max(start, stage_changes[i - 1].changed_at)
            windows[change.pk] = (start, after_end)
            horizons[change.pk] = min(FOLLOW_UP, (after_end - change.changed_at) / 2)
    params: dict[str, Any] = {
        "ids": [c.pk for c in changes],
        "stages": [c.stage_id for c in changes],
        "starts": [windows[c.pk][0] for c in changes],
        "ats": [c.changed_at for c in changes],
        "ends": [windows[c.pk][1] for c in changes],
        "horizons": [horizons[c.pk] for c in changes],
        "owners": list(owner_ids),
    }
    facts.refresh()
    with connection.cursor() as cursor:
        cursor.execute(_SQL, params)
        fetched = cursor.fetchall()
    sides: dict[tuple[int, bool], Side] = {
        (pk, after): Side(
            entered=entered,
            advanced=advanced,
            won=won,
            closed=closed,
            cycles=tuple(float(d) for d in (cycles or ()) if d is not None),
        )
        for pk, after, entered, advanced, won, closed, cycles in fetched
    }
    found = []
    for change in changes:
        before, after = sides.get((change.pk, False), Side()), sides.get((change.pk, True), Side())
        found.append(
            Experiment(
                change_id=change.pk,
                stage_id=change.stage_id,
                stage=change.stage.name,
                pipeline=change.stage.pipeline.name,
                version=change.version,
                changed_at=change.changed_at,
                changed_by=str(change.changed_by) if change.changed_by else "",
                summary=change.summary,
                note=change.note,
                before_start=windows[change.pk][0],
                after_end=windows[change.pk][1],
                horizon_days=horizons[change.pk].days,
                before=before,
                after=after,
                comparisons=compare(before, after, horizon_days=horizons[change.pk].days),
            )
        )
    return found
