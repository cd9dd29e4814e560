"""Thin Celery tasks of hiring: each calls one service."""

from __future__ import annotations

from hiring.services import candidates_anonymise
from salesops.tasking import reliable_task


@reliable_task(name="hiring.anonymise_candidates", soft_time_limit=540, time_limit=600)
def anonymise_candidates() -> dict[str, int]:
    """Anonymise the rejected and withdrawn candidates past the retention period (daily,
    on the beat). Set-based and idempotent: a rerun finds nothing more to do."""
    return {"anonymised": candidates_anonymise()}
