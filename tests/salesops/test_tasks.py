from __future__ import annotations

import pytest

from salesops.celery import app
from salesops.tasks import healthcheck
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
