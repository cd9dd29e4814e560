"""Attention flags: raise, update and clear them for the whole table in one SQL statement.

`flags_refresh` is what the hourly beat task and `manage.py refresh_flags` run. It is
set-based — no Python loop over opportunities — idempotent, and serialised by a
transaction-level advisory lock, so a second run that overlaps the first waits for it
and then finds nothing to do. The decisions are the ones of the pure functions in
pipeline/rules.py ("# --- attention flags"), written once more in SQL; a test
cross-checks both over generated data, so change the wording in both places.

`flags_refresh(opportunity_ids=[…])` runs the same statement for a few deals only, by
primary key and without the lock: the services that change a flag input (qualifying,
logging customer activity, editing dates or amount, moving or closing a deal) call it in
their own transaction, so the user sees the right flags at once and never waits behind
an hourly run. Why that is safe: the _TARGETED_NOTE comment below.

The statement, in order:
  desired  one row per (opportunity, kind) that should be open — severity, explanation,
           owner and deal name — from every OPEN opportunity with its stage, framework and
           latest qualification (calendar days in the organisation's timezone);
  changes  desired FULL JOIN the open flags, keeping only the differences:
           raise (desired, not open), clear (open, not desired), update (text/severity).
           A new flag's id is drawn here (nextval), so its notification needs no join
           back on (opportunity, kind);
  cleared / updated / raised   the writes (INSERT … ON CONFLICT DO NOTHING on the
           partial unique index one_open_flag_per_kind);
  notified one notification for the owner per flag actually inserted, keyed "flag:<id>"
           (ON CONFLICT on the unique dedupe_key), so a rerun can never notify twice.
Explanations name dates, not day counts (see rules.py), so an unchanged deal's flags are
not rewritten as days pass; only a severity crossing a threshold is.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from pipeline import rules
from pipeline.models import FlagKind

# pg_advisory_xact_lock key of the global refresh ("flag" in ASCII); only this module takes it.
REFRESH_LOCK_KEY = 0x666C6167
# Tests only: seconds to sleep inside the transaction after the writes and before the
# commit, so that a test can kill a worker mid-refresh. Ignored unless settings.TESTING.
TEST_DELAY_ENV = "SALESOPS_FLAGS_REFRESH_TEST_DELAY"
# For the global run's transaction only (set_config(…, is_local=true)); see bench/README.md.
# The targeted run needs neither this nor jit=off: its plan is a handful of index probes.
WORK_MEM = "256MB"

# _TARGETED_NOTE: why the targeted run needs no lock. It runs inside the service's
# transaction, which holds the deal's row lock, so two targeted runs on one deal are
# serialised by that. Against a global run (or another targeted run) every write stays
# correct under READ COMMITTED: a raise is INSERT … ON CONFLICT DO NOTHING on the partial
# unique index, so a concurrent insert of the same open flag waits for the other
# transaction and then does nothing (and, having inserted nothing, notifies nobody); a
# clear or update re-checks `cleared_at IS NULL` on the newest row version after waiting
# for the row lock, so it never touches a flag the other run already cleared. What a
# lock-free targeted run cannot prevent: a global run whose statement snapshot predates the
# user's commit decides from the old deal state, so it may raise (and notify) a flag the
# user has just resolved, or clear one that just became due, when it had not been raised
# yet. Such a flag is wrong until the next hourly run or the next targeted run on that
# deal, which put it right; nothing is duplicated and no constraint error reaches anyone.


@dataclass(frozen=True)
class FlagRefreshResult:
    raised: int
    cleared: int
    updated: int
    notified: int


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


# One row per (opportunity, kind) that should be open. {opp_filter} and {q_filter} narrow
# it to the targeted deals (empty for the global run). The five kinds come out of one pass
# over the deals crossed with the five kind names (CASE on the kind; the filter drops the
# NULL severities before any text is built), not five scans of a CTE. Not LATERAL
# (VALUES …) either: a Values Scan re-initialises its expressions on every rescan, which
# cost 4.6 s for 600,000 deals.
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
FROM (
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
           END AS sev_rq
    FROM (
        SELECT b.*,
               -- requalify_due: which lapse (none / voided / expired) and since which day
               CASE WHEN b.framework_name IS NULL THEN NULL
                    WHEN b.q_id IS NULL THEN 'none'
                    WHEN b.invalidated_at IS NOT NULL THEN 'voided'
                    WHEN %(now)s::timestamptz
                         >= b.assessed_at + b.validity * interval '24 hours' THEN 'expired'
               END AS rq_state,
               LEAST(b.today, {
    _local('''CASE
                    WHEN b.q_id IS NULL THEN b.created_at
                    WHEN b.invalidated_at IS NOT NULL THEN b.invalidated_at
                    ELSE b.assessed_at + b.validity * interval '24 hours' END''')
}) AS rq_since
        FROM (
            SELECT o.id AS opportunity_id,
                   o.owner_id,
                   o.name AS opp_name,
                   o.created_at,
                   o.last_activity_at,
                   o.close_date,
                   o.next_step,
                   o.next_step_date,
                   s.name AS stage_name,
                   s.warn_days,
                   s.rot_days,
                   fw.name AS framework_name,
                   q.id AS q_id,
                   q.assessed_at,
                   q.invalidated_at,
                   q.invalidated_reason,
                   COALESCE(NULLIF(s.no_activity_days, 0), %(no_activity_days)s) AS idle_limit,
                   COALESCE(NULLIF(s.qualification_validity_days, 0), %(validity_days)s)
                       AS validity,
                   t.today,
                   {_local("o.stage_entered_at")} AS entered_on,
                   GREATEST(0, t.today - {_local("o.stage_entered_at")}) AS in_stage,
                   t.today - o.close_date AS past_close,
                   {_local("COALESCE(o.last_activity_at, o.created_at)")} AS idle_since,
                   GREATEST(0, t.today - {_local("COALESCE(o.last_activity_at, o.created_at)")})
                       AS idle,
                   t.today - o.next_step_date AS step_overdue
            FROM pipeline_opportunity o
            CROSS JOIN (SELECT {_local("%(now)s::timestamptz")} AS today) t
            JOIN pipeline_stage s ON s.id = o.stage_id
            JOIN pipeline_pipeline p ON p.id = o.pipeline_id
            LEFT JOIN pipeline_qualificationframework fw ON fw.id = p.framework_id
            LEFT JOIN (
                -- The latest qualification of every deal (the one that counts), in one
                -- ordered pass over the (opportunity, -assessed_at, -id) index.
                SELECT DISTINCT ON (q.opportunity_id)
                       q.opportunity_id, q.id, q.assessed_at, q.invalidated_at,
                       q.invalidated_reason
                FROM pipeline_qualification q
                {{q_filter}}
                ORDER BY q.opportunity_id, q.assessed_at DESC, q.id DESC
            ) q ON q.opportunity_id = o.id
            WHERE o.status = 'open' {{opp_filter}}
            OFFSET 0  -- a fence: compute each column once per row, not once per use
        ) b
        OFFSET 0
    ) f
    OFFSET 0
) v
CROSS JOIN (VALUES ('stuck_in_stage'), ('past_close_date'), ('no_activity'),
                   ('next_step_overdue'), ('requalify_due')) AS k(kind)
WHERE CASE k.kind
          WHEN 'stuck_in_stage' THEN v.sev_stuck
          WHEN 'past_close_date' THEN v.sev_close
          WHEN 'no_activity' THEN v.sev_idle
          WHEN 'next_step_overdue' THEN v.sev_step
          WHEN 'requalify_due' THEN v.sev_rq
      END IS NOT NULL
"""

