"""What each rep does, measured per rep from the data Salesops holds — the behaviours the
study compares between the top performers and the rest.

The deals behind the behaviours are each rep's deals closed (won or lost) in the scope's
range whose journey happened in Salesops: a deal imported from a CRM export has no known
stage history, milestones or qualifications before its import, so it is left out here
(it counts fully in the results). A rep with no such deal has no value — "not enough
data", never a zero.

The figures come summed from each deal's facts (insights.facts, kept up to date as deals
close and change); Python only assembles them into each rep's histograms. 1:1s and reviews
received are read per rep from the coaching app."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from coaching import selectors as coaching_selectors
from insights import facts, stats
from insights.scope import Scope
from pipeline import selectors as pipeline_selectors
from pipeline.models import ActivityKind


@dataclass
class RepValue:
    """One rep's measure of a behaviour, as the distribution of its per-deal values
    (value → how many deals, exits or proposals had it; a share's values are 1 and 0),
    and the deals it rests on. A behaviour measured per rep (1:1s per month) has one
    value."""

    histogram: dict[float, int] = field(default_factory=dict)
    deals: int = 0

    def add(self, value: float, count: int, deals: int) -> None:
        self.histogram[float(value)] = self.histogram.get(float(value), 0) + count
        self.deals += deals

    @property
    def count(self) -> int:
        return sum(self.histogram.values())

    @property
    def total(self) -> float:
        return sum(v * n for v, n in self.histogram.items())

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def median(self) -> float | None:
        return stats.median_of_counts(self.histogram)


@dataclass
class Behaviour:
    key: str  # stable: "advances_met", "milestone:12", "score:5", "element:5:3", …
    label: str  # what it measures, in words
    unit: str  # "share", "score", "level", "count", "days", "per_month"
    higher_is_better: bool = True
    stage_id: int | None = None
    stage: str = ""
    milestone_id: int | None = None
    milestone_required: bool | None = None
    element_id: int | None = None
    per_rep: dict[int, RepValue] = field(default_factory=dict)

    def rep(self, owner: int) -> RepValue:
        return self.per_rep.setdefault(owner, RepValue())


def behaviours(scope: Scope) -> list[Behaviour]:
    """Every behaviour measured for each rep of the scope (reps without the data are absent
    from a behaviour's `per_rep`)."""
    rows = facts.summed(list(scope.owner_ids), scope.starts_at, scope.ends_before)
    by_family: dict[str, list[tuple]] = defaultdict(list)
    for owner, key, value, n, deals in rows:
        family, _, ref = key.partition(":")
        by_family[family].append((owner, ref, value, n, deals))
    found: list[Behaviour] = []

    advances = Behaviour(
        key="advances_met",
        label="Advances with every required milestone met (no override)",
        unit="share",
    )
    for owner, _, value, n, deals in by_family["advances_met"]:
        advances.rep(owner).add(value, n, deals)
    found.append(advances)
    found.extend(_stage_behaviours(by_family))

    deals_per_rep: dict[int, int] = defaultdict(int)
    first = Behaviour(
        key="first_activity_days",
        label="Days from creating a deal to the first customer activity",
        unit="days",
        higher_is_better=False,
    )
    for owner, _, days, n, deals in by_family["first_activity_days"]:
        first.rep(owner).add(days, n, deals)
        deals_per_rep[owner] += deals

    kinds: dict[str, Behaviour] = {
        kind: Behaviour(key=f"activities:{kind}", label=f"{label}s per deal", unit="count")
        for kind, label in ActivityKind.choices
    }
    for owner, kind, count, n, deals in by_family["activities"]:
        if kind in kinds:
            kinds[kind].rep(owner).add(count, n, deals)
    for b in kinds.values():  # deals without an activity of the kind had 0 of it
        for owner, deals in deals_per_rep.items():
            rest = deals - b.rep(owner).count
            b.rep(owner).add(0, rest, rest)
    found.extend(kinds.values())
    found.append(first)

    passed = Behaviour(
        key="summary_first_pass",
        label="Proposals whose executive summary passed review on first submission",
        unit="share",
    )
    for owner, _, value, n, deals in by_family["summary_first_pass"]:
        passed.rep(owner).add(value, n, deals)
    found.append(passed)

    found.extend(_coaching(scope, deals_per_rep))
    return found


def _stage_behaviours(by_family: dict[str, list[tuple]]) -> list[Behaviour]:
    """Milestones done before leaving each stage, the qualification at each gate, and the
    customer activities in each stage."""
    exits: dict[tuple[int, int], tuple[int, int]] = {}  # (owner, stage) → exits, deals
    for owner, stage, _, n, deals in by_family["stage_exits"]:
        exits[owner, int(stage)] = (n, deals)
    met: dict[tuple[int, int], int] = {}  # (owner, milestone) → exits with it done
    for owner, milestone, _, n, _ in by_family["milestone_met"]:
        met[owner, int(milestone)] = n
    milestones = pipeline_selectors.manual_milestones_of(list({s for _, s in exits}))
    elements = [(o, ref.split(":"), v, n, d) for o, ref, v, n, d in by_family["element"]]
    stage_ids = {s for _, s in exits} | {int(r[1]) for r in by_family["score"]}
    stage_ids |= {int(r[1]) for r in by_family["stage_activities"]}
    stage_ids |= {int(parts[0]) for _, parts, *_ in elements}
    stages = pipeline_selectors.stage_labels(list(stage_ids))
    # Facts of a stage deleted since are not shown (its deals have moved on).
    exits = {k: v for k, v in exits.items() if k[1] in stages}
    score_rows = [r for r in by_family["score"] if int(r[1]) in stages]
    stay_rows = [r for r in by_family["stage_activities"] if int(r[1]) in stages]
    elements = [r for r in elements if int(r[1][0]) in stages]
    names = pipeline_selectors.element_names(list({int(parts[1]) for _, parts, *_ in elements}))
    by_key: dict[str, Behaviour] = {}

    def behaviour(key: str, stage_id: int, label: str, unit: str, **extra: Any) -> Behaviour:
        if key not in by_key:
            by_key[key] = Behaviour(
                key=key,
                label=label,
                unit=unit,
                stage_id=stage_id,
                stage=stages[stage_id].name,
                **extra,
            )
        return by_key[key]

    per_stage: dict[int, list[int]] = defaultdict(list)
    for milestone_id, m in sorted(milestones.items()):
        per_stage[m.stage_id].append(milestone_id)
    for (owner, stage_id), (total, deals) in sorted(exits.items()):
        for milestone_id in per_stage.get(stage_id, []):
            m = milestones[milestone_id]
            b = behaviour(
                f"milestone:{milestone_id}",
                stage_id,
                f"'{m.title}' done before leaving {stages[stage_id].name}",
                "share",
                milestone_id=milestone_id,
                milestone_required=m.required,
            )
            done = met.get((owner, milestone_id), 0)
            b.rep(owner).add(1, done, deals)
            b.rep(owner).add(0, total - done, 0)
    for owner, stage, score, n, deals in score_rows:
        stage_id = int(stage)
        b = behaviour(
            f"score:{stage_id}",
            stage_id,
            f"Qualification score when leaving {stages[stage_id].name}",
            "score",
        )
        b.rep(owner).add(score, n, deals)
    for owner, (stage, element), level, n, deals in elements:
        stage_id, element_id = int(stage), int(element)
        b = behaviour(
            f"element:{stage_id}:{element_id}",
            stage_id,
            f"{names.get(element_id, '?')} level when leaving {stages[stage_id].name}",
            "level",
            element_id=element_id,
        )
        b.rep(owner).add(level, n, deals)
    for owner, stage, count, n, deals in stay_rows:
        stage_id = int(stage)
        b = behaviour(
            f"stage_activities:{stage_id}",
            stage_id,
            f"Customer activities per deal in {stages[stage_id].name}",
            "count",
        )
        b.rep(owner).add(count, n, deals)
    return list(by_key.values())


def _coaching(scope: Scope, deals_per_rep: dict[int, int]) -> list[Behaviour]:
    """1:1s and opportunity reviews received per month of the range, for reps with deals:
    measured per rep (one value each), not per deal."""
    received = coaching_selectors.coaching_received(
        list(deals_per_rep), start=scope.start, end=scope.end
    )
    sessions = Behaviour(key="one_on_ones", label="1:1s received per month", unit="per_month")
    reviews = Behaviour(
        key="reviews", label="Opportunity reviews received per month", unit="per_month"
    )
    for owner, deals in deals_per_rep.items():
        got_sessions, got_reviews = received.get(owner, (0, 0))
        sessions.rep(owner).add(round(got_sessions / scope.months, 2), 1, deals)
        reviews.rep(owner).add(round(got_reviews / scope.months, 2), 1, deals)
    return [sessions, reviews]
