"""The weekly pipeline snapshot.

`pipeline_snapshot_take` copies every open opportunity's stage, amount, currency,
forecast category and close date (with its owner and the owner's team) into the week's
`PipelineSnapshot` rows with one set-based `INSERT … SELECT`.

Idempotent per week, "first take wins": a row is never updated once taken — a snapshot is
the state at the moment it was taken, so the Monday run stands even when the job runs
again later in the week. A rerun inserts only the deals the week does not have yet (a deal
opened since the first run), with their state at the rerun; `ON CONFLICT DO NOTHING` on
the (week, opportunity) unique constraint makes that hold under any interleaving. Runs are
serialised by a transaction-level advisory lock, so two runs that overlap do the work once
and report exact counts: the second waits, then inserts only what the first did not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from forecasting import rules
from forecasting.services.periods import local_today
from salesops import organisation
from salesops.exceptions import ValidationFailed

# pg_advisory_xact_lock key of the snapshot ("snap" in ASCII); only this module takes it.
SNAPSHOT_LOCK_KEY = 0x736E6170

# Every open deal that existed by the end of the week; ON CONFLICT skips the deals the
# week has already. Deliberately no NOT EXISTS anti-join against the week's rows: planned
# on an empty or freshly truncated table it became a nested loop whose inner scan reads
# the very heap the statement is filling — quadratic (68,000 rows in 95 s instead of
# 600,000 in 17 s, see bench/README.md). The conflict check is one probe of the unique
# index per deal, whatever the statistics say.
# The count of the week's rows reads the statement's snapshot, taken after the lock was
# granted (a new statement) and blind to this statement's own inserts: the rows earlier
# runs wrote.
TAKE_SQL = """
WITH inserted AS (
INSERT INTO forecasting_pipelinesnapshot
    (week, opportunity_id, owner_id, team_id, stage_id, forecast_category, amount,
     currency, close_date, status)
SELECT %(week)s::date, o.id, o.owner_id, u.team_id, o.stage_id, o.forecast_category,
       o.amount, o.currency, o.close_date, o.status
FROM pipeline_opportunity o
JOIN salesops_user u ON u.id = o.owner_id
WHERE o.status = 'open'
  AND o.created_at < %(week_end)s
ON CONFLICT (week, opportunity_id) DO NOTHING
RETURNING 1
)
SELECT (SELECT count(*) FROM inserted),
       (SELECT count(*) FROM forecasting_pipelinesnapshot WHERE week = %(week)s::date)
"""


@dataclass(frozen=True)
class SnapshotResult:
    week: dt.date
    inserted: int  # rows added by this run
    skipped_existing: int  # rows the week already had from earlier runs, left as they were


def pipeline_snapshot_take(
    *, week: dt.date | None = None, now: dt.datetime | None = None
) -> SnapshotResult:
    """Take the week's pipeline snapshot: one row per open opportunity (created before the
    week ended) that the week does not have yet. `week` defaults to the current week in
    the organisation's timezone (its Monday); `now` is the moment taken as "now".

    Refuses (ValidationFailed, nothing written) a `week` that is not a Monday or that lies
    after the current week: a snapshot records the present, it cannot be taken ahead. An
    earlier week is accepted — a run that missed its Monday completes the week it belongs
    to — but it records the deals' state now, and only deals created before that week
    ended."""
    now = now or timezone.now()
    current = rules.week_start(local_today(now))
    if week is None:
        week = current
    elif not isinstance(week, dt.date) or isinstance(week, dt.datetime):
        raise ValidationFailed("The week must be a date.", details={"week": ["Not a date."]})
    elif week.weekday() != 0:
        raise ValidationFailed(
            f"{week.isoformat()} is not the start of a week.",
            details={"week": ["A week starts on a Monday."]},
        )
    elif week > current:
        raise ValidationFailed(
            f"The week of {week.isoformat()} has not begun.",
            details={"week": [f"The current week began on {current.isoformat()}."]},
        )
    week_end = organisation.current().start_of(week + dt.timedelta(days=7))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SNAPSHOT_LOCK_KEY])
        cursor.execute(TAKE_SQL, {"week": week, "week_end": week_end})
        inserted, existing = cursor.fetchone()
    return SnapshotResult(week=week, inserted=inserted, skipped_existing=existing)
