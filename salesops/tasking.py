"""One reliability contract for every Celery task: at-least-once, retried on DB outages.

What a task gets from ``ReliableTask`` / ``@reliable_task``:

* ``acks_late`` + ``reject_on_worker_lost``: the message is acknowledged only after the
  task returned; a pool child killed mid-task requeues it at once (instead of losing it).
* ``autoretry_for`` Django's ``OperationalError`` / ``InterfaceError`` with exponential
  backoff (capped at 60 s, full jitter) and up to 10 retries — PostgreSQL restarting or
  failing over for a minute or two costs a delay, not the task. Every task starts on a
  fresh DB connection: Celery's Django fixup closes connections before and after each
  task (``CELERY_DB_REUSE_MAX`` unset), so a connection broken by a PostgreSQL restart
  is never reused.
* Time limits come from the settings (``CELERY_TASK_TIME_LIMIT`` / ``_SOFT_``).

At-least-once means a task may run twice (a worker killed after the work but before the
ack): tasks must be idempotent. The flags refresh and the purge are.

Why ``VisibilityLease``: with the Redis broker, an unacknowledged message comes back only
when its entry in the ``unacked_index`` sorted set is older than the transport's
``visibility_timeout`` (swept every ``unacked_restore_interval`` s). A worker killed with
SIGKILL (OOM killer, node lost) restores nothing itself, so its messages wait out the
visibility timeout — an hour by default. A short visibility timeout brings them back in
seconds, but on its own it would also hand a *still running* task (or one held for a
retry countdown) to a second worker once it ran longer than the timeout. The lease step
closes that gap: the worker's consumer re-stamps the messages it holds every
``visibility_timeout / 5`` seconds, so a live worker's tasks never look abandoned however
long they run, and a dead worker's stop being re-stamped and return within
``visibility_timeout + unacked_restore_interval``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import Task, bootsteps, shared_task
from django.db import InterfaceError, OperationalError

from salesops import audit_context

logger = logging.getLogger(__name__)

DB_ERRORS = (OperationalError, InterfaceError)


class ReliableTask(Task):
    """Base class: late ack, requeue on a lost worker, retries on database errors."""

    abstract = True
    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = DB_ERRORS
    retry_backoff = True
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 10

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The task's writes are "task" events naming it (salesops.audit_context); reset
        # after each run, so the next task of this worker starts clean. Celery's worker
        # calls __call__ when a task class overrides it, and so does an eager call.
        with audit_context.bound(audit_context.Channel.TASK, origin=self.name):
            return super().__call__(*args, **kwargs)


def reliable_task(*args: Any, **options: Any) -> Callable[..., Any]:
    """``@shared_task`` with ``base=ReliableTask``; keyword options override the defaults."""
    options.setdefault("base", ReliableTask)
    return shared_task(*args, **options)


class VisibilityLease(bootsteps.StartStopStep):
    """Consumer step: keep the Redis visibility lease of every message this worker holds.

    Re-stamps (``ZADD … XX``: existing members only, so an acknowledged message is never
    resurrected) the ``unacked_index`` score of the unacknowledged deliveries of the task
    consumer's channel — running tasks and messages held for an ETA/countdown alike.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self.tref = None
        options = c.app.conf.broker_transport_options or {}
        self.visibility_timeout = float(options.get("visibility_timeout") or 3600)
        self.interval = max(1.0, self.visibility_timeout / 5)

    def start(self, c: Any) -> None:
        if not c.app.conf.broker_url or not c.app.conf.broker_url.startswith(
            ("redis://", "rediss://")
        ):
            return
        self.tref = c.timer.call_repeatedly(self.interval, self.renew, (c,), priority=10)

    def stop(self, c: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop

    def renew(self, c: Any) -> int:
        consumer = getattr(c, "task_consumer", None)
        channel: Any = getattr(consumer, "channel", None)  # kombu's channel: untyped
        qos = getattr(channel, "qos", None)
        if qos is None or not hasattr(channel, "unacked_index_key"):
            return 0
        dirty = qos._dirty  # acked, not yet flushed from _delivered
        tags = [tag for tag in list(qos._delivered) if tag not in dirty]
        if not tags:
            return 0
        now = time.time()
        try:
            with channel.conn_or_acquire() as client:
                client.zadd(channel.unacked_index_key, {tag: now for tag in tags}, xx=True)
        except Exception:  # broker away: the consumer reconnects; the next tick retries
            logger.warning("Could not renew the visibility lease of %d message(s)", len(tags))
            return 0
        return len(tags)