# The diff against the open flags and the writes, from the `desired` CTE; {flag_filter}
# narrows the open flags to the targeted deals (empty for the global run).
WRITE_SQL = """
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
    FROM {desired} d
    FULL JOIN (
        SELECT id, opportunity_id, kind, severity, explanation
        FROM pipeline_opportunityflag
        WHERE cleared_at IS NULL {flag_filter}
    ) c ON c.opportunity_id = d.opportunity_id AND c.kind = d.kind
    WHERE c.id IS NULL OR d.kind IS NULL
       OR c.severity <> d.severity OR c.explanation <> d.explanation
),
cleared AS (
    UPDATE pipeline_opportunityflag f SET cleared_at = %(now)s
    FROM changes ch
    WHERE ch.action = 'clear' AND f.id = ch.flag_id AND f.cleared_at IS NULL
    RETURNING f.id
),
updated AS (
    UPDATE pipeline_opportunityflag f SET severity = ch.severity, explanation = ch.explanation
    FROM changes ch
    WHERE ch.action = 'update' AND f.id = ch.flag_id AND f.cleared_at IS NULL
    RETURNING f.id
),
raised AS (
    INSERT INTO pipeline_opportunityflag
        (id, opportunity_id, kind, severity, explanation, raised_at, cleared_at)
    SELECT ch.new_id, ch.opportunity_id, ch.kind, ch.severity, ch.explanation, %(now)s, NULL
    FROM changes ch
    WHERE ch.action = 'raise'
    ON CONFLICT (opportunity_id, kind) WHERE cleared_at IS NULL DO NOTHING
    RETURNING id
),
notified AS (
    INSERT INTO salesops_notification
        (recipient_id, dedupe_key, title, body, link, created_at, read_at, emailed_at)
    SELECT ch.owner_id,
           'flag:' || ch.new_id,
           left((%(labels)s::jsonb ->> ch.kind) || ': ' || ch.opp_name, 200),
           ch.explanation,
           '/opportunities/' || ch.opportunity_id || '/',
           %(now)s, NULL, NULL
    FROM changes ch
    WHERE ch.action = 'raise'
      -- Only flags really inserted (a concurrent targeted run may have raised the same
      -- one first). Usually all were: then the count settles it and the hashed subplan
      -- over RETURNING is never built (1 s for a million raises).
      AND ((SELECT count(*) FROM raised)
               = (SELECT count(*) FROM changes WHERE action = 'raise')
           OR ch.new_id IN (SELECT id FROM raised))
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM raised),
       (SELECT count(*) FROM cleared),
       (SELECT count(*) FROM updated),
       (SELECT count(*) FROM notified)
"""


