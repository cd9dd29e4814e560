"""Thin Celery tasks of the shared kernel."""

from __future__ import annotations

import socket

from celery import shared_task
from django.db import OperationalError, connection

from salesops import services
from salesops.celery import app


@shared_task(
    name="salesops.healthcheck",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def healthcheck() -> dict[str, str]:
    """Proves a worker can reach PostgreSQL and the broker; used by `serve` and monitoring."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
    return {"database": "ok", "broker": "ok", "worker": socket.gethostname()}


@shared_task(
    name="salesops.purge_idempotency_records",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def purge_idempotency_records() -> int:
    return services.idempotency_records_purge()
