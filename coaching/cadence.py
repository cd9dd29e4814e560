"""The coaching cadence: who is due a 1:1 when (the organisation's settings), and the
set-based refresh of the cadence flags.

Whose rep is whom: a rep's 1:1s are owed by the nearest active manager up their team's
parent chain — the manager of the rep's own team, or, when that team has none (or an
inactive one), the manager of its parent team, and so on. A team "managed" by the rep
themselves is skipped. A rep with no such manager (no team, or no manager anywhere up the
chain) gets no 1:1 flag: there is nobody to tell. `REP_CADENCE_SQL` is that rule and the
due date of every active rep in one pass; the coverage selector reads the same SQL, so the
flags and the coverage page can never disagree.

`cadence_refresh` (the beat task every COACHING_CADENCE_REFRESH_MINUTES, and the services
after a 1:1 or an action item changed) brings the open CoachingFlags in line with the rule:

  one_on_one_overdue    to the rep's manager, while today (in the organisation's
                        timezone) is after the due date of coaching.rules.one_on_one_due_on;
  action_item_overdue   to the item's (active) owner, while it is open and its due date
                        has passed.

Three statements in one transaction, serialised with a transaction-level advisory lock
(a run that overlaps another waits for it, then finds nothing to do):
  1. the lock;
  2. clear the open flags no longer wanted (or wanted for another recipient: a rep who
     moved team, an item given to someone else), and rewrite the explanation of those
     whose text changed (a 1:1 deleted moves the due date);
  3. raise the wanted flags not open yet and notify each recipient ONCE for the flags
     raised for them in this run, keyed "coaching:<recipient>:<first new flag id>", so a
     rerun (which raises nothing) never notifies again.
Clearing and raising are separate statements because a moved rep's old flag must be
cleared before the new one fits the one-open-flag-per-rep index. Explanations name the
due date, never a day count, so an unchanged flag is not rewritten as days pass.

The notifications are written in SQL with the semantics of
salesops.services.notification_send (insert unless the dedupe key exists), because one
notification per recipient is a set, not a loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from coaching import flag_providers
from coaching.flag_providers import FlagProvider
from coaching.rules import Cadence
from salesops import organisation
from salesops.services import notifications_insert_sql

# pg_advisory_xact_lock key of the cadence refresh ("cdnc" in ASCII).
REFRESH_LOCK_KEY = 0x63646E63


def cadence_from_settings() -> Cadence:
    """The organisation's cadence: settings.COACHING_ONE_ON_ONE_DAYS (default 14),
    COACHING_NEW_REP_ONE_ON_ONE_DAYS (7) during COACHING_NEW_REP_DAYS (90)."""
    return Cadence(
        regular_days=settings.COACHING_ONE_ON_ONE_DAYS,
        new_rep_days=settings.COACHING_NEW_REP_ONE_ON_ONE_DAYS,
        new_period_days=settings.COACHING_NEW_REP_DAYS,
    )


@dataclass(frozen=True)
class CadenceResult:
    raised: int
    cleared: int
    updated: int
    notified: int  # notifications created: one per recipient with newly raised flags


NOTHING = CadenceResult(raised=0, cleared=0, updated=0, notified=0)


def day_sql(expr: str) -> str:
    """SQL: a date as 3 Nov 2026 (to_char's Mon is English without TM)."""
    return f"to_char({expr}, 'FMDD Mon YYYY')"


def format_day(day: dt.date) -> str:
    """Python for `day_sql`, for the pages and the tests."""
    return f"{day.day} {day:%b %Y}"


TODAY_SQL = "((%(now)s::timestamptz AT TIME ZONE %(tz)s)::date)"

# The first CTEs of every statement that needs the rule (the refresh and the coverage
# selector): each team's ancestors (itself at depth 0; a cycle of parents stops at depth
# 64), the active managers up each team's chain, and per active rep: manager, first day,
# last 1:1 and due date. `%(rep_ids)s` (NULL: everyone) limits the reps.
REP_CADENCE_SQL = """
RECURSIVE chain (team_id, ancestor_id, depth) AS (
    SELECT t.id, t.id, 0 FROM salesops_team t
    UNION ALL
    SELECT c.team_id, t.parent_id, c.depth + 1
    FROM chain c JOIN salesops_team t ON t.id = c.ancestor_id
    WHERE t.parent_id IS NOT NULL AND c.depth < 64
),
team_managers AS (
    SELECT c.team_id, t.manager_id, c.depth
    FROM chain c
    JOIN salesops_team t ON t.id = c.ancestor_id
    JOIN salesops_user m ON m.id = t.manager_id AND m.is_active
),
rep_manager AS (
    SELECT DISTINCT ON (u.id) u.id AS rep_id, tm.manager_id
    FROM salesops_user u
    JOIN team_managers tm ON tm.team_id = u.team_id AND tm.manager_id <> u.id
    WHERE u.is_active AND u.role = 'rep'
    ORDER BY u.id, tm.depth
),
rep_start AS (
    SELECT u.id AS rep_id, u.team_id,
           COALESCE(NULLIF(btrim(u.first_name || ' ' || u.last_name), ''), u.username)
               AS rep_name,
           COALESCE(u.started_on, (u.date_joined AT TIME ZONE %(tz)s)::date) AS started_on,
           (SELECT max(s.held_on) FROM coaching_coachingsession s WHERE s.rep_id = u.id)
               AS last_held_on
    FROM salesops_user u
    WHERE u.is_active AND u.role = 'rep'
      AND (%(rep_ids)s::bigint[] IS NULL OR u.id = ANY(%(rep_ids)s::bigint[]))
),
rep_cadence AS (
    -- rules.one_on_one_due_on: from the last 1:1 (or the first day), the new-rep interval
    -- while that day is within the rep's first period, else the regular one.
    SELECT r.*, rm.manager_id,
           r.since + CASE WHEN r.since < r.started_on + %(new_period_days)s
                          THEN %(new_rep_days)s ELSE %(regular_days)s END AS due_on
    FROM (SELECT s.*, COALESCE(s.last_held_on, s.started_on) AS since FROM rep_start s) r
    LEFT JOIN rep_manager rm ON rm.rep_id = r.rep_id
)"""


# One row per flag that should be open, with its subject (the rep, the action item or a
# provider's subject) and, for a provider's flag, its id of the subject and the link.
# Provider i's parameters: its kind, whether this run decides it, and its targeted ids.
def _desired_sql(providers: list[FlagProvider]) -> str:
    provided = "".join(
        f"""
    UNION ALL
    SELECT %(kind_{i})s::varchar, p.subject_id, p.rep_id, NULL::bigint, p.recipient_id,
           p.subject, left(p.explanation, 300), p.subject_id, p.link
    FROM ({provider.desired_sql}) p
    WHERE %(do_{i})s AND p.recipient_id IS NOT NULL
      AND (%(ids_{i})s::bigint[] IS NULL OR p.subject_id = ANY(%(ids_{i})s::bigint[]))"""
        for i, provider in enumerate(providers)
    )
    return f"""
desired AS (
    SELECT 'one_on_one_overdue'::varchar AS kind, rc.rep_id AS subject_id,
           rc.rep_id, NULL::bigint AS action_item_id, rc.manager_id AS recipient_id,
           rc.rep_name AS subject,
           left('1:1 with ' || rc.rep_name || ' was due on ' || {day_sql("rc.due_on")}
                || COALESCE(' (last 1:1 on ' || {day_sql("rc.last_held_on")} || ')',
                            ' (no 1:1 yet since starting on ' || {day_sql("rc.started_on")}
                            || ')'),
                300) AS explanation,
           NULL::bigint AS provided_id, ''::varchar AS link
    FROM rep_cadence rc
    WHERE %(do_reps)s AND rc.manager_id IS NOT NULL AND {TODAY_SQL} > rc.due_on
    UNION ALL
    SELECT 'action_item_overdue', a.id, NULL, a.id, a.owner_id, a.title,
           left('“' || a.title || '” was due on ' || {day_sql("a.due_on")}, 300), NULL, ''
    FROM coaching_actionitem a
    JOIN salesops_user o ON o.id = a.owner_id AND o.is_active
    WHERE %(do_items)s AND a.done_at IS NULL AND a.due_on < {TODAY_SQL}
      AND (%(item_ids)s::bigint[] IS NULL OR a.id = ANY(%(item_ids)s::bigint[])){provided}
)"""


# A flag's subject: a provider's id of it, else the rep (1:1) or the action item.
FLAG_SUBJECT_SQL = "COALESCE({f}.subject_id, {f}.rep_id, {f}.action_item_id)"


def _open_sql(providers: list[FlagProvider]) -> str:
    """The open flags this run decides (all, or those of the targeted subjects)."""
    provided = "".join(
        f"""
           OR (f.kind = %(kind_{i})s AND %(do_{i})s
               AND (%(ids_{i})s::bigint[] IS NULL OR f.subject_id = ANY(%(ids_{i})s::bigint[])))"""
        for i in range(len(providers))
    )
    return f"""
open_flags AS (
    SELECT f.id, f.kind, {FLAG_SUBJECT_SQL.format(f="f")} AS subject_id,
           f.recipient_id, f.explanation
    FROM coaching_coachingflag f
    WHERE f.cleared_at IS NULL
      AND ((f.kind = 'one_on_one_overdue' AND %(do_reps)s
            AND (%(rep_ids)s::bigint[] IS NULL OR f.rep_id = ANY(%(rep_ids)s::bigint[])))
           OR (f.kind = 'action_item_overdue' AND %(do_items)s
               AND (%(item_ids)s::bigint[] IS NULL
                    OR f.action_item_id = ANY(%(item_ids)s::bigint[]))){provided})
)"""


def _clear_sql(providers: list[FlagProvider]) -> str:
    return f"""
WITH {REP_CADENCE_SQL},
{_desired_sql(providers)},
{_open_sql(providers)},
cleared AS (
    UPDATE coaching_coachingflag f SET cleared_at = %(now)s
    FROM open_flags o
    WHERE f.id = o.id AND NOT EXISTS (
        SELECT 1 FROM desired d
        WHERE d.kind = o.kind AND d.subject_id = o.subject_id
          AND d.recipient_id = o.recipient_id)
    RETURNING f.id
),
updated AS (
    UPDATE coaching_coachingflag f SET explanation = d.explanation
    FROM open_flags o
    JOIN desired d ON d.kind = o.kind AND d.subject_id = o.subject_id
                  AND d.recipient_id = o.recipient_id
    WHERE f.id = o.id AND f.explanation <> d.explanation
    RETURNING f.id
)
SELECT (SELECT count(*) FROM cleared), (SELECT count(*) FROM updated)
"""


# One notification per recipient: the flag's own title and explanation when it is their
# only new one, else a count per kind (sent through the notification service's set form).
_NOTIFICATIONS_SQL = """
    SELECT g.recipient_id,
           'coaching:' || g.recipient_id || ':' || g.first_id,
           CASE WHEN g.n > 1 THEN g.n || ' coaching items overdue'
                ELSE k.title || ': ' || g.subject END,
           CASE WHEN g.n > 1 THEN (SELECT string_agg(pk.part, ' · ' ORDER BY pk.ord)
                                   FROM per_kind pk WHERE pk.recipient_id = g.recipient_id)
                ELSE g.explanation END,
           CASE WHEN g.n = 1 AND g.kind = 'one_on_one_overdue'
                THEN %(session_new_url)s || '?rep=' || g.rep_id
                WHEN g.n = 1 AND g.link <> '' THEN g.link
                ELSE %(home_url)s END
    FROM per_recipient g
    JOIN kinds k ON k.kind = g.kind"""


def _raise_sql(providers: list[FlagProvider]) -> str:
    """Raise what is wanted and not open; one notification per recipient: the flag's own
    title and explanation when it is their only new one, else a count per kind."""
    return f"""
WITH {REP_CADENCE_SQL},
{_desired_sql(providers)},
raised AS (
    INSERT INTO coaching_coachingflag
        (kind, recipient_id, rep_id, action_item_id, subject_id, link, explanation,
         raised_at, cleared_at)
    SELECT d.kind, d.recipient_id, d.rep_id, d.action_item_id, d.provided_id, d.link,
           d.explanation, %(now)s, NULL
    FROM desired d
    WHERE NOT EXISTS (
        SELECT 1 FROM coaching_coachingflag f
        WHERE f.cleared_at IS NULL AND f.kind = d.kind
          AND {FLAG_SUBJECT_SQL.format(f="f")} = d.subject_id)
    ORDER BY d.recipient_id, d.kind, d.subject_id
    -- Never taken while runs hold the advisory lock; a guard, not a path.
    ON CONFLICT DO NOTHING
    RETURNING id, kind, recipient_id, rep_id, action_item_id, subject_id, explanation
),
kinds AS (
    SELECT * FROM unnest(%(kinds)s::text[], %(titles)s::text[], %(plurals)s::text[])
        WITH ORDINALITY AS k(kind, title, plural, ord)
),
per_recipient AS (
    SELECT r.recipient_id, count(*) AS n, min(r.id) AS first_id,
           max(r.kind) AS kind, max(r.rep_id) AS rep_id, max(r.explanation) AS explanation,
           max(d.subject) AS subject, max(d.link) AS link
    FROM raised r
    JOIN desired d ON d.kind = r.kind AND d.subject_id = {FLAG_SUBJECT_SQL.format(f="r")}
    GROUP BY r.recipient_id
),
per_kind AS (
    SELECT r.recipient_id, k.ord, k.plural || ': ' || count(*) AS part
    FROM raised r JOIN kinds k ON k.kind = r.kind
    GROUP BY r.recipient_id, k.ord, k.plural
),
notified AS ({notifications_insert_sql(_NOTIFICATIONS_SQL)})
SELECT (SELECT count(*) FROM raised), (SELECT count(*) FROM notified)
"""


def cadence_params(
    *,
    now: dt.datetime,
    rep_ids: list[int] | None = None,
    cadence: Cadence | None = None,
) -> dict[str, Any]:
    """The parameters of REP_CADENCE_SQL (and TODAY_SQL)."""
    cadence = cadence or cadence_from_settings()
    return {
        "now": now,
        "tz": organisation.current().tz().key,
        "rep_ids": rep_ids,
        "regular_days": cadence.regular_days,
        "new_rep_days": cadence.new_rep_days,
        "new_period_days": cadence.new_period_days,
    }


# Coaching's own kinds: the notification's title for one flag, the count's words for many.
OWN_KINDS = [
    ("one_on_one_overdue", "1:1 overdue", "1:1s overdue"),
    ("action_item_overdue", "Action item overdue", "action items overdue"),
]


def _ids(values: Iterable[int | str] | None) -> list[int] | None:
    return None if values is None else sorted({int(v) for v in values})


def cadence_refresh(
    *,
    now: dt.datetime | None = None,
    rep_ids: Iterable[int | str] | None = None,
    action_item_ids: Iterable[int | str] | None = None,
    provided: Mapping[str, Iterable[int | str]] | None = None,
) -> CadenceResult:
    """Bring the open coaching flags in line with the cadence (see the module docstring):
    raise what is overdue, clear what no longer is (or moved to another recipient, who
    gets a new flag), rewrite an explanation whose due date changed, and notify each
    recipient once per run about the flags newly raised for them. Clearing is silent.

    Without ids: every rep, every action item and every provider's subjects (the beat).
    With `rep_ids`, `action_item_ids` and/or `provided` ({provider kind: its subject
    ids}): only those reps' 1:1 flags, those items' flags and those subjects' flags (a
    part whose ids are not given is left alone) — what the services call after a 1:1, an
    action item or a provider's subject changed, inside their own transaction.
    Idempotent: a rerun changes nothing. Refuses nothing."""
    now = now or timezone.now()
    providers = flag_providers.providers()
    reps, items = _ids(rep_ids), _ids(action_item_ids)
    wanted = {kind: _ids(ids) for kind, ids in (provided or {}).items()}
    targeted = reps is not None or items is not None or provided is not None
    do_reps = not targeted or bool(reps)
    do_items = not targeted or bool(items)
    do_provided = [not targeted or bool(wanted.get(p.kind)) for p in providers]
    if not (do_reps or do_items or any(do_provided)):
        return NOTHING
    kinds = [*OWN_KINDS, *((p.kind, p.label, p.plural) for p in providers)]
    params: dict[str, Any] = {
        # A part left alone gets an empty id list, so its CTEs read no rows at all.
        **cadence_params(now=now, rep_ids=reps if do_reps else []),
        "item_ids": items if do_items else [],
        "do_reps": do_reps,
        "do_items": do_items,
        "home_url": reverse("coaching:home"),
        "session_new_url": reverse("coaching:session_create"),
        "kinds": [k for k, _, _ in kinds],
        "titles": [title for _, title, _ in kinds],
        "plurals": [plural for _, _, plural in kinds],
    }
    for i, (provider, does) in enumerate(zip(providers, do_provided, strict=True)):
        params.update(provider.params())
        params[f"kind_{i}"] = provider.kind
        params[f"do_{i}"] = does
        params[f"ids_{i}"] = (wanted.get(provider.kind) if targeted else None) if does else []
    with transaction.atomic(), connection.cursor() as cursor:
        # Runs (global and targeted) serialise here; a targeted run holds it until its
        # caller's transaction commits — milliseconds, it decides a handful of rows.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK_KEY])
        cursor.execute(_clear_sql(providers), params)
        cleared, updated = cursor.fetchone()
        cursor.execute(_raise_sql(providers), params)
        raised, notified = cursor.fetchone()
    return CadenceResult(raised=raised, cleared=cleared, updated=updated, notified=notified)
