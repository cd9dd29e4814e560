"""What each rep does, measured per rep from the data Salesops holds — the behaviours the
study compares between the top performers and the rest.

The deals behind the behaviours are each rep's deals closed (won or lost) in the scope's
range whose journey happened in Salesops: a deal imported from a CRM export has no known
stage history, milestones or qualifications before its import, so it is left out here
(it counts fully in the results). A rep with no such deal has no value — "not enough
data", never a zero.

Every query is one SQL statement that aggregates per rep (and per stage, milestone or
element where the behaviour has one); Python only assembles the rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from coaching import selectors as coaching_selectors
from insights import stats
from insights.scope import Scope
from pipeline import selectors as pipeline_selectors
from pipeline.models import ActivityKind
from proposals import selectors as proposal_selectors

# The cohort: deals closed in the range, worked in Salesops (not imported). The owners are
# a semi-join (not `= ANY(array)`): for a whole company's few hundred owners the planner
# then hashes them beside a sequential scan instead of reading the deals through the owner
# index one owner at a time (2–3 s at 1M deals, bench/README.md).
COHORT_SQL = """
SELECT o.id, o.owner_id, o.pipeline_id, o.created_at, o.closed_at
  FROM pipeline_opportunity o
 WHERE o.owner_id IN (SELECT unnest(%(owners)s::bigint[]))
   AND o.status IN ('won', 'lost')
   AND o.closed_at >= %(start)s AND o.closed_at < %(end)s
   AND o.imported_at IS NULL
"""

# How the exit-based queries below are shaped, and why (measured at 1M deals,
# bench/README.md): the planner cannot estimate how many history rows are forward exits
# (the history's value columns mix stages with amounts and dates), so it expects a few
# hundred where a company has millions and would probe the large tables through their
# indexes once per exit. The cohort, the exits and the large inputs matched to them are
# therefore MATERIALIZED (read once, hashed); parts whose size cannot be estimated are
# summed with UNION ALL, never joined to each other; and distinct deals are counted without
# expanding every exit across every milestone or element. (For a team's few deals the
# completions are then read whole — about 1 s more for the milestones at 1M deals.)

# Forward exits of open stages: a move to a later open stage or to won.
EXITS_SQL = """
SELECT c.id, c.opportunity_id, k.owner_id, k.pipeline_id,
       NULLIF(c.old_value, '')::bigint AS from_stage, c.changed_at, c.override_reason
  FROM pipeline_opportunitychange c
  JOIN cohort k ON k.id = c.opportunity_id
  JOIN pipeline_stage fs ON fs.id = NULLIF(c.old_value, '')::bigint
  JOIN pipeline_stage ts ON ts.id = NULLIF(c.new_value, '')::bigint
 WHERE c.field = 'stage' AND c.old_value <> ''
   AND NOT fs.is_won AND NOT fs.is_lost
   AND (ts.is_won OR (NOT ts.is_lost AND ts."order" > fs."order"))
"""

_WITH_EXITS = f"WITH cohort AS MATERIALIZED ({COHORT_SQL}), exits AS MATERIALIZED ({EXITS_SQL})"

_ADVANCES_SQL = f"""
{_WITH_EXITS},
per_deal AS (
    SELECT owner_id, opportunity_id, count(*) FILTER (WHERE override_reason = '') AS met,
           count(*) AS n
      FROM exits GROUP BY owner_id, opportunity_id
)
SELECT owner_id, sum(met)::bigint, sum(n)::bigint, count(*) FROM per_deal GROUP BY owner_id
"""

# Per rep and milestone: exits of the milestone's stage, and those with it completed first.
# Milestones the system checks itself (auto_check) have no completions to time: left out.
# Every milestone of the stage counts every exit of it (and its deals); only "completed
# first" needs the completions: those of the cohort's deals, matched to the exits of their
# milestone's stage on the same deal (a completion is unique per deal and milestone). The
# two parts are summed per rep and milestone (a UNION, not a join: neither side's size can
# be estimated).
_MILESTONES_SQL = f"""
{_WITH_EXITS},
done AS MATERIALIZED (
    SELECT mc.opportunity_id, mc.milestone_id, m.stage_id, mc.completed_at
      FROM pipeline_milestonecompletion mc
      JOIN cohort k ON k.id = mc.opportunity_id
      JOIN pipeline_milestone m ON m.id = mc.milestone_id AND m.auto_check = ''
),
parts AS (
    SELECT p.owner_id, m.id AS milestone_id, 0 AS met, p.n, p.deals
      FROM (SELECT owner_id, from_stage, count(*) AS n, count(DISTINCT opportunity_id) AS deals
              FROM exits GROUP BY owner_id, from_stage) p
      JOIN pipeline_milestone m ON m.stage_id = p.from_stage AND m.auto_check = ''
    UNION ALL
    SELECT x.owner_id, d.milestone_id, count(*), 0, 0
      FROM exits x
      JOIN done d ON d.opportunity_id = x.opportunity_id AND d.stage_id = x.from_stage
                 AND d.completed_at <= x.changed_at
     GROUP BY x.owner_id, d.milestone_id
)
SELECT owner_id, milestone_id, sum(met)::bigint, sum(n)::bigint, sum(deals)::bigint
  FROM parts GROUP BY owner_id, milestone_id
