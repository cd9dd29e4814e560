"""The Celery app of bench/celery_reliability.py's workers (not used by the project).

``BENCH_CELERY_MODE=default`` switches the project's reliability settings back to
Celery's defaults (early ack, prefetch 4, kombu's 1 h visibility timeout swept every
100 s, no lease renewal, no autoretry); ``ours`` (the default) keeps the settings and
``ReliableTask`` exactly as production uses them.
"""

from __future__ import annotations

import os

from celery import Task
from django.db import connection, transaction

from salesops.celery import app
from salesops.tasking import ReliableTask, VisibilityLease

MODE = os.environ.get("BENCH_CELERY_MODE", "ours")
WORK_SECONDS = float(os.environ.get("BENCH_WORK_SECONDS", "0.7"))
TABLE = "bench_celery_effect"

if MODE == "default":
    app.conf.update(
        task_acks_late=False,
        task_reject_on_worker_lost=None,
        worker_prefetch_multiplier=4,
        broker_transport_options={},
        task_time_limit=None,
        task_soft_time_limit=None,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    app.steps["consumer"].discard(VisibilityLease)
    base: type[Task] = Task
elif MODE == "ours":
    base = ReliableTask
else:
    raise SystemExit(f"BENCH_CELERY_MODE must be 'default' or 'ours', not {MODE!r}")


@app.task(name="bench.write", base=base)
def write(marker: str) -> str:
    """~0.7 s of database work whose effect is one row per marker (runs counts commits)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (marker, runs) VALUES (%s, 1) "
            f"ON CONFLICT (marker) DO UPDATE SET runs = {TABLE}.runs + 1",
            [marker],
        )
        cursor.execute("SELECT pg_sleep(%s)", [WORK_SECONDS])
    return marker
