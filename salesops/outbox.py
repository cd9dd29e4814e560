"""Tasks queued by writes, kept in PostgreSQL until the broker took them: the outbox.

`enqueue_on_commit(name, args, kwargs)` replaces ``transaction.on_commit(lambda:
send_task(...))``. That pattern loses the task when the broker (Redis) is away at the
commit — the data committed, the send raised after it (a 500 for a request that did its
work) and nothing would ever run it. Here:

1. a `TaskOutbox` row is written in the caller's transaction: the intent to run the task
   commits with the data, or not at all;
2. after the commit the row is sent at once (`outbox_send`), with a bounded publish retry,
   so a request never waits on a dead broker; sent → ``sent_at``; not sent → a warning,
   ``attempts``/``last_error``, and the row stays;
3. `outbox_drain` sends what is waiting, oldest first: every minute from beat
   (``salesops.drain_task_outbox``), when a worker becomes ready (salesops/celery.py), and
   by hand (``manage.py drain_task_outbox``).

Sending takes the row's lock (``SELECT … FOR UPDATE SKIP LOCKED``) and marks it sent in the
same transaction, so two drains, or a drain and the send after a commit, never send one row
twice. A task can still be delivered twice (sent, then the database failed before
``sent_at`` was written; or a redelivery by the broker): tasks are idempotent anyway
(salesops/tasking.py).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from salesops.celery import app
from salesops.models import TaskOutbox

logger = logging.getLogger(__name__)

DRAIN_TASK = "salesops.drain_task_outbox"  # salesops/tasks.py
# One reconnection (a pooled connection that a broker restart closed), no waiting beyond
# 0.2 s: a dead broker costs a request milliseconds, and the drain sends the row later.
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# Rows locked and sent per transaction by a drain: two drains share a backlog chunk by chunk.
DRAIN_CHUNK = 50
KEEP_SENT = dt.timedelta(days=7)
# What says "the broker is away" (then a drain stops: the other rows would fail alike).
BROKER_DOWN = (BrokerUnreachable, OSError)


def enqueue_on_commit(
    task_name: str, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None
) -> TaskOutbox:
    """Queue the Celery task `task_name` to run once the caller's transaction commits; kept
    in the outbox until the broker has it. Refuses (TypeError) arguments that are not JSON."""
    args, kwargs = list(args), dict(kwargs or {})
    json.dumps([args, kwargs])  # as Celery will send them: refused here, before the commit
    row = TaskOutbox.objects.create(task_name=task_name, args=args, kwargs=kwargs)
    outbox_id = row.pk
    # robust: a failure after the commit (the database gone too) must not fail the caller,
    # whose work is committed; the row stays for the drain.
    transaction.on_commit(lambda: outbox_send(outbox_id=outbox_id), robust=True)
    return row


def publish(task_name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Hand one task to the broker. No result is kept for it (nothing reads it, and keeping
    one would subscribe this process to a result channel in Redis)."""
    app.send_task(
        task_name,
        args=args,
        kwargs=kwargs,
        ignore_result=True,
        retry=True,
        retry_policy=PUBLISH_RETRY_POLICY,
    )


def outbox_send(*, outbox_id: int) -> bool:
    """Send one queued task now, unless it was sent or another process is sending it (a
    drain holds its lock). True when this call sent it."""
    with transaction.atomic():
        row = (
            TaskOutbox.objects.select_for_update(skip_locked=True)
            .filter(pk=outbox_id, sent_at__isnull=True)
            .first()
        )
        if row is None:
            return False
        return _send(row) is None


@dataclass(frozen=True)
class DrainResult:
    sent: int
    failed: int
    waiting: int  # still unsent after the drain

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "waiting": self.waiting}


def outbox_drain() -> DrainResult:
    """Send every queued task that is waiting, oldest first, and forget rows sent over a
    week ago. Stops at the first "broker unreachable" (the next drain tries again); a task
    the broker refuses for another reason is recorded and skipped, not retried in this
    drain, so it never holds back the ones after it."""
    sent = failed = 0
    skipped: list[int] = []
    broker_down = False
    while not broker_down:
        with transaction.atomic():
            rows = list(
                TaskOutbox.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True)
                .exclude(pk__in=skipped)
                .order_by("created_at", "id")[:DRAIN_CHUNK]
            )
            if not rows:
                break
            for row in rows:
                error = _send(row)
                if error is None:
                    sent += 1
                    continue
                failed += 1
                skipped.append(row.pk)
                if isinstance(error, BROKER_DOWN):
                    broker_down = True
                    break
    TaskOutbox.objects.filter(sent_at__lt=timezone.now() - KEEP_SENT).delete()
    waiting = TaskOutbox.objects.filter(sent_at__isnull=True).count()
    if sent or failed:
        logger.info("Task outbox: %d sent, %d not sent, %d waiting", sent, failed, waiting)
    return DrainResult(sent=sent, failed=failed, waiting=waiting)


def _send(row: TaskOutbox) -> Exception | None:
    """Publish a row locked by the caller and record the attempt; the error, if it failed."""
    row.attempts += 1
    try:
        publish(row.task_name, row.args, row.kwargs)
    except Exception as exc:  # any refusal: the row stays for the next drain
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        row.save(update_fields=["attempts", "last_error"])
        logger.warning(
            "Task %s (outbox #%s) not sent, kept for the next drain (attempt %d): %s",
            row.task_name,
            row.pk,
            row.attempts,
            row.last_error,
        )
        return exc
    row.sent_at = timezone.now()
    row.save(update_fields=["attempts", "sent_at"])
    return None
