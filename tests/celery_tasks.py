"""Diagnostic tasks for the real-worker tests; loaded only by test workers
(``running_worker(include=("tests.celery_tasks",))``), never by a production worker.

They keep their bookkeeping in the test run's Redis database, under a key the test
chooses, so a test can watch a task from the outside while a worker runs (or dies).
"""

from __future__ import annotations

import os
import time

import redis
from django.conf import settings
from django.db import OperationalError

from salesops.tasking import reliable_task


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@reliable_task(name="tests.hold")
def hold(key: str, first_attempt_seconds: float, later_attempt_seconds: float = 0.0) -> int:
    """Count attempts under ``key``; the first attempt takes ``first_attempt_seconds``
    (the window in which a test kills its worker), later ones ``later_attempt_seconds``."""
    client = _redis()
    attempt = client.incr(f"{key}:attempts")
    client.rpush(f"{key}:pids", os.getpid())
    time.sleep(first_attempt_seconds if attempt == 1 else later_attempt_seconds)
    client.incr(f"{key}:done")
    return attempt


@reliable_task(name="tests.flaky_database")
def flaky_database(key: str, failures: int) -> int:
    """Fail with the error a dropped PostgreSQL connection raises, ``failures`` times."""
    attempt = _redis().incr(f"{key}:attempts")
    if attempt <= failures:
        raise OperationalError("server closed the connection unexpectedly")
    return attempt
