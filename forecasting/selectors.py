"""Forecasting reads."""

from __future__ import annotations

import datetime as dt

from django.db import connection

# The distinct weeks as a loose index scan of the (week, owner) index: one index probe per
# week instead of reading every row (~600,000 a week at a million deals).
WEEKS_SQL = """
WITH RECURSIVE weeks AS (
    (SELECT week FROM forecasting_pipelinesnapshot ORDER BY week DESC LIMIT 1)
    UNION ALL
    SELECT (SELECT s.week FROM forecasting_pipelinesnapshot s
            WHERE s.week < w.week ORDER BY s.week DESC LIMIT 1)
    FROM weeks w WHERE w.week IS NOT NULL
)
SELECT week FROM weeks WHERE week IS NOT NULL
"""


def snapshot_weeks() -> list[dt.date]:
    """The weeks (their Mondays) that have a pipeline snapshot, newest first. Snapshots
    are organisation-wide facts; who may see which rows is decided by the reads of the
    rows themselves, not here."""
    with connection.cursor() as cursor:
        cursor.execute(WEEKS_SQL)
        return [row[0] for row in cursor.fetchall()]