def _refresh_sql(*, targeted: bool) -> str:
    ids = "%(ids)s"
    return (
        "WITH desired AS ("
        + DESIRED_SQL.format(
            q_filter=f"WHERE q.opportunity_id = ANY({ids})" if targeted else "",
            opp_filter=f"AND o.id = ANY({ids})" if targeted else "",
        )
        + "),\n"
        + WRITE_SQL.format(
            desired="desired", flag_filter=f"AND opportunity_id = ANY({ids})" if targeted else ""
        )
    )


GLOBAL_SQL = _refresh_sql(targeted=False)
TARGETED_SQL = _refresh_sql(targeted=True)


def refresh_params(now: dt.datetime) -> dict[str, object]:
    return {
        "now": now,
        "tz": settings.TIME_ZONE,
        "no_activity_days": settings.NO_ACTIVITY_DAYS,
        "validity_days": settings.QUALIFICATION_VALIDITY_DAYS,
        "past_close_critical": rules.PAST_CLOSE_CRITICAL_DAYS,
        "step_critical": rules.NEXT_STEP_CRITICAL_DAYS,
        "idle_factor": rules.NO_ACTIVITY_CRITICAL_FACTOR,
        "requalify_critical": rules.REQUALIFY_CRITICAL_DAYS,
        "labels": json.dumps({kind.value: str(kind.label) for kind in FlagKind}),
    }


def flags_refresh(
    *, now: dt.datetime | None = None, opportunity_ids: Iterable[int] | None = None
) -> FlagRefreshResult:
    """Bring the open attention flags in line with the rules: of every opportunity, or of
    `opportunity_ids` only.

    Raises the flags that should be open and are not, updates the severity and
    explanation of those that changed, clears those no longer true (a closed deal has
    none), and notifies each owner once per newly raised flag. Clearing is silent; a flag
    raised again after clearing is a new flag and notifies again. Refuses nothing.

    Global run: two statements in one transaction — the advisory lock (with this
    transaction's settings), then the refresh. Targeted run: the one statement, no lock
    (see the _TARGETED_NOTE comment), in the caller's transaction if any (no savepoint).
    """
    now = now or timezone.now()
    params = refresh_params(now)
    if opportunity_ids is not None:
        ids = sorted({int(pk) for pk in opportunity_ids})
        if not ids:
            return FlagRefreshResult(raised=0, cleared=0, updated=0, notified=0)
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute(TARGETED_SQL, {**params, "ids": ids})
            raised, cleared, updated, notified = cursor.fetchone()
        return FlagRefreshResult(raised=raised, cleared=cleared, updated=updated, notified=notified)
    with transaction.atomic(), connection.cursor() as cursor:
        # JIT-compiling these statements' many expressions costs more than it saves; the
        # hash joins of a million deals fit in WORK_MEM, not in the default 4 MB.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s), set_config('jit', 'off', true),"
            " set_config('work_mem', %s, true)",
            [REFRESH_LOCK_KEY, WORK_MEM],
        )
        cursor.execute(GLOBAL_SQL, params)
        raised, cleared, updated, notified = cursor.fetchone()
        if settings.TESTING and (delay := os.environ.get(TEST_DELAY_ENV)):
            time.sleep(float(delay))
    return FlagRefreshResult(raised=raised, cleared=cleared, updated=updated, notified=notified)
