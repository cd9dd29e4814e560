"""Thin Celery tasks of coaching: each calls one service."""

from __future__ import annotations

from dataclasses import asdict

from coaching.cadence import cadence_refresh
from salesops.tasking import reliable_task


@reliable_task(name="coaching.refresh_cadence", soft_time_limit=240, time_limit=300)
def refresh_cadence() -> dict[str, int]:
    """Raise and clear the overdue-1:1 and overdue-action-item flags (every
    COACHING_CADENCE_REFRESH_MINUTES on the beat). Returns the counts.

    Late ack, retried with backoff on database errors (ReliableTask). Safe to run twice or
    concurrently: the service serialises runs with an advisory lock and a second run finds
    nothing to do; a run killed mid-way rolls back whole."""
    return asdict(cadence_refresh())
