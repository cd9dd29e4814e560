"""Thin Celery tasks of the shared kernel."""

from __future__ import annotations

import socket

from django.db import connection

from salesops import outbox, services
from salesops.celery import app
from salesops.tasking import reliable_task


@reliable_task(name="salesops.healthcheck", max_retries=3)
def healthcheck() -> dict[str, str]:
    """Proves a worker can reach PostgreSQL and the broker; used by `serve` and monitoring."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
    return {"database": "ok", "broker": "ok", "worker": socket.gethostname()}


@reliable_task(name="salesops.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return services.idempotency_records_purge()


@reliable_task(name="salesops.send_notification_digest", soft_time_limit=240, time_limit=300)
def send_notification_digest() -> int:
    """Daily at NOTIFICATION_DIGEST_HOUR: one email per recipient of what is not emailed yet.
    A rerun (or a redelivered message) sends nothing twice: the service claims first."""
    return services.notifications_send_digest()


@reliable_task(name=outbox.DRAIN_TASK, max_retries=3)
def drain_task_outbox() -> dict[str, int]:
    """Every minute, and when a worker starts: send the tasks queued while the broker was
    away (salesops/outbox.py). Two at once never send one task twice."""
    return outbox.outbox_drain().as_dict()