"""

# The qualification valid at each exit (the latest assessed by then, not voided by then),
# for deals of a pipeline with a framework: the cohort's qualifications matched to its
# exits on the same deal, the latest kept per exit (none: no qualification, score 0). Each
# gate also knows how many gates its deal had at that stage (`gates`; nearly always 1, so
# distinct deals are counted per deal only for the few with more).
_GATE_QUALIFICATION_SQL = f"""
{_WITH_EXITS},
quals AS MATERIALIZED (
    SELECT q.id, q.opportunity_id, q.assessed_at, q.invalidated_at, q.score_pct
      FROM pipeline_qualification q JOIN cohort k ON k.id = q.opportunity_id
),
gated AS MATERIALIZED (
    SELECT g.*, count(*) OVER (PARTITION BY g.opportunity_id, g.from_stage) AS gates,
           row_number() OVER (PARTITION BY g.opportunity_id, g.from_stage ORDER BY g.exit_id)
               AS nth
      FROM (
        SELECT DISTINCT ON (x.opportunity_id, x.from_stage, x.id)
               x.owner_id, x.from_stage, x.opportunity_id, x.id AS exit_id, p.framework_id,
               q.id AS qualification_id, coalesce(q.score_pct, 0) AS score
          FROM exits x
          JOIN pipeline_pipeline p ON p.id = x.pipeline_id AND p.framework_id IS NOT NULL
          LEFT JOIN quals q
            ON q.opportunity_id = x.opportunity_id AND q.assessed_at <= x.changed_at
           AND (q.invalidated_at IS NULL OR q.invalidated_at > x.changed_at)
         ORDER BY x.opportunity_id, x.from_stage, x.id, q.assessed_at DESC, q.id DESC
      ) g
)
"""

_SCORES_SQL = (
    _GATE_QUALIFICATION_SQL
    + """,
parts AS (
    SELECT owner_id, from_stage, round(score)::int AS score, count(*) AS n, count(*) AS deals
      FROM gated WHERE gates = 1 GROUP BY owner_id, from_stage, round(score)::int
    UNION ALL
    SELECT owner_id, from_stage, score, sum(n), count(*)
      FROM (SELECT owner_id, from_stage, opportunity_id, round(score)::int AS score,
                   count(*) AS n
              FROM gated WHERE gates > 1
             GROUP BY owner_id, from_stage, opportunity_id, round(score)::int) d
     GROUP BY owner_id, from_stage, score
)
SELECT owner_id, from_stage, score, sum(n)::bigint, sum(deals)::bigint
  FROM parts GROUP BY owner_id, from_stage, score
"""
)

# Element levels at each gate: an element the qualification did not score counts as 0.
# Levels 1–3 come from the scores of the gates' qualifications (elements of the deal's
# framework); level 0 is every other gate: a stage's gates less those where the element
# scored above 0, its deals less those whose every gate of the stage scored it above 0.
_ELEMENTS_SQL = (
    _GATE_QUALIFICATION_SQL
    + """,
