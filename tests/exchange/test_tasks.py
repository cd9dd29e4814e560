"""A large import runs on a real Celery worker (real Redis), with its progress readable while
it runs, and a redelivered task does not import twice."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from exchange import services
from exchange.models import BatchStatus, ImportBatch
from exchange.tasks import import_batch_run
from pipeline.models import Opportunity
from tests.celery_worker import running_worker
from tests.clock import default_clock
from tests.exchange import corpus

pytestmark = pytest.mark.celery


def test_task_options():
    assert import_batch_run.name == services.RUN_TASK
    assert import_batch_run.acks_late is True and import_batch_run.reject_on_worker_lost is True
    assert import_batch_run.soft_time_limit < import_batch_run.time_limit


def wait_for(batch_id: int, seconds: float = 90) -> ImportBatch:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        batch = ImportBatch.objects.get(pk=batch_id)
        if batch.status in (BatchStatus.DONE, BatchStatus.FAILED):
            return batch
        time.sleep(0.2)
    raise AssertionError(f"import {batch_id} still {batch.status} after {seconds} s")


def test_a_real_worker_runs_a_queued_import_once(
    transactional_db, leader, import_pipeline, sellers
):
    deals = corpus.true_deals(default_clock().date(), count=120)
    batch = services.batch_upload(
        actor=leader, kind="opportunities", source="sf", file_name="big.csv",
        content=corpus.salesforce(deals),
    )  # fmt: skip
    with running_worker():
        queued = services.batch_start(actor=leader, batch_id=batch.pk, background=True)
        assert queued.status == BatchStatus.QUEUED
        done = wait_for(batch.pk)
        # The same task again (a redelivery): the batch is claimed, nothing runs twice.
        assert import_batch_run.delay(batch.pk).get(timeout=60) == BatchStatus.DONE
    assert done.status == BatchStatus.DONE, done.error
    assert done.counts["created"] == 120
    assert Opportunity.objects.filter(source="sf").count() == 120
    assert services.batch_progress(done) == {"done": 120, "total": 120}
    assert cache.get(services.PROGRESS_KEY.format(batch.pk)) is None  # cleaned up
