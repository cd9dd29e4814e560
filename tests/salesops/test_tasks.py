from __future__ import annotations

import datetime as dt
import os
import signal
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from salesops.celery import app
from salesops.models import IdempotencyRecord
from salesops.tasking import ReliableTask, VisibilityLease
from salesops.tasks import healthcheck, purge_idempotency_records
from tests.celery_tasks import flaky_database, hold
from tests.celery_worker import running_worker

pytestmark = pytest.mark.celery


def test_celery_reliability_settings():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is True
    options = conf.broker_transport_options
    # An orphaned message comes back within seconds (kombu: 1 h, swept every 100 s) …
    assert options["visibility_timeout"] <= 60
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 5
    # … and live workers renew the lease of what they hold, so long tasks are not re-run.
    assert VisibilityLease in app.steps["consumer"]


def test_every_project_task_is_reliable_time_limited_and_retried_a_bounded_number_of_times():
    """Every task of every app of ours (whatever its name), not only those we remember."""
    from django.apps import apps
    from django.conf import settings

    app.loader.import_default_modules()
    ours = {
        config.name.split(".")[0]
        for config in apps.get_app_configs()
        if str(config.path).startswith(str(settings.BASE_DIR))
    }
    project = {
        name: task
        for name, task in app.tasks.items()
        if getattr(task, "__module__", "").split(".")[0] in ours
    }
    names = {name.split(".")[0] for name in project}
    assert {"salesops", "pipeline", "forecasting", "coaching", "hiring", "insights"} <= names
    conf = app.conf
    for name, task in project.items():
        assert isinstance(task, ReliableTask), name
        assert task.acks_late and task.reject_on_worker_lost, name
        assert set(task.autoretry_for) >= {OperationalError, InterfaceError}, name
        assert task.retry_backoff and 3 <= task.max_retries <= 20, name
        # A hard limit that kills a stuck task, and a soft one before it to clean up.
        hard = task.time_limit or conf.task_time_limit
        soft = task.soft_time_limit or conf.task_soft_time_limit
        assert hard and soft and soft < hard <= 3600, (name, soft, hard)


def _key() -> str:
    return f"test-celery-{uuid.uuid4().hex}"


def test_database_errors_are_retried_not_lost():
    key = _key()
    assert flaky_database.apply(args=[key, 3]).get() == 4  # eager: retries run at once
    result = flaky_database.apply(args=[_key(), 99])
    assert isinstance(result.result, OperationalError)  # gives up after max_retries


def _wait_for(predicate, timeout: float, step: float = 0.1) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s")


# Short leases keep these tests quick; the mechanism is the one production runs with.
FAST_LEASE = {"CELERY_VISIBILITY_TIMEOUT": "4", "CELERY_UNACKED_RESTORE_INTERVAL": "1"}


def test_task_of_a_killed_worker_is_redelivered_to_another_worker():
    """SIGKILL a worker (main process and pool: a lost node) in the middle of a task; a
    new worker runs the task within seconds, exactly once more. With Celery's defaults
    the message is either acked already (early ack: lost) or waits out a 1 h
    visibility timeout."""
    client, key = redis.Redis.from_url(settings.REDIS_URL), _key()
    with running_worker(include=("tests.celery_tasks",), env=FAST_LEASE) as first:
        hold.delay(key, 60)
        _wait_for(lambda: client.get(f"{key}:attempts") == b"1", timeout=20)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    killed_at = time.monotonic()
    with running_worker(include=("tests.celery_tasks",), env=FAST_LEASE):
        # lease (4 s) + sweep (1 s) + a worker start and some slack
        _wait_for(lambda: client.get(f"{key}:done") == b"1", timeout=20)
    assert client.get(f"{key}:attempts") == b"2"
    assert time.monotonic() - killed_at < 25


def test_long_task_is_not_redelivered_while_its_worker_lives():
    """A task running for well over the visibility timeout, with a free pool slot beside
    it that would take the message if it were restored: it still runs once."""
    client, key = redis.Redis.from_url(settings.REDIS_URL), _key()
    with running_worker(concurrency=2, include=("tests.celery_tasks",), env=FAST_LEASE):
        assert hold.delay(key, 7).get(timeout=30) == 1
        time.sleep(1)  # a duplicate would have started by now
    assert client.get(f"{key}:attempts") == b"1"


def test_real_worker_runs_healthcheck(transactional_db):
    with running_worker():
        result = healthcheck.delay().get(timeout=60)
    assert result["database"] == "ok" and result["broker"] == "ok"
    assert result["worker"]


def test_real_worker_purges_expired_idempotency_records(transactional_db, rep):
    old = IdempotencyRecord.objects.create(
        user=rep, key="old", method="POST", path="/x", request_hash="h", status=201, body={}
    )
    fresh = IdempotencyRecord.objects.create(
        user=rep, key="new", method="POST", path="/x", request_hash="h", status=201, body={}
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )
    with running_worker():
        assert purge_idempotency_records.delay().get(timeout=60) == 1
        assert purge_idempotency_records.delay().get(timeout=60) == 0  # rerun changes nothing
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_purge_is_on_the_beat_schedule():
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "salesops.purge_idempotency_records" in tasks
