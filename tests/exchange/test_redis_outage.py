"""An import started while Redis (cache and broker) is down: the request succeeds, the
queued run waits in the outbox, and runs once Redis is back — with a real Redis that the
test stops and starts again, and a real worker."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from exchange import services
from exchange.models import BatchStatus
from pipeline.models import Opportunity
from salesops.models import TaskOutbox
from tests.celery_worker import broker_at, running_worker
from tests.clock import default_clock
from tests.exchange import corpus
from tests.exchange.test_tasks import wait_for
from tests.outage import cache_at, closed_port, own_redis

pytestmark = pytest.mark.celery

URL = "/api/v1/imports/"
DEALS = 12


def start_import(client) -> int:
    """Upload a file and run it; queued for the worker (settings.IMPORT_BACKGROUND_ROWS)."""
    content = corpus.salesforce(corpus.true_deals(default_clock().date(), count=DEALS))
    upload = client.post(
        URL,
        {
            "kind": "opportunities",
            "source": "Salesforce",
            "file": SimpleUploadedFile("deals.csv", content, content_type="text/csv"),
        },
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    batch_id = upload.json()["id"]
    run = client.post(f"{URL}{batch_id}/run/")
    assert run.status_code == 202, run.content
    assert run.json()["status"] == BatchStatus.QUEUED
    return batch_id


def test_an_import_queued_while_redis_is_down_is_kept_not_lost(
    settings, client, key_for, leader, import_pipeline, sellers, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_ROWS = 10
    down = f"redis://127.0.0.1:{closed_port()}/0"
    cache_at(settings, down)
    with broker_at(down), django_capture_on_commit_callbacks(execute=True) as callbacks:
        batch_id = start_import(key_for(leader))
    assert callbacks  # the send after the commit was tried (and failed)
    [row] = TaskOutbox.objects.all()
    assert (row.task_name, row.args, row.sent_at) == (services.RUN_TASK, [batch_id], None)
    assert row.attempts == 1 and row.last_error
    # The pages that show the import (its progress lives in the cache) still answer.
    client.force_login(leader)
    assert client.get(f"/imports/{batch_id}/").status_code == 200
    assert client.get(f"/imports/{batch_id}/progress/").status_code == 200


def test_an_import_started_while_redis_is_down_runs_once_redis_is_back(
    transactional_db, tmp_path, settings, key_for, leader, import_pipeline, sellers
):
    settings.IMPORT_BACKGROUND_ROWS = 10
    with own_redis(tmp_path) as redis_server, broker_at(redis_server.url):
        cache_at(settings, redis_server.url)
        client = key_for(leader)
        redis_server.stop()

        batch_id = start_import(client)  # on_commit really fires: no test transaction
        [row] = TaskOutbox.objects.all()
        assert (row.task_name, row.args, row.sent_at) == (services.RUN_TASK, [batch_id], None)
        assert row.attempts == 1 and row.last_error

        redis_server.start()
        out = StringIO()
        call_command("drain_task_outbox", stdout=out)
        assert "Sent 1 queued task(s); none waiting." in out.getvalue()
        row.refresh_from_db()
        assert row.sent_at is not None and row.attempts == 2

        with running_worker(env={"REDIS_URL": redis_server.url}):
            done = wait_for(batch_id, seconds=40)
    assert done.status == BatchStatus.DONE, done.error
    assert done.counts["created"] == DEALS
    assert Opportunity.objects.filter(source="Salesforce").count() == DEALS
    assert TaskOutbox.objects.filter(sent_at=None).count() == 0


def test_a_worker_that_starts_sends_what_waited_in_the_outbox(
    transactional_db, settings, key_for, leader, import_pipeline, sellers
):
    """No drain by hand: the worker drains when it is ready (the backlog of an outage goes
    out as soon as a worker is back, not at the next minute of beat)."""
    settings.IMPORT_BACKGROUND_ROWS = 10
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"):
        batch_id = start_import(key_for(leader))
    assert TaskOutbox.objects.get().sent_at is None
    with running_worker():
        done = wait_for(batch_id, seconds=40)
    assert done.status == BatchStatus.DONE, done.error
    assert TaskOutbox.objects.get().sent_at is not None
