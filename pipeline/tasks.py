"""Thin Celery tasks of the pipeline: each calls one service."""

from __future__ import annotations

from dataclasses import asdict

from pipeline.flags import flags_refresh
from salesops.tasking import reliable_task


@reliable_task(name="pipeline.refresh_flags", soft_time_limit=240, time_limit=300)
def refresh_flags() -> dict[str, int | bool]:
    """Raise, update and clear attention flags of the deals due for a look (every
    FLAGS_REFRESH_MINUTES on the beat). Returns the counts, the deals checked and whether
    the run was a full one.

    Late ack, retried with backoff on database errors (ReliableTask). Safe to run twice or
    concurrently: the service serialises runs with an advisory lock and a second run finds
    nothing to do; a run killed mid-way rolls back whole."""
    return asdict(flags_refresh())
