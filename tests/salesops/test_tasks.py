from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from salesops.celery import app
from salesops.models import IdempotencyRecord
from salesops.tasks import healthcheck, purge_idempotency_records
from tests.celery_worker import running_worker

pytestmark = pytest.mark.celery


def test_celery_reliability_settings():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    assert conf.worker_prefetch_multiplier == 1


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
