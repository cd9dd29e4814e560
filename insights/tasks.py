"""Thin Celery tasks of insights: each calls one service."""

from __future__ import annotations

from insights import facts
from insights.services import suggestions_refresh
from salesops.tasking import reliable_task


@reliable_task(name="insights.refresh_suggestions", soft_time_limit=540, time_limit=600)
def refresh_suggestions() -> dict[str, int]:
    """Draw the framework suggestions from the company's last twelve months (nightly, on
    the beat). Returns how many were created, brought up to date and withdrawn. Safe to
    run twice or concurrently: the service serialises runs and a rerun finds them made."""
    result = suggestions_refresh()
    return {"created": result.created, "updated": result.updated, "withdrawn": result.withdrawn}


@reliable_task(name="insights.refresh_deal_facts", soft_time_limit=540, time_limit=600)
def refresh_deal_facts() -> dict[str, int]:
    """Compute the behaviour facts of the deals queued since the last run (every minute, on
    the beat), so a study rarely has any to compute first. Returns how many it took."""
    return {"deals": facts.refresh()}
