"""Thin Celery tasks of the import: each calls one service."""

from __future__ import annotations

from exchange import services
from exchange.services import RUN_TASK
from salesops.tasking import reliable_task


# A large file may take minutes; a killed worker's task comes back (late ack) and the
# batch's claim (a conditional UPDATE) keeps a second delivery from running it twice.
@reliable_task(name=RUN_TASK, soft_time_limit=1800, time_limit=1900)
def import_batch_run(batch_id: int) -> str:
    """Run a queued import; returns the batch's status."""
    return services.batch_run(batch_id=batch_id).status
