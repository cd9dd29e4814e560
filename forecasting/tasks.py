"""Thin Celery tasks of forecasting: each calls one service."""

from __future__ import annotations

from forecasting.selectors import history_rates
from forecasting.services import pipeline_snapshot_take
from salesops.tasking import reliable_task


@reliable_task(name="forecasting.take_pipeline_snapshot", soft_time_limit=240, time_limit=300)
def take_pipeline_snapshot() -> dict[str, int | str]:
    """Take the current week's pipeline snapshot (Mondays at PIPELINE_SNAPSHOT_HOUR, the
    organisation's timezone, on the beat). Returns the week and the counts.

    Late ack, retried with backoff on database errors (ReliableTask). Safe to run twice or
    concurrently: the service serialises runs with an advisory lock and a rerun inserts
    only deals the week does not have yet; a run killed mid-way rolls back whole."""
    result = pipeline_snapshot_take()
    return {
        "week": result.week.isoformat(),
        "inserted": result.inserted,
        "skipped_existing": result.skipped_existing,
    }


@reliable_task(name="forecasting.warm_history_rates", soft_time_limit=240, time_limit=300)
def warm_history_rates() -> dict[str, int]:
    """Compute the day's win rates from history into the cache (daily, just after
    midnight in the organisation's timezone): an aggregate over a year of stage history
    that would otherwise hold up the day's first forecast read. Returns how many stage and
    age-bucket cells it counted. Safe to repeat: a second run finds them cached."""
    rows = history_rates()
    return {"cells": sum(1 for row in rows if row[0] is not None)}
