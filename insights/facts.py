"""Per-deal behaviour facts: what each closed deal's journey showed, computed once when the
deal closes (or when anything it was drawn from changes), so that a study reads a few
million pre-summed rows instead of re-deriving a year of journeys from the raw history.

A fact is (deal, key, value, n, deals): `n` exits, gates, stays or proposals of the deal had
`value` for the behaviour `key`, and `deals` (0 or 1) says whether the deal counts among
the deals behind that value. Facts add up: a rep's histogram for a behaviour is the sum of
their deals' facts, which is what `MonthFact` keeps per month of closing (UTC) and owner.

Keys (the behaviours module turns them into behaviours):
  advances_met               value 1: exits with every required milestone met (n), 0: overridden
  stage_exits:<stage>        the deal's exits of the stage (n); for the milestones of the stage
  milestone_met:<milestone>  exits of its stage with the milestone completed by then (n)
  score:<stage>              qualification score (rounded) valid at each exit of the stage
  element:<stage>:<element>  that element's level at each exit (0 when not scored)
  stage_activities:<stage>   customer activities during each stay in the stage
  activities:<kind>          activities of the kind on the deal (kinds with none: no fact)
  first_activity_days        days from creating the deal to its first customer activity
  summary_first_pass         value 1: proposals approved at their first review, 0: the others

Milestones are stored by completion, not against the stage's milestone list, so adding or
removing a milestone (an accepted suggestion) needs no recomputation: each current
milestone of a stage is measured against that stage's exits when read.

Beside the facts of closed deals, every deal's stays in open stages (`StageStay`: entered,
next stage, days) for the results' stage flow.

The queue (`StaleDeal`) is filled by database triggers (insights migration 0004) on every
table read here; `refresh` empties it in batches, replacing the queued deals' facts and
stays and correcting the monthly sums in the same transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from proposals import selectors as proposal_selectors

# One refresh at a time (a concurrent one would subtract the same old facts twice).
_LOCK = 0x1A51_F4C7

BATCH = 20_000

_CLOSED = "o.status IN ('won', 'lost') AND o.closed_at IS NOT NULL AND o.imported_at IS NULL"

# The deals whose facts are computed: queued ones (`ids`) or, for a rebuild, all.
_COHORT = f"""
SELECT o.id, o.owner_id, o.pipeline_id, o.created_at, o.closed_at
  FROM pipeline_opportunity o
 WHERE {_CLOSED} AND {{deals}}
"""

# Forward exits of open stages: a move to a later open stage or to won. The planner cannot
# estimate their number (the history's value columns mix stages with amounts and dates), so
# the cohort and the exits are MATERIALIZED: read once and hashed, whatever their size.
_EXITS = """
SELECT c.id, c.opportunity_id, NULLIF(c.old_value, '')::bigint AS from_stage, c.changed_at,
       c.override_reason, k.pipeline_id
  FROM pipeline_opportunitychange c
  JOIN cohort k ON k.id = c.opportunity_id
  JOIN pipeline_stage fs ON fs.id = NULLIF(c.old_value, '')::bigint
  JOIN pipeline_stage ts ON ts.id = NULLIF(c.new_value, '')::bigint
 WHERE c.field = 'stage' AND c.old_value <> ''
   AND NOT fs.is_won AND NOT fs.is_lost
   AND (ts.is_won OR (NOT ts.is_lost AND ts."order" > fs."order"))
"""

_WITH_EXITS = "cohort AS MATERIALIZED ({cohort}), exits AS MATERIALIZED (" + _EXITS + ")"

# Each family is a WITH list (after the cohort) and a SELECT of
# (opportunity_id, key, value, n, deals).
_ADVANCES = (
    _WITH_EXITS,
    """
SELECT opportunity_id, 'advances_met', 1, count(*) FILTER (WHERE override_reason = ''), 1
  FROM exits GROUP BY opportunity_id
UNION ALL
SELECT opportunity_id, 'advances_met', 0, count(*) FILTER (WHERE override_reason <> ''), 0
  FROM exits GROUP BY opportunity_id
""",
)

# A completion is unique per deal and milestone: it counts for each exit of its milestone's
# stage made after it.
_MILESTONES = (
    _WITH_EXITS
    + """,
done AS MATERIALIZED (
    SELECT mc.opportunity_id, mc.milestone_id, m.stage_id, mc.completed_at
      FROM pipeline_milestonecompletion mc
      JOIN cohort k ON k.id = mc.opportunity_id
      JOIN pipeline_milestone m ON m.id = mc.milestone_id
)""",
    """