scored AS MATERIALIZED (
    SELECT g.owner_id, g.from_stage, g.opportunity_id, g.gates, s.element_id, s.score
      FROM gated g
      JOIN pipeline_qualificationscore s ON s.qualification_id = g.qualification_id
      JOIN pipeline_qualificationelement e
        ON e.id = s.element_id AND e.framework_id = g.framework_id
     WHERE s.score > 0
),
multi AS (
    SELECT owner_id, from_stage, opportunity_id, element_id, score, max(gates) AS gates,
           count(*) AS n
      FROM scored WHERE gates > 1
     GROUP BY owner_id, from_stage, opportunity_id, element_id, score
),
parts AS (
    -- levels 1-3: gates, deals
    SELECT owner_id, from_stage, element_id, score, count(*) AS n, count(*) AS deals
      FROM scored WHERE gates = 1 GROUP BY owner_id, from_stage, element_id, score
    UNION ALL
    SELECT owner_id, from_stage, element_id, score, sum(n), count(*)
      FROM multi GROUP BY owner_id, from_stage, element_id, score
    UNION ALL
    -- level 0: every gate and deal of the stage, for each element of the framework…
    SELECT t.owner_id, t.from_stage, e.id, 0, t.n, t.deals
      FROM (SELECT owner_id, from_stage, framework_id, count(*) AS n,
                   count(*) FILTER (WHERE nth = 1) AS deals
              FROM gated GROUP BY owner_id, from_stage, framework_id) t
      JOIN pipeline_qualificationelement e ON e.framework_id = t.framework_id
    UNION ALL
    -- … less the gates above 0, and the deals whose every gate was above 0
    SELECT owner_id, from_stage, element_id, 0, -count(*), -count(*)
      FROM scored WHERE gates = 1 GROUP BY owner_id, from_stage, element_id
    UNION ALL
    SELECT owner_id, from_stage, element_id, 0, -sum(n), -count(*) FILTER (WHERE n = gates)
      FROM (SELECT owner_id, from_stage, opportunity_id, element_id, max(gates) AS gates,
                   sum(n) AS n
              FROM multi GROUP BY owner_id, from_stage, opportunity_id, element_id) d
     GROUP BY owner_id, from_stage, element_id
)
SELECT owner_id, from_stage, element_id, score, sum(n)::bigint, sum(deals)::bigint
  FROM parts GROUP BY owner_id, from_stage, element_id, score HAVING sum(n) > 0
"""
)

# Per rep, kind and number of activities of that kind on a deal: how many deals.
_ACTIVITIES_SQL = f"""
WITH cohort AS ({COHORT_SQL}),
per_deal AS (
    SELECT k.owner_id, a.opportunity_id, a.kind, count(*) AS n
      FROM pipeline_activity a JOIN cohort k ON k.id = a.opportunity_id
     GROUP BY k.owner_id, a.opportunity_id, a.kind
)
SELECT owner_id, kind, n, count(*) FROM per_deal GROUP BY owner_id, kind, n
"""

_DEALS_SQL = f"""
WITH cohort AS ({COHORT_SQL}),
first AS (
    SELECT k.id, k.owner_id,
           EXTRACT(EPOCH FROM (coalesce(
               (SELECT min(a.occurred_at) FROM pipeline_activity a
                 WHERE a.opportunity_id = k.id AND a.kind IN ('call', 'meeting', 'email')),
               k.closed_at) - k.created_at)) / 86400.0 AS days
      FROM cohort k
)
SELECT owner_id, round(greatest(days, 0))::int, count(*) FROM first
 GROUP BY owner_id, round(greatest(days, 0))::int
"""

# Activities logged while the deal was in each open stage, per deal that entered it.
_STAGE_ACTIVITIES_SQL = f"""
WITH cohort AS ({COHORT_SQL}),
entries AS (
    SELECT c.opportunity_id, k.owner_id, NULLIF(c.new_value, '')::bigint AS stage_id,
           c.changed_at AS entered_at,
           LEAD(c.changed_at) OVER (PARTITION BY c.opportunity_id ORDER BY c.changed_at, c.id)
               AS left_at
      FROM pipeline_opportunitychange c JOIN cohort k ON k.id = c.opportunity_id
     WHERE c.field = 'stage'
),
per_entry AS (
    SELECT e.owner_id, e.stage_id, e.opportunity_id, e.entered_at, count(a.id) AS n
      FROM entries e
      JOIN pipeline_stage s ON s.id = e.stage_id AND NOT s.is_won AND NOT s.is_lost
      LEFT JOIN pipeline_activity a
        ON a.opportunity_id = e.opportunity_id AND a.kind IN ('call', 'meeting', 'email')
       AND a.occurred_at >= e.entered_at AND (e.left_at IS NULL OR a.occurred_at < e.left_at)
     GROUP BY e.owner_id, e.stage_id, e.opportunity_id, e.entered_at
)
SELECT owner_id, stage_id, n, count(*), count(DISTINCT opportunity_id)
  FROM per_entry GROUP BY owner_id, stage_id, n
