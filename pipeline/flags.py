"""Attention flags: raise, update and clear them with set-based SQL, looking only at the
deals that may have changed.

`flags_refresh` is what the hourly beat task and `manage.py refresh_flags` run. It is
set-based — no Python loop over opportunities — idempotent, and serialised by a
transaction-level advisory lock, so a second run that overlaps the first waits for it
and then finds nothing to do. The decisions are the ones of the pure functions in
pipeline/rules.py ("# --- attention flags"), written once more in SQL; a test
cross-checks both over generated data, so change the wording in both places.

Which deals a run looks at — the schedule (FlagSchedule, one row per deal):
  due_at   the next moment the deal's flags may change by themselves (a threshold day,
           a date passing, a qualification expiring: rules.flags_change_at, computed
           here in SQL as `next_check`); -infinity when something it depends on changed
           (database triggers, migration 0008, whatever the path); NULL when nothing
           will change by itself (a closed deal).
  version  bumped by those triggers and by every targeted refresh.
The hourly run takes the rows with due_at <= now — when nothing changed, none: a
millisecond read of a narrow table instead of re-deciding a million deals. A run whose
rules' settings differ from the last run's (FlagRefreshState) takes every row, as does
`refresh_flags --full`.

`flags_refresh(opportunity_ids=[…])` decides a few deals at once, by primary key and
without the advisory lock: the services that change a flag input call it in their own
transaction, so the user sees the right flags at once and never waits for an hourly run.

Overlap, exactly: a targeted run first bumps its deals' schedule rows (taking their row
locks), then decides them in a new statement — whose snapshot sees everything a global
run committed before. A global run writes a deal's flags only if it could set that
deal's due_at while the row still has the version the run read (UPDATE … WHERE version =
…, re-checked on the newest row version after waiting for a lock). A deal whose version
moved — a user's change or a targeted run since the run's snapshot — is left to the
transaction that moved it (which decided the deal itself, or left it due), so no run
ever writes flags from a stale view of a deal. Writers of a deal's flags always lock its
schedule row first, so they cannot deadlock on the flags' unique index.

The statement, in order:
  due      the deals to decide, with the schedule version read;
  deal     per deal: the facts (stage, framework, latest qualification; calendar days in
           the organisation's timezone), the severity of each kind and `next_check`;
  imp, skipped, incomplete
           the open imported deals among them, the milestones each skipped the gate for
           and nobody recorded since, and the import_incomplete flags they call for —
           set-based, and empty at once when no due deal was imported;
  desired  one row per (deal, kind) that should be open, with its explanation;
  changes  desired FULL JOIN the deals' open flags, keeping only the differences:
           raise, clear, update (text/severity). A new flag's id is drawn here (nextval);
  sched    the deals' new due_at, where the version is still the one read (and there
           is something to write);
  todo     the changes of the deals `sched` kept (read by each write below);
  cleared / updated / raised   the writes;
  notified one notification per owner for the flags raised for them in this run — "3 new
           attention flags" with the count per kind, or the flag itself when it is one —
           keyed "flags:<owner>:<first new flag id>", so a rerun can never notify twice.
Explanations name dates, not day counts (see rules.py), so an unchanged deal's flags are
not rewritten as days pass; only a severity crossing a threshold is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from pipeline import rules
from pipeline.models import FlagKind
from salesops import organisation
from salesops.links import url_parts
from salesops.services import notifications_insert_sql

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock key of the global refresh ("flag" in ASCII); only this module takes it.
REFRESH_LOCK_KEY = 0x666C6167
# Bump when a decision or next_check below changes meaning: the next global run then
# re-decides every deal instead of the due ones (as when a setting they read changes).
RULES_VERSION = 3  # 3: import_incomplete
# Tests only: seconds to sleep inside the transaction after the writes and before the
# commit, so that a test can kill a worker mid-refresh. Ignored unless settings.TESTING.
TEST_DELAY_ENV = "SALESOPS_FLAGS_REFRESH_TEST_DELAY"
# For the global run's transaction only (set_config(…, is_local=true)); see bench/README.md.
# The targeted run needs neither this nor jit=off: its plan is a handful of index probes.
WORK_MEM = "256MB"
# A global run that decided at least this many deals vacuums the schedule afterwards.
VACUUM_AFTER = 50_000
# A global run with more deals to decide than this decides them in batches of this many
# (in opportunity id order), each batch in its own transaction, and logs its progress. A
# user's change to a deal (a targeted run, which locks the deal's schedule row) then waits
# at most for the batch holding that row, never for the whole run: the first run on a
# million existing deals takes ~45 s, past gunicorn's 30 s timeout for the page that
# ticked a milestone meanwhile (bench/flags.py "during").
BATCH_DEALS = 10_000


@dataclass(frozen=True)
class FlagRefreshResult:
    raised: int
    cleared: int
    updated: int
    notified: int  # notifications created: one per owner with newly raised flags
    checked: int = field(default=0, compare=False)  # deals decided
    full: bool = field(default=False, compare=False)  # every deal, not only the due ones


def in_range(column: str) -> str:
    """SQL: `column` within the batch being decided, from %(lo)s up to before %(hi)s (NULL:
    unbounded; an unbatched run passes both NULL). Written on every table a batch reads or
    writes by opportunity id, so that it reads its own rows by index, not whole tables."""
    return (
        f"(%(lo)s::bigint IS NULL OR {column} >= %(lo)s)"
        f" AND (%(hi)s::bigint IS NULL OR {column} < %(hi)s)"
    )


def _n_days(expr: str) -> str:
    """SQL for rules.n_days."""
    return f"(CASE WHEN {expr} = 1 THEN '1 day' ELSE ({expr})::text || ' days' END)"


def _every_n_days(expr: str) -> str:
    """SQL for rules.every_n_days."""
    return f"(CASE WHEN {expr} = 1 THEN 'every day' ELSE 'every ' || ({expr})::text || ' days' END)"


def _day(expr: str) -> str:
    """SQL for rules.format_day: 3 Nov 2026 (to_char's Mon is English without TM)."""
    return f"to_char({expr}, 'FMDD Mon YYYY')"


def _local(expr: str) -> str:
    """SQL for rules.local_date."""
    return f"(({expr}) AT TIME ZONE %(tz)s)::date"


def _after_now(moment: str) -> str:
    """SQL: `moment` if it is after now, else NULL — for LEAST, which skips NULLs."""
    return f"NULLIF(GREATEST({moment}, %(now)s::timestamptz), %(now)s::timestamptz)"


def _after_today(day: str) -> str:
    """SQL: `day` if it is after today, else NULL. Its first moment is after now exactly
    then, so the next-check day is found among dates, converted to a moment once."""
    return f"NULLIF(GREATEST({day}, f.today), f.today)"


_LAPSED_ON = _local(
    """CASE WHEN q.id IS NULL THEN o.created_at
            WHEN q.invalidated_at IS NOT NULL THEN q.invalidated_at
            ELSE q.assessed_at + COALESCE(NULLIF(s.qualification_validity_days, 0),
                                          %(validity_days)s) * interval '24 hours'
       END"""
)

# rules.import_incomplete_flag's first sentence: the fields the import filled by a rule, in
# a fixed order, with the values they hold. NULL when none of them is in import_gaps.
_IMPORT_GAPS = f"""(
    SELECT CASE cardinality(x.parts)
               WHEN 0 THEN NULL
               WHEN 1 THEN 'The import set ' || x.parts[1] || ': set the real one.'
               ELSE 'The import set ' || array_to_string(x.parts[1:cardinality(x.parts) - 1], ', ')
                    || ' and ' || x.parts[cardinality(x.parts)] || ': set the real ones.'
           END
    FROM (SELECT array_remove(ARRAY[
              CASE WHEN 'close_date' = ANY(o.import_gaps)
                   THEN 'the close date to ' || {_day("o.close_date")} || ' (end of quarter)' END,
              CASE WHEN 'account' = ANY(o.import_gaps)
                   THEN 'the account to '
                        || (SELECT a.name FROM pipeline_account a WHERE a.id = o.account_id) END,
              CASE WHEN 'amount' = ANY(o.import_gaps)
                   THEN 'the amount to ' || o.currency || ' '
                        || to_char(o.amount, 'FM999,999,999,999,990.00') END
          ], NULL) AS parts) x
)"""

# Per deal of `due`: its facts, the severity of each kind, and next_check (NULL: never by
# itself). Closed deals come through too: their flags are cleared.
DEAL_SQL = f"""
SELECT f.*,
       CASE WHEN f.rot_days IS NOT NULL AND f.in_stage >= f.rot_days THEN 'critical'
            WHEN f.warn_days IS NOT NULL AND f.in_stage >= f.warn_days THEN 'warning'
       END AS sev_stuck,
       CASE WHEN f.past_close >= %(past_close_critical)s THEN 'critical'
            WHEN f.past_close >= 1 THEN 'warning'
       END AS sev_close,
       CASE WHEN f.idle >= %(idle_factor)s * f.idle_limit THEN 'critical'
            WHEN f.idle >= f.idle_limit THEN 'warning'
       END AS sev_idle,
       CASE WHEN f.step_overdue >= %(step_critical)s THEN 'critical'
            WHEN f.step_overdue >= 1 THEN 'warning'
       END AS sev_step,
       CASE WHEN f.rq_state IS NULL THEN NULL
            WHEN f.today - f.rq_since >= %(requalify_critical)s THEN 'critical'
            ELSE 'warning'
       END AS sev_rq,
       -- rules.flags_change_at: the first threshold still ahead — the first moment of
       -- the first threshold day after today, or a qualification's expiry if sooner.
       CASE WHEN f.status = 'open' THEN LEAST(
                (LEAST(
                    {_after_today("f.entered_on + f.warn_days")},
                    {_after_today("f.entered_on + f.rot_days")},
                    {_after_today("f.close_date + 1")},
                    {_after_today("f.close_date + %(past_close_critical)s")},
                    {_after_today("f.idle_since + f.idle_limit")},
                    {_after_today("f.idle_since + %(idle_factor)s * f.idle_limit")},
                    {_after_today("f.next_step_date + 1")},
                    {_after_today("f.next_step_date + %(step_critical)s")},
                    CASE WHEN f.framework_name IS NOT NULL
                         THEN {_after_today("f.lapsed_on + %(requalify_critical)s")} END
                 )::timestamp AT TIME ZONE %(tz)s),
                CASE WHEN f.framework_name IS NOT NULL AND f.q_id IS NOT NULL
                          AND f.invalidated_at IS NULL
                     THEN {_after_now("f.expires_at")} END)
       END AS next_check
FROM (
    SELECT b.*,
           -- requalify_due: which lapse (none / voided / expired) and since which day
           CASE WHEN b.framework_name IS NULL THEN NULL
                WHEN b.q_id IS NULL THEN 'none'
                WHEN b.invalidated_at IS NOT NULL THEN 'voided'
                WHEN %(now)s::timestamptz >= b.expires_at THEN 'expired'
           END AS rq_state,
           LEAST(b.today, b.lapsed_on) AS rq_since
    FROM (
        SELECT d.version,
               o.id AS opportunity_id,
               o.status,
               o.owner_id,
               o.name AS opp_name,
               o.created_at,
               o.last_activity_at,
               o.close_date,
               o.next_step,
               o.next_step_date,
               o.stage_id,
               o.imported_at IS NOT NULL AS imported,
               -- import_incomplete's first sentence (NULL: no field filled by the import);
               -- built for the few imported deals only, so the rows stay narrow
               CASE WHEN o.imported_at IS NOT NULL AND o.status = 'open'
                         AND o.import_gaps <> '{{}}'
                    THEN {_IMPORT_GAPS}
               END AS gaps_text,
               s.name AS stage_name,
               s.warn_days,
               s.rot_days,
               fw.name AS framework_name,
               q.id AS q_id,
               q.invalidated_at,
               q.invalidated_reason,
               q.assessed_at + COALESCE(NULLIF(s.qualification_validity_days, 0),
                                        %(validity_days)s) * interval '24 hours' AS expires_at,
               COALESCE(NULLIF(s.no_activity_days, 0), %(no_activity_days)s) AS idle_limit,
               -- since when a requalify_due flag would be due: no qualification since the
               -- deal's creation, a voided one since voiding, else since it expires
               {_LAPSED_ON} AS lapsed_on,
               t.today,
               {_local("o.stage_entered_at")} AS entered_on,
               GREATEST(0, t.today - {_local("o.stage_entered_at")}) AS in_stage,
               t.today - o.close_date AS past_close,
               {_local("COALESCE(o.last_activity_at, o.created_at)")} AS idle_since,
               GREATEST(0, t.today - {_local("COALESCE(o.last_activity_at, o.created_at)")})
                   AS idle,
               t.today - o.next_step_date AS step_overdue
        FROM due d
        JOIN pipeline_opportunity o ON o.id = d.opportunity_id
        CROSS JOIN (SELECT {_local("%(now)s::timestamptz")} AS today) t
        JOIN pipeline_stage s ON s.id = o.stage_id
        JOIN pipeline_pipeline p ON p.id = o.pipeline_id
        LEFT JOIN pipeline_qualificationframework fw ON fw.id = p.framework_id
        -- The latest qualification, the one that counts (kept by qualification_create).
        LEFT JOIN pipeline_qualification q ON q.id = o.latest_qualification_id
        OFFSET 0  -- a fence: compute each column once per row, not once per use
    ) b
    OFFSET 0
) f
"""

# One row per (deal, kind) that should be open. The five kinds come out of one pass over
# the deals crossed with the five kind names (CASE on the kind; the filter drops the NULL
# severities before any text is built), not five scans. Not LATERAL (VALUES …) either: a
# Values Scan re-initialises its expressions on every rescan (4.6 s for 600,000 deals).
# import_incomplete's rows, for the few imported deals, come from `incomplete`.
DESIRED_SQL = f"""
SELECT v.opportunity_id, v.owner_id, v.opp_name, k.kind,
       CASE k.kind
           WHEN 'stuck_in_stage' THEN v.sev_stuck
           WHEN 'past_close_date' THEN v.sev_close
           WHEN 'no_activity' THEN v.sev_idle
           WHEN 'next_step_overdue' THEN v.sev_step
           WHEN 'requalify_due' THEN v.sev_rq
       END AS severity,
       left(CASE k.kind
           WHEN 'stuck_in_stage' THEN
               'In ' || v.stage_name || ' since ' || {_day("v.entered_on")} ||
               CASE WHEN v.sev_stuck = 'critical'
                    THEN '; this stage''s limit is ' || {_n_days("v.rot_days")}
                    ELSE '; this stage warns at ' || {_n_days("v.warn_days")}
                         || COALESCE(' and its limit is ' || {_n_days("v.rot_days")}, '')
               END
           WHEN 'past_close_date' THEN 'Close date ' || {_day("v.close_date")} || ' has passed'
           WHEN 'no_activity' THEN
               CASE WHEN v.last_activity_at IS NULL
                    THEN 'No customer activity since the deal was created on '
                    ELSE 'No customer activity since '
               END || {_day("v.idle_since")}
               || '; this stage expects contact ' || {_every_n_days("v.idle_limit")}
           WHEN 'next_step_overdue' THEN
               CASE WHEN v.next_step <> ''
                    THEN 'Next step \u201c' || v.next_step || '\u201d was due '
                    ELSE 'The next step was due '
               END || {_day("v.next_step_date")}
           WHEN 'requalify_due' THEN
               CASE v.rq_state
                   WHEN 'none' THEN 'Never qualified with ' || v.framework_name
                   WHEN 'voided' THEN 'The last qualification was voided on '
                        || {_day("v.rq_since")}
                        || CASE WHEN v.invalidated_reason <> ''
                                THEN ': ' || v.invalidated_reason
                                ELSE '; re-qualify the deal' END
                   ELSE 'The last qualification expired on ' || {_day("v.rq_since")}
                        || '; re-qualify the deal'
               END
       END, {rules.EXPLANATION_MAX}) AS explanation
FROM deal v
CROSS JOIN (VALUES ('stuck_in_stage'), ('past_close_date'), ('no_activity'),
                   ('next_step_overdue'), ('requalify_due')) AS k(kind)
WHERE v.status = 'open'
  AND CASE k.kind
          WHEN 'stuck_in_stage' THEN v.sev_stuck
          WHEN 'past_close_date' THEN v.sev_close
          WHEN 'no_activity' THEN v.sev_idle
          WHEN 'next_step_overdue' THEN v.sev_step
          WHEN 'requalify_due' THEN v.sev_rq
      END IS NOT NULL
UNION ALL
SELECT opportunity_id, owner_id, opp_name, 'import_incomplete', '{rules.WARNING}', explanation
FROM incomplete
"""

# import_incomplete, for the open imported deals of `deal` (rules.import_incomplete_flag):
# `skipped` is rules.gate_skipped_milestones for all of them at once — the required
# milestones ticked by a person (not automatic) of the open stages before the deal's,
# without a completion on the deal, in stage and milestone order. No date in it: the flag
# changes only with the deal, so next_check does not know it.
IMPORT_SQL = f"""
imp AS MATERIALIZED (
    SELECT opportunity_id, owner_id, opp_name, stage_id, stage_name, gaps_text
    FROM deal WHERE imported AND status = 'open'
),
skipped AS (
    SELECT i.opportunity_id, count(*) AS n,
           (array_agg(m.title ORDER BY earlier."order", m."order", m.id))
               [1:{rules.IMPORT_SKIPPED_LISTED}] AS titles
    FROM imp i
    JOIN pipeline_stage cur ON cur.id = i.stage_id
    JOIN pipeline_stage earlier ON earlier.pipeline_id = cur.pipeline_id
                               AND earlier."order" < cur."order"
                               AND NOT earlier.is_won AND NOT earlier.is_lost
    JOIN pipeline_milestone m ON m.stage_id = earlier.id AND m.required AND m.auto_check = ''
    WHERE NOT EXISTS (SELECT 1 FROM pipeline_milestonecompletion c
                      WHERE c.opportunity_id = i.opportunity_id AND c.milestone_id = m.id)
    GROUP BY i.opportunity_id
),
incomplete AS (
    SELECT i.opportunity_id, i.owner_id, i.opp_name,
           left(concat_ws(' ', i.gaps_text,
               'Imported into ' || i.stage_name || ' past the gate: '
               || CASE WHEN k.n = 1 THEN '1 milestone of an earlier stage is not recorded'
                       ELSE k.n::text || ' milestones of earlier stages are not recorded' END
               || ' (' || array_to_string(k.titles, ', ')
               || CASE WHEN k.n > {rules.IMPORT_SKIPPED_LISTED}
                       THEN ' and ' || (k.n - {rules.IMPORT_SKIPPED_LISTED})::text || ' more'
                       ELSE '' END
               || ')'), {rules.EXPLANATION_MAX}) AS explanation
    FROM imp i
    LEFT JOIN skipped k ON k.opportunity_id = i.opportunity_id
    WHERE i.gaps_text IS NOT NULL OR k.n IS NOT NULL
)"""

# The notification of an owner with new flags: the flag and its deal when it is the only new
# one, else a count per kind with a link to the attention page.
FLAG_NOTIFICATIONS_SQL = """
    SELECT g.owner_id,
           'flags:' || g.owner_id || ':' || g.first_id,
           CASE WHEN g.n = 1 THEN (%(labels)s::jsonb ->> g.kind) || ': ' || g.opp_name
                ELSE g.n || ' new attention flags on your deals' END,
           CASE WHEN g.n = 1 THEN g.explanation ELSE g.summary END,
           CASE WHEN g.n = 1 THEN %(deal_url_prefix)s || g.opportunity_id || %(deal_url_suffix)s
                ELSE %(attention_url)s END
    FROM (
        SELECT k.owner_id, sum(k.n) AS n, min(k.first_id) AS first_id,
               max(k.kind) AS kind, max(k.opportunity_id) AS opportunity_id,
               max(k.opp_name) AS opp_name, max(k.explanation) AS explanation,
               string_agg((%(labels)s::jsonb ->> k.kind) || ': ' || k.n, ' · '
                          ORDER BY k.n DESC, %(labels)s::jsonb ->> k.kind) AS summary
        FROM per_kind k
        GROUP BY k.owner_id
    ) g"""

# The diff against the due deals' open flags, the schedule and the writes.
WRITE_SQL = (
    """
changes AS MATERIALIZED (
    SELECT c.id AS flag_id,
           CASE WHEN c.id IS NULL
                THEN nextval((SELECT pg_get_serial_sequence('pipeline_opportunityflag', 'id')
                              ::regclass))
           END AS new_id,
           COALESCE(d.opportunity_id, c.opportunity_id) AS opportunity_id,
           COALESCE(d.kind, c.kind) AS kind,
           d.owner_id, d.opp_name, d.severity, d.explanation,
           CASE WHEN c.id IS NULL THEN 'raise' WHEN d.kind IS NULL THEN 'clear'
                ELSE 'update' END AS action
    FROM desired d
    FULL JOIN (
        SELECT id, opportunity_id, kind, severity, explanation
        FROM pipeline_opportunityflag
        WHERE cleared_at IS NULL AND opportunity_id IN (SELECT opportunity_id FROM due)
    ) c ON c.opportunity_id = d.opportunity_id AND c.kind = d.kind
    WHERE c.id IS NULL OR d.kind IS NULL
       OR c.severity <> d.severity OR c.explanation <> d.explanation
),
sched AS (
    -- Only while the version is the one `due` read: see "Overlap" above. A deal with
    -- nothing to write and the same next check is left as it is (a full run that finds
    -- nothing to do writes nothing).
    UPDATE pipeline_flagschedule s SET due_at = v.next_check
    FROM deal v
    WHERE s.opportunity_id = v.opportunity_id AND s.version = v.version
      AND """
    + in_range("s.opportunity_id")
    + """
      AND (s.due_at IS DISTINCT FROM v.next_check
           OR v.opportunity_id IN (SELECT opportunity_id FROM changes))
    RETURNING s.opportunity_id
),
todo AS (
    SELECT * FROM changes WHERE opportunity_id IN (SELECT opportunity_id FROM sched)
),
cleared AS (
    UPDATE pipeline_opportunityflag f SET cleared_at = %(now)s
    FROM todo ch
    WHERE ch.action = 'clear' AND f.id = ch.flag_id AND f.cleared_at IS NULL
    RETURNING f.id
),
updated AS (
    UPDATE pipeline_opportunityflag f SET severity = ch.severity, explanation = ch.explanation
    FROM todo ch
    WHERE ch.action = 'update' AND f.id = ch.flag_id AND f.cleared_at IS NULL
    RETURNING f.id
),
raised AS (
    INSERT INTO pipeline_opportunityflag
        (id, opportunity_id, kind, severity, explanation, raised_at, cleared_at)
    SELECT ch.new_id, ch.opportunity_id, ch.kind, ch.severity, ch.explanation, %(now)s, NULL
    FROM todo ch
    WHERE ch.action = 'raise'
    -- Never taken while every writer locks the schedule row first; a guard, not a path.
    ON CONFLICT (opportunity_id, kind) WHERE cleared_at IS NULL DO NOTHING
    RETURNING id
),
per_kind AS (
    SELECT ch.owner_id, ch.kind, count(*) AS n, min(ch.new_id) AS first_id,
           max(ch.opportunity_id) AS opportunity_id, max(ch.opp_name) AS opp_name,
           max(ch.explanation) AS explanation
    FROM todo ch
    WHERE ch.action = 'raise' AND %(notify)s
      -- Only flags really inserted. Usually all were: then the count settles it and the
      -- hashed subplan over RETURNING is never built (1 s for a million raises).
      AND ((SELECT count(*) FROM raised) = (SELECT count(*) FROM todo WHERE action = 'raise')
           OR ch.new_id IN (SELECT id FROM raised))
    GROUP BY ch.owner_id, ch.kind
),
notified AS ("""
    # One notification per owner, through the notification service's set-based form.
    + notifications_insert_sql(FLAG_NOTIFICATIONS_SQL)
    + """
){state}
SELECT (SELECT count(*) FROM raised),
       (SELECT count(*) FROM cleared),
       (SELECT count(*) FROM updated),
       (SELECT count(*) FROM notified),
       (SELECT count(*) FROM deal)
"""
)

# A batched run notifies once at its end, about every flag it raised (its batches notify
# nobody): per owner, the flags raised at the run's moment and still open — grouped as one
# run's `per_kind`, so the same notifications as one statement would have made.
BATCH_NOTIFICATIONS_SQL = (
    """
WITH per_kind AS (
    SELECT o.owner_id, f.kind, count(*) AS n, min(f.id) AS first_id,
           max(f.opportunity_id) AS opportunity_id, max(o.name) AS opp_name,
           max(f.explanation) AS explanation
    FROM pipeline_opportunityflag f
    JOIN pipeline_opportunity o ON o.id = f.opportunity_id
    WHERE f.raised_at = %(now)s AND f.cleared_at IS NULL
    GROUP BY o.owner_id, f.kind
),
notified AS ("""
    + notifications_insert_sql(FLAG_NOTIFICATIONS_SQL)
    + """
)
SELECT count(*) FROM notified
"""
)

# The global run records what it ran with (see FlagRefreshState).
STATE_SQL = """,
state AS (
    INSERT INTO pipeline_flagrefreshstate (id, rules_fingerprint, last_run_at, last_full_run_at)
    VALUES (1, %(fingerprint)s, %(now)s, CASE WHEN %(full)s THEN %(now)s::timestamptz END)
    ON CONFLICT (id) DO UPDATE SET
        rules_fingerprint = EXCLUDED.rules_fingerprint,
        last_run_at = EXCLUDED.last_run_at,
        last_full_run_at = COALESCE(EXCLUDED.last_full_run_at,
                                    pipeline_flagrefreshstate.last_full_run_at)
)
"""

DUE = {
    "scheduled": (
        "SELECT opportunity_id, version FROM pipeline_flagschedule"
        f" WHERE due_at <= %(now)s AND {in_range('opportunity_id')}"
    ),
    # Every open deal, and any other with a check pending or a flag still open.
    "full": (
        "SELECT s.opportunity_id, s.version FROM pipeline_flagschedule s"
        " JOIN pipeline_opportunity o ON o.id = s.opportunity_id"
        f" WHERE {in_range('s.opportunity_id')} AND {in_range('o.id')}"
        " AND (o.status = 'open' OR s.due_at IS NOT NULL OR EXISTS ("
        "SELECT 1 FROM pipeline_opportunityflag f"
        " WHERE f.opportunity_id = s.opportunity_id AND f.cleared_at IS NULL"
        f" AND {in_range('f.opportunity_id')}))"
    ),
    "targeted": (
        "SELECT opportunity_id, version FROM pipeline_flagschedule"
        " WHERE opportunity_id = ANY(%(ids)s)"
    ),
}

# The first id of each batch of a global run's due deals (every BATCH_DEALS-th id).
BATCH_STARTS_SQL = """
SELECT opportunity_id FROM (
    SELECT opportunity_id, row_number() OVER (ORDER BY opportunity_id) AS n FROM ({due}) d
) numbered
WHERE mod(n - 1, %(batch)s) = 0
ORDER BY opportunity_id
"""

# The global run's first statement: the lock, this transaction's settings, the last run's
# fingerprint, and how many deals are due (scheduled) and have a schedule row (full).
# JIT-compiling the refresh's many expressions costs more than it saves; the hash joins
# of a million deals fit in WORK_MEM, not in the default 4 MB.
LOCK_SQL = """
SELECT pg_advisory_xact_lock(%(lock)s), set_config('jit', 'off', true),
       set_config('work_mem', %(work_mem)s, true),
       (SELECT rules_fingerprint FROM pipeline_flagrefreshstate WHERE id = 1),
       (SELECT ARRAY[count(*) FILTER (WHERE due_at <= %(now)s), count(*)]
        FROM pipeline_flagschedule)
"""
# Each batch's first statement: the lock and the settings again.
BATCH_LOCK_SQL = """
SELECT pg_advisory_xact_lock(%(lock)s), set_config('jit', 'off', true),
       set_config('work_mem', %(work_mem)s, true)
"""


@functools.cache
def refresh_sql(due: str, *, state: bool = True) -> str:
    """The refresh statement over the `due` deals (DUE, within %(lo)s…%(hi)s), recording
    the run (STATE_SQL; a targeted run never does, a batched run in its last batch only)."""
    return (
        f"WITH due AS MATERIALIZED ({DUE[due]}),\n"
        f"deal AS MATERIALIZED ({DEAL_SQL}),\n"
        f"{IMPORT_SQL},\n"
        f"desired AS ({DESIRED_SQL}),\n"
        + WRITE_SQL.format(state=STATE_SQL if state and due != "targeted" else "")
    )


SCHEDULED_SQL = refresh_sql("scheduled")
FULL_SQL = refresh_sql("full")
TARGETED_SQL = refresh_sql("targeted")

# A targeted run's first statement: take (or make) the deals' schedule rows, in id order,
# and bump their versions — so a global run that read them earlier leaves these deals to us.
CLAIM_SQL = """
INSERT INTO pipeline_flagschedule (opportunity_id, due_at, version)
SELECT o.id, '-infinity', 0 FROM pipeline_opportunity o
WHERE o.id = ANY(%(ids)s) ORDER BY o.id
ON CONFLICT (opportunity_id) DO UPDATE SET version = pipeline_flagschedule.version + 1
"""

# A full run's first statement: a schedule row for any deal without one (the migration
# and a trigger create them; this mends a restore or a hand-made row deletion).
MEND_SQL = """
INSERT INTO pipeline_flagschedule (opportunity_id, due_at, version)
SELECT o.id, '-infinity', 0 FROM pipeline_opportunity o
WHERE NOT EXISTS (SELECT 1 FROM pipeline_flagschedule s WHERE s.opportunity_id = o.id)
ON CONFLICT (opportunity_id) DO NOTHING
"""


def refresh_params(now: dt.datetime) -> dict[str, Any]:
    deal_url = url_parts("pipeline:opportunity_detail")
    return {
        "now": now,
        "tz": organisation.current().tz().key,
        "no_activity_days": settings.NO_ACTIVITY_DAYS,
        "validity_days": settings.QUALIFICATION_VALIDITY_DAYS,
        "past_close_critical": rules.PAST_CLOSE_CRITICAL_DAYS,
        "step_critical": rules.NEXT_STEP_CRITICAL_DAYS,
        "idle_factor": rules.NO_ACTIVITY_CRITICAL_FACTOR,
        "requalify_critical": rules.REQUALIFY_CRITICAL_DAYS,
        "labels": json.dumps({kind.value: str(kind.label) for kind in FlagKind}),
        "attention_url": reverse("pipeline:attention") + "?sort=age",
        # A deal's page, reversed once: SQL puts the id between prefix and suffix.
        "deal_url_prefix": deal_url[0],
        "deal_url_suffix": deal_url[1],
    }


def rules_fingerprint(params: dict[str, Any]) -> str:
    """What every decision and due date depends on besides the deals themselves."""
    inputs = {k: v for k, v in params.items() if k not in ("now", "ids")}
    inputs["rules_version"] = RULES_VERSION
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _result(row: tuple, *, full: bool = False) -> FlagRefreshResult:
    raised, cleared, updated, notified, checked = row
    return FlagRefreshResult(
        raised=raised,
        cleared=cleared,
        updated=updated,
        notified=notified,
        checked=checked,
        full=full,
    )


def flags_refresh(
    *,
    now: dt.datetime | None = None,
    opportunity_ids: Iterable[int] | None = None,
    full: bool = False,
    progress: Callable[[FlagRefreshResult, int, int], None] | None = None,
) -> FlagRefreshResult:
    """Bring the open attention flags in line with the rules: of the deals due for a look
    (see the module docstring), of every deal (`full`, or when the rules' settings
    changed since the last run), or of `opportunity_ids` only.

    Raises the flags that should be open and are not, updates the severity and
    explanation of those that changed, clears those no longer true (a closed deal has
    none), and notifies each owner once per run about the flags newly raised for them.
    Clearing is silent; a flag raised again after clearing is a new flag and notifies
    again. Refuses nothing.

    Global run: two statements in one transaction (three when full) — the advisory lock
    with this transaction's settings, the last run's fingerprint and the number of deals
    due, (mending missing schedule rows,) the refresh. With more than BATCH_DEALS deals to
    decide, the refresh runs in batches instead, each in its own transaction (the lock,
    the refresh of its deals; the last one records the run), and `progress(result so
    far, batch, batches)` is called after each. Targeted run: two — claim the deals'
    schedule rows, then the refresh — in the caller's transaction if any (no savepoint).
    """
    now = now or timezone.now()
    params = refresh_params(now)
    if opportunity_ids is not None:
        ids = sorted({int(pk) for pk in opportunity_ids})
        if not ids:
            return FlagRefreshResult(raised=0, cleared=0, updated=0, notified=0)
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute(CLAIM_SQL, {"ids": ids})
            cursor.execute(
                TARGETED_SQL, {**params, "ids": ids, "notify": True, "lo": None, "hi": None}
            )
            return _result(cursor.fetchone())
    fingerprint = rules_fingerprint(params)
    locking: dict[str, Any] = {"lock": REFRESH_LOCK_KEY, "work_mem": WORK_MEM, "now": now}
    run = {**params, "fingerprint": fingerprint, "notify": True, "lo": None, "hi": None}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(LOCK_SQL, locking)
        last_fingerprint, (due, scheduled) = cursor.fetchone()[3:]
        full = full or last_fingerprint != fingerprint
        run["full"] = full
        if full:
            cursor.execute(MEND_SQL)
        starts: list[int] = []
        if (scheduled if full else due) > BATCH_DEALS:
            mode = "full" if full else "scheduled"
            cursor.execute(BATCH_STARTS_SQL.format(due=DUE[mode]), {**run, "batch": BATCH_DEALS})
            starts = [row[0] for row in cursor.fetchall()]
        if len(starts) <= 1:
            cursor.execute(FULL_SQL if full else SCHEDULED_SQL, run)
            result = _result(cursor.fetchone(), full=full)
            _test_delay()
    if len(starts) > 1:
        result = _refresh_in_batches(starts, run, locking, progress=progress)
    if result.checked >= VACUUM_AFTER and not connection.in_atomic_block:
        # A run that rewrote many schedule rows leaves their old versions behind: the next
        # run's scan would pay for them (up to 2 s after a million-deal run, setting hint
        # bits), and the planner would still think most deals are due. Tidy up now.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) pipeline_flagschedule")
    return result


def _test_delay() -> None:
    if settings.TESTING and (delay := os.environ.get(TEST_DELAY_ENV)):
        time.sleep(float(delay))


def _refresh_in_batches(
    starts: list[int],
    run: dict[str, Any],
    locking: dict[str, Any],
    *,
    progress: Callable[[FlagRefreshResult, int, int], None] | None,
) -> FlagRefreshResult:
    """The global run's refresh, batch by batch: the deals from each of `starts` up to the
    next, each batch committed on its own (its deals' schedule rows locked only while it
    runs). Only the last batch records the run's fingerprint and notifies the owners of
    every flag the run raised (BATCH_NOTIFICATIONS_SQL): a run that stops half-way (a
    deploy, a killed worker) leaves the next run to decide everything again — the flags
    its batches raised stay, unannounced."""
    full = bool(run["full"])
    mode = "full" if full else "scheduled"
    bounds = list(zip([None, *starts[1:]], [*starts[1:], None], strict=True))
    total = FlagRefreshResult(raised=0, cleared=0, updated=0, notified=0, full=full)
    for number, (lo, hi) in enumerate(bounds, start=1):
        last = number == len(bounds)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BATCH_LOCK_SQL, locking)
            cursor.execute(
                refresh_sql(mode, state=last),
                {**run, "lo": lo, "hi": hi, "notify": False},
            )
            batch = _result(cursor.fetchone(), full=full)
            if last:
                cursor.execute(BATCH_NOTIFICATIONS_SQL, run)
                batch = dataclasses.replace(batch, notified=cursor.fetchone()[0])
            _test_delay()
        total = FlagRefreshResult(
            raised=total.raised + batch.raised,
            cleared=total.cleared + batch.cleared,
            updated=total.updated + batch.updated,
            notified=total.notified + batch.notified,
            checked=total.checked + batch.checked,
            full=full,
        )
        logger.info(
            "attention flags: batch %d of %d done, %d deals decided, %d flags raised so far",
            number,
            len(bounds),
            total.checked,
            total.raised,
        )
        if progress is not None:
            progress(total, number, len(bounds))
    return total