SELECT opportunity_id, 'stage_exits:' || from_stage, 0, count(*), 1
  FROM exits GROUP BY opportunity_id, from_stage
UNION ALL
SELECT x.opportunity_id, 'milestone_met:' || d.milestone_id, 1, count(*), 0
  FROM exits x
  JOIN done d ON d.opportunity_id = x.opportunity_id AND d.stage_id = x.from_stage
             AND d.completed_at <= x.changed_at
 GROUP BY x.opportunity_id, d.milestone_id
""",
)

# The qualification valid at each exit (the latest assessed by then and not voided by
# then) of a deal whose pipeline has a framework; none: score 0, every element level 0.
_GATES = (
    _WITH_EXITS
    + """,
quals AS MATERIALIZED (
    SELECT q.id, q.opportunity_id, q.assessed_at, q.invalidated_at, q.score_pct
      FROM pipeline_qualification q JOIN cohort k ON k.id = q.opportunity_id
),
gated AS MATERIALIZED (
    SELECT DISTINCT ON (x.id)
           x.id AS exit_id, x.opportunity_id, x.from_stage, p.framework_id,
           q.id AS qualification_id, coalesce(q.score_pct, 0) AS score
      FROM exits x
      JOIN pipeline_pipeline p ON p.id = x.pipeline_id AND p.framework_id IS NOT NULL
      LEFT JOIN quals q
        ON q.opportunity_id = x.opportunity_id AND q.assessed_at <= x.changed_at
       AND (q.invalidated_at IS NULL OR q.invalidated_at > x.changed_at)
     ORDER BY x.id, q.assessed_at DESC, q.id DESC
)"""
)

_SCORES = (
    _GATES,
    """
SELECT opportunity_id, 'score:' || from_stage, round(score)::int, count(*), 1
  FROM gated GROUP BY opportunity_id, from_stage, round(score)::int
""",
)

# Levels 1–3 from the gates' scores; level 0 for each element of the framework at the gates
# where it was not scored above 0 (the deal counts once for each level it had).
_ELEMENTS = (
    _GATES
    + """,
scored AS MATERIALIZED (
    SELECT g.opportunity_id, g.from_stage, s.element_id, s.score
      FROM gated g
      JOIN pipeline_qualificationscore s ON s.qualification_id = g.qualification_id
      JOIN pipeline_qualificationelement e
        ON e.id = s.element_id AND e.framework_id = g.framework_id
     WHERE s.score > 0
)""",
    """
SELECT opportunity_id, 'element:' || from_stage || ':' || element_id, score, count(*), 1
  FROM scored GROUP BY opportunity_id, from_stage, element_id, score
UNION ALL
SELECT t.opportunity_id, 'element:' || t.from_stage || ':' || e.id, 0,
       t.gates - coalesce(sc.n, 0), 1
  FROM (SELECT opportunity_id, from_stage, framework_id, count(*) AS gates
          FROM gated GROUP BY opportunity_id, from_stage, framework_id) t
  JOIN pipeline_qualificationelement e ON e.framework_id = t.framework_id
  LEFT JOIN (SELECT opportunity_id, from_stage, element_id, count(*) AS n
               FROM scored GROUP BY opportunity_id, from_stage, element_id) sc
    ON sc.opportunity_id = t.opportunity_id AND sc.from_stage = t.from_stage
   AND sc.element_id = e.id
 WHERE t.gates > coalesce(sc.n, 0)
""",
)

_ACTIVITIES = (
    "cohort AS ({cohort})",
    """
SELECT a.opportunity_id, 'activities:' || a.kind, count(*), 1, 1
  FROM pipeline_activity a JOIN cohort k ON k.id = a.opportunity_id
 GROUP BY a.opportunity_id, a.kind
""",
)

_FIRST_CONTACT = (
    "cohort AS ({cohort})",
    """
SELECT k.id, 'first_activity_days',
       round(greatest(EXTRACT(EPOCH FROM (coalesce(
           (SELECT min(a.occurred_at) FROM pipeline_activity a
             WHERE a.opportunity_id = k.id AND a.kind IN ('call', 'meeting', 'email')),
           k.closed_at) - k.created_at)) / 86400.0, 0))::int, 1, 1
  FROM cohort k
""",
)

# Customer activities during each stay in an open stage (a stay ends at the next stage
# change).
_STAGE_ACTIVITIES = (
    """cohort AS ({cohort}),