"""


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


def _fetch(sql: str, params: dict[str, Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _shares(behaviour: Behaviour, owner: int, met: int, total: int, deals: int) -> None:
    behaviour.rep(owner).add(1, met, deals)
    behaviour.rep(owner).add(0, total - met, 0)


def behaviours(scope: Scope) -> list[Behaviour]:
    """Every behaviour measured for each rep of the scope (reps without the data are absent
    from a behaviour's `per_rep`)."""
    params = {"owners": list(scope.owner_ids), "start": scope.starts_at, "end": scope.ends_before}
    found: list[Behaviour] = []

    advances = Behaviour(
        key="advances_met",
        label="Advances with every required milestone met (no override)",
        unit="share",
    )
    for owner, met, total, deals in _fetch(_ADVANCES_SQL, params):
        _shares(advances, owner, met, total, deals)
    found.append(advances)
    found.extend(_stage_behaviours(params))

    deals_per_rep: dict[int, int] = {}
    first = Behaviour(
        key="first_activity_days",
        label="Days from creating a deal to the first customer activity",
        unit="days",
        higher_is_better=False,
    )
    for owner, days, deals in _fetch(_DEALS_SQL, params):
        first.rep(owner).add(days, deals, deals)
        deals_per_rep[owner] = deals_per_rep.get(owner, 0) + deals

    kinds: dict[str, Behaviour] = {
        kind: Behaviour(key=f"activities:{kind}", label=f"{label}s per deal", unit="count")
        for kind, label in ActivityKind.choices
    }
    for owner, kind, n, deals in _fetch(_ACTIVITIES_SQL, params):
        if kind in kinds:
            kinds[kind].rep(owner).add(n, deals, deals)
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
    for owner, (ok, reviewed, deals) in proposal_selectors.first_pass_by_owner(
        cohort_sql=COHORT_SQL, params=params
    ).items():
        _shares(passed, owner, ok, reviewed, deals)
    found.append(passed)

    found.extend(_coaching(scope, deals_per_rep))
    return found


def _stage_behaviours(params: dict[str, Any]) -> list[Behaviour]:
    """Milestones done before leaving each stage, the qualification at each gate, and the
    customer activities in each stage."""
    milestone_rows = _fetch(_MILESTONES_SQL, params)
    score_rows = _fetch(_SCORES_SQL, params)
    element_rows = _fetch(_ELEMENTS_SQL, params)
    stage_activity_rows = _fetch(_STAGE_ACTIVITIES_SQL, params)
    milestones = pipeline_selectors.milestone_labels([r[1] for r in milestone_rows])
    stage_ids = {r[1] for r in score_rows} | {r[1] for r in stage_activity_rows}
    stage_ids |= {m.stage_id for m in milestones.values()}
    stages = pipeline_selectors.stage_labels(list(stage_ids))
    elements = pipeline_selectors.element_names([r[2] for r in element_rows])
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

    for owner, milestone_id, met, total, deals in milestone_rows:
        m = milestones.get(milestone_id)
        if m is None:
            continue
        b = behaviour(
            f"milestone:{milestone_id}",
            m.stage_id,
            f"'{m.title}' done before leaving {stages[m.stage_id].name}",
            "share",
            milestone_id=milestone_id,
            milestone_required=m.required,
        )
        _shares(b, owner, met, total, deals)
    for owner, stage_id, score, count, deals in score_rows:
        b = behaviour(
            f"score:{stage_id}",
            stage_id,
            f"Qualification score when leaving {stages[stage_id].name}",
            "score",
        )
        b.rep(owner).add(score, count, deals)
    for owner, stage_id, element_id, level, count, deals in element_rows:
        b = behaviour(
            f"element:{stage_id}:{element_id}",
            stage_id,
            f"{elements.get(element_id, '?')} level when leaving {stages[stage_id].name}",
            "level",
            element_id=element_id,
        )
        b.rep(owner).add(level, count, deals)
    for owner, stage_id, n, count, deals in stage_activity_rows:
        b = behaviour(
            f"stage_activities:{stage_id}",
            stage_id,
            f"Customer activities per deal in {stages[stage_id].name}",
            "count",
        )
        b.rep(owner).add(n, count, deals)
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