entries AS (
    SELECT c.opportunity_id, NULLIF(c.new_value, '')::bigint AS stage_id,
           c.changed_at AS entered_at,
           LEAD(c.changed_at) OVER (PARTITION BY c.opportunity_id ORDER BY c.changed_at, c.id)
               AS left_at
      FROM pipeline_opportunitychange c JOIN cohort k ON k.id = c.opportunity_id
     WHERE c.field = 'stage'
),
per_entry AS (
    SELECT e.stage_id, e.opportunity_id, e.entered_at, count(a.id) AS n
      FROM entries e
      JOIN pipeline_stage s ON s.id = e.stage_id AND NOT s.is_won AND NOT s.is_lost
      LEFT JOIN pipeline_activity a
        ON a.opportunity_id = e.opportunity_id AND a.kind IN ('call', 'meeting', 'email')
       AND a.occurred_at >= e.entered_at AND (e.left_at IS NULL OR a.occurred_at < e.left_at)
     GROUP BY e.stage_id, e.opportunity_id, e.entered_at
)""",
    """
SELECT opportunity_id, 'stage_activities:' || stage_id, n, count(*), 1
  FROM per_entry GROUP BY opportunity_id, stage_id, n
""",
)

FAMILIES: dict[str, tuple[str, str]] = {
    "advances": _ADVANCES,
    "milestones": _MILESTONES,
    "scores": _SCORES,
    "elements": _ELEMENTS,
    "activities": _ACTIVITIES,
    "first contact": _FIRST_CONTACT,
    "stage activities": _STAGE_ACTIVITIES,
}

_INSERT = """
WITH {with_list},
facts (opportunity_id, key, value, n, deals) AS ({select})
INSERT INTO {table} (opportunity_id, owner_id, closed_at, key, value, n, deals)
SELECT f.opportunity_id, o.owner_id, o.closed_at, f.key, f.value, f.n, f.deals
  FROM facts f JOIN pipeline_opportunity o ON o.id = f.opportunity_id
 WHERE f.n > 0 OR f.deals > 0
"""

# Each entry into an open stage (from the deal's stage history), where the deal went next
# and when. Entries recorded at or before an import are the import's, not real entries.
_STAYS = """
INSERT INTO insights_stagestay
    (opportunity_id, change_id, owner_id, created_at, closed_at, status, stage_id, entered_at,
     left_at, days, outcome)
SELECT e.opportunity_id, e.change_id, e.owner_id, e.created_at, e.closed_at, e.status,
       e.stage_id, e.entered_at, e.left_at,
       EXTRACT(EPOCH FROM (e.left_at - e.entered_at)) / 86400.0,
       CASE WHEN e.next_stage_id IS NULL THEN 'in'
            WHEN n.is_won OR (NOT n.is_lost AND n."order" > s."order") THEN 'advanced'
            WHEN n.is_lost THEN 'lost'
            ELSE 'back' END
  FROM (
    SELECT c.id AS change_id, c.opportunity_id, o.owner_id, o.created_at, o.closed_at,
           o.status, o.imported_at, NULLIF(c.new_value, '')::bigint AS stage_id,
           c.changed_at AS entered_at,
           NULLIF(LEAD(c.new_value) OVER w, '')::bigint AS next_stage_id,
           LEAD(c.changed_at) OVER w AS left_at
      FROM pipeline_opportunitychange c
      JOIN pipeline_opportunity o ON o.id = c.opportunity_id
     WHERE c.field = 'stage' AND {deals}
    WINDOW w AS (PARTITION BY c.opportunity_id ORDER BY c.changed_at, c.id)
  ) e
  JOIN pipeline_stage s ON s.id = e.stage_id AND NOT s.is_won AND NOT s.is_lost
  LEFT JOIN pipeline_stage n ON n.id = e.next_stage_id
 WHERE e.imported_at IS NULL OR e.entered_at > e.imported_at
"""

_MONTH = "(date_trunc('month', {col} AT TIME ZONE 'UTC'))::date"


def _write_facts(
    deals_sql: str, params: dict[str, Any], *, table: str = "insights_dealfact"
) -> None:
    """Insert the facts of the cohort `deals_sql` selects (its deals have none yet) into
    `table` (the facts table, or a rebuild's staging table of the same columns)."""
    cohort = _COHORT.format(deals=deals_sql)
    with connection.cursor() as cursor:
        for with_list, select in FAMILIES.values():
            sql = _INSERT.format(
                with_list=with_list.format(cohort=cohort), select=select, table=table
            )
            cursor.execute(sql, params)
        passed = proposal_selectors.first_pass_by_deal(cohort_sql=cohort, params=params)
        if passed:
            ids, ok, reviewed = zip(
                *((deal, ok, reviewed) for deal, (ok, reviewed) in passed.items()), strict=True
            )
            cursor.execute(
                f"""
                WITH p AS (SELECT * FROM unnest(%(ids)s::bigint[], %(ok)s::int[],
                                                %(reviewed)s::int[]) AS t (id, ok, reviewed))
                INSERT INTO {table} (opportunity_id, owner_id, closed_at, key, value, n, deals)
                SELECT o.id, o.owner_id, o.closed_at, 'summary_first_pass', v.value, v.n, v.deals
                  FROM p JOIN pipeline_opportunity o ON o.id = p.id,
                       LATERAL (VALUES (1, p.ok, 1), (0, p.reviewed - p.ok, 0))
                           AS v (value, n, deals)
                 WHERE v.n > 0 OR v.deals > 0
                """,
                {"ids": list(ids), "ok": list(ok), "reviewed": list(reviewed)},
            )


def refresh(*, batch: int = BATCH) -> int:
    """Compute the facts and stays of every queued deal again, `batch` deals per
    transaction, and keep the monthly sums equal to the sum of the facts. Returns how many
    deals it took from the queue. Safe to run concurrently (runs are serialised)."""
    taken = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
            cursor.execute(
                """
                DELETE FROM insights_staledeal WHERE opportunity_id IN (
                    SELECT opportunity_id FROM insights_staledeal
                     ORDER BY opportunity_id LIMIT %s FOR UPDATE SKIP LOCKED)
                RETURNING opportunity_id
                """,
                [batch],
            )
            ids = [row[0] for row in cursor.fetchall()]
            if not ids:
                return taken
            _replace(cursor, ids)
            taken += len(ids)


def _replace(cursor: Any, ids: list[int]) -> None:
    month = _MONTH.format(col="closed_at")
    # Take the deals' old facts out of the monthly sums (rows that reach zero go).
    cursor.execute(
        f"""
        WITH old AS (
            DELETE FROM insights_dealfact WHERE opportunity_id = ANY(%(ids)s::bigint[])
            RETURNING owner_id, closed_at, key, value, n, deals
        ),
        gone AS (
            SELECT {month} AS month, owner_id, key, value, sum(n) AS n, sum(deals) AS deals
              FROM old GROUP BY 1, 2, 3, 4
        ),
        emptied AS (
            DELETE FROM insights_monthfact m USING gone g
             WHERE m.month = g.month AND m.owner_id = g.owner_id AND m.key = g.key
               AND m.value = g.value AND m.n = g.n AND m.deals = g.deals
        )
        UPDATE insights_monthfact m SET n = m.n - g.n, deals = m.deals - g.deals
          FROM gone g
         WHERE m.month = g.month AND m.owner_id = g.owner_id AND m.key = g.key
           AND m.value = g.value AND NOT (m.n = g.n AND m.deals = g.deals)
        """,
        {"ids": ids},
    )
    _write_facts("o.id = ANY(%(ids)s::bigint[])", {"ids": ids})
    cursor.execute(
        "DELETE FROM insights_stagestay WHERE opportunity_id = ANY(%(ids)s::bigint[])",
        {"ids": ids},
    )
    cursor.execute(_STAYS.format(deals="o.id = ANY(%(ids)s::bigint[])"), {"ids": ids})
    cursor.execute(
        f"""
        INSERT INTO insights_monthfact (month, owner_id, key, value, n, deals)
        SELECT {month}, owner_id, key, value, sum(n), sum(deals)
          FROM insights_dealfact WHERE opportunity_id = ANY(%(ids)s::bigint[])
         GROUP BY 1, 2, 3, 4
        ON CONFLICT (month, owner_id, key, value) DO UPDATE
           SET n = insights_monthfact.n + EXCLUDED.n,
               deals = insights_monthfact.deals + EXCLUDED.deals
        """,
        {"ids": ids},
    )


def rebuild() -> None:
    """Compute every closed deal's facts and every deal's stays from scratch, set-based
    (for a database filled without triggers, e.g. the benchmark's bulk load): empties the
    queue. The facts are staged and written in order of closing, so a range's edge days
    read adjacent pages (as facts written when deals close do)."""
    month = _MONTH.format(col="closed_at")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cursor.execute(
            "TRUNCATE insights_dealfact, insights_monthfact, insights_stagestay, insights_staledeal"
        )
        cursor.execute(
            "CREATE TEMP TABLE insights_staged_facts ON COMMIT DROP AS"
            " SELECT opportunity_id, owner_id, closed_at, key, value, n, deals"
            " FROM insights_dealfact WITH NO DATA"
        )
        _write_facts("TRUE", {}, table="insights_staged_facts")
        cursor.execute(
            "INSERT INTO insights_dealfact"
            " (opportunity_id, owner_id, closed_at, key, value, n, deals)"
            " SELECT opportunity_id, owner_id, closed_at, key, value, n, deals"
            " FROM insights_staged_facts ORDER BY closed_at, opportunity_id"
        )
        cursor.execute(
            f"""
            INSERT INTO insights_monthfact (month, owner_id, key, value, n, deals)
            SELECT {month}, owner_id, key, value, sum(n), sum(deals)
              FROM insights_staged_facts GROUP BY 1, 2, 3, 4
            """
        )
        cursor.execute(_STAYS.format(deals="TRUE"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE insights_dealfact, insights_monthfact, insights_stagestay")


def _next_month(month: dt.datetime) -> dt.datetime:
    return (month + dt.timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Plan:
    """How a range is read: whole UTC months from MonthFact, plus and minus the deal facts
    of some spans. A month the range covers only partly is read as its deals' facts over
    the part inside, or — when the part outside holds fewer days up to now — as the whole
    month less the facts of the part outside (sums add and subtract). So a range ending
    today reads the current month's row, and no range reads more than about half a month
    of deal facts at each end."""

    months: tuple[dt.date, ...]
    plus: tuple[tuple[dt.datetime, dt.datetime], ...]
    minus: tuple[tuple[dt.datetime, dt.datetime], ...]


def plan(starts_at: dt.datetime, ends_before: dt.datetime, now: dt.datetime) -> Plan:
    months: list[dt.date] = []
    plus: list[tuple[dt.datetime, dt.datetime]] = []
    minus: list[tuple[dt.datetime, dt.datetime]] = []
    month = starts_at.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while month < ends_before:
        following = _next_month(month)
        inside = (max(month, starts_at), min(following, ends_before))
        outside = [
            span for span in ((month, starts_at), (ends_before, following)) if span[0] < span[1]
        ]
        # What reading the part outside costs: its deals, none of which closed after now.
        cost = sum((max(min(b, now) - a, dt.timedelta()) for a, b in outside), dt.timedelta())
        if inside[0] >= inside[1]:
            pass  # an empty range
        elif not outside:
            months.append(month.date())
        elif cost < inside[1] - inside[0]:
            months.append(month.date())
            minus.extend(outside)
        else:
            plus.append(inside)
        month = following
    return Plan(months=tuple(months), plus=tuple(plus), minus=tuple(minus))


def _spans(name: str, spans: tuple[tuple[dt.datetime, dt.datetime], ...], params: dict) -> str:
    conditions = []
    for i, (start, end) in enumerate(spans):
        params[f"{name}{i}a"], params[f"{name}{i}b"] = start, end
        conditions.append(f"(closed_at >= %({name}{i}a)s AND closed_at < %({name}{i}b)s)")
    return " OR ".join(conditions)


def summed(owner_ids: list[int], starts_at: dt.datetime, ends_before: dt.datetime) -> list[tuple]:
    """(owner, key, value, n, deals) summed over the owners' deals closed in
    [starts_at, ends_before), as `plan` reads them. The queue is refreshed first."""
    refresh()
    reading = plan(starts_at, ends_before, timezone.now())
    params: dict[str, Any] = {"owners": owner_ids, "months": list(reading.months)}
    owners = "owner_id IN (SELECT unnest(%(owners)s::bigint[]))"
    parts = [
        "SELECT owner_id, key, value, n, deals FROM insights_monthfact"
        f" WHERE month = ANY(%(months)s::date[]) AND {owners}"
    ]
    if reading.plus:
        parts.append(
            "SELECT owner_id, key, value, n, deals FROM insights_dealfact"
            f" WHERE ({_spans('plus', reading.plus, params)}) AND {owners}"
        )
    if reading.minus:
        parts.append(
            "SELECT owner_id, key, value, -n, -deals FROM insights_dealfact"
            f" WHERE ({_spans('minus', reading.minus, params)}) AND {owners}"
        )
    union = " UNION ALL ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT owner_id, key, value, sum(n)::bigint, sum(deals)::bigint FROM ({union}) t"
            " GROUP BY owner_id, key, value HAVING sum(n) <> 0 OR sum(deals) <> 0",
            params,
        )
        return cursor.fetchall()
