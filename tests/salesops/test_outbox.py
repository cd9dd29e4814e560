"""Tasks queued from a request go through the outbox (salesops/outbox.py): the intent
commits with the caller's data or not at all, is sent to the broker after the commit, and
stays in the table — never lost, never sent twice by two drains — while the broker is away."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from io import StringIO

import pytest
from celery.schedules import crontab
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from salesops import outbox
from salesops.celery import app
from salesops.models import TaskOutbox
from tests.celery_worker import broker_at
from tests.outage import closed_port
from tests.racing import race


@pytest.fixture
def published(monkeypatch):
    """What reached the broker (a stand-in: no broker involved), in order."""
    sent: list[tuple[str, list, dict]] = []
    lock = threading.Lock()

    def publish(task_name, args, kwargs):
        time.sleep(0.005)  # a real publish takes a moment: lets concurrent drains overlap
        with lock:
            sent.append((task_name, args, kwargs))

    monkeypatch.setattr(outbox, "publish", publish)
    return sent


@pytest.fixture
def broker_down(monkeypatch):
    def publish(task_name, args, kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox, "publish", publish)


def unsent(count: int) -> list[TaskOutbox]:
    """`count` rows left behind by an outage, oldest first."""
    start = timezone.now() - dt.timedelta(minutes=count)
    return TaskOutbox.objects.bulk_create(
        TaskOutbox(task_name="tests.job", args=[n], created_at=start + dt.timedelta(minutes=n))
        for n in range(count)
    )


# --- enqueue_on_commit -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rolled_back_caller_queues_nothing(published, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox.enqueue_on_commit("tests.job", [1])
        raise RuntimeError("the caller's work failed")
    assert not TaskOutbox.objects.exists()
    assert published == []


@pytest.mark.django_db
def test_the_task_is_kept_with_the_data_and_sent_after_the_commit(
    published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        row = outbox.enqueue_on_commit("tests.job", [7], {"full": True})
        # Written in the caller's transaction, not sent before it commits.
        assert TaskOutbox.objects.filter(pk=row.pk, sent_at=None).exists()
        assert published == []
    assert len(callbacks) == 1
    assert published == [("tests.job", [7], {"full": True})]
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1 and row.last_error == ""


@pytest.mark.django_db
def test_a_dead_broker_leaves_the_row_and_costs_no_time(django_capture_on_commit_callbacks, caplog):
    """The real publish, to a port nothing listens on: the caller's request goes on at
    once (bounded retries), the row stays for the drain, the failure is logged."""
    caplog.set_level(logging.WARNING, logger="salesops.outbox")
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"):
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            row = outbox.enqueue_on_commit("tests.job", [1])
        elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed
    row.refresh_from_db()
    assert row.sent_at is None and row.attempts == 1
    assert "refused" in row.last_error.lower() or "connect" in row.last_error.lower()
    assert any("not sent" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_arguments_that_are_not_json_are_refused_in_the_callers_transaction():
    with pytest.raises(TypeError):
        outbox.enqueue_on_commit("tests.job", [dt.date(2026, 1, 1)])


# --- the drain -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_drain_sends_what_is_waiting_oldest_first(published):
    rows = unsent(5)
    TaskOutbox.objects.filter(pk=rows[2].pk).update(sent_at=timezone.now(), attempts=1)
    result = outbox.outbox_drain()
    assert result == outbox.DrainResult(sent=4, failed=0, waiting=0)
    assert [args for _, args, _ in published] == [[0], [1], [3], [4]]
    assert not TaskOutbox.objects.filter(sent_at=None).exists()
    assert set(TaskOutbox.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db
def test_the_drain_stops_at_a_dead_broker_and_records_the_attempt(broker_down):
    rows = unsent(3)
    result = outbox.outbox_drain()
    assert result == outbox.DrainResult(sent=0, failed=1, waiting=3)
    first = TaskOutbox.objects.get(pk=rows[0].pk)
    assert first.attempts == 1 and "Connection refused" in first.last_error
    # The broker is away for all of them: the others are not tried (nor counted).
    assert list(TaskOutbox.objects.filter(attempts=0).order_by("pk")) == rows[1:]


@pytest.mark.django_db
def test_a_row_the_broker_refuses_does_not_block_the_others(monkeypatch):
    rows = unsent(3)
    sent = []

    def publish(task_name, args, kwargs):
        if args == [0]:
            raise ValueError("cannot route this one")
        sent.append(args)

    monkeypatch.setattr(outbox, "publish", publish)
    result = outbox.outbox_drain()
    assert result == outbox.DrainResult(sent=2, failed=1, waiting=1)
    assert sent == [[1], [2]]
    kept = TaskOutbox.objects.get(pk=rows[0].pk)
    assert kept.sent_at is None and kept.attempts == 1 and "cannot route" in kept.last_error


@pytest.mark.django_db
def test_the_drain_forgets_sent_rows_after_a_week_never_unsent_ones(broker_down):
    old = timezone.now() - dt.timedelta(days=8)
    TaskOutbox.objects.create(task_name="tests.job", sent_at=old, attempts=1)
    sent_lately = TaskOutbox.objects.create(task_name="tests.job", sent_at=timezone.now())
    waiting_long = TaskOutbox.objects.create(task_name="tests.job")
    TaskOutbox.objects.filter(pk__in=[sent_lately.pk, waiting_long.pk]).update(created_at=old)
    outbox.outbox_drain()  # the broker is away: the purge happens all the same
    assert set(TaskOutbox.objects.values_list("pk", flat=True)) == {
        sent_lately.pk,
        waiting_long.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_never_send_a_row_twice(published, monkeypatch):
    monkeypatch.setattr(outbox, "DRAIN_CHUNK", 4)  # the drains take turns, chunk by chunk
    unsent(40)
    results = race(outbox.outbox_drain, threads=3)
    assert all(isinstance(r, outbox.DrainResult) for r in results), results
    sent_args = sorted(args[0] for _, args, _ in published)
    assert sent_args == list(range(40))  # each exactly once
    assert sum(r.sent for r in results) == 40
    assert not TaskOutbox.objects.filter(sent_at=None).exists()
    assert set(TaskOutbox.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.django_db(transaction=True)
def test_the_send_after_commit_and_a_drain_never_send_one_row_twice(published):
    [row] = unsent(1)
    actions = iter([lambda: outbox.outbox_send(outbox_id=row.pk), outbox.outbox_drain])
    lock = threading.Lock()

    def next_action():
        with lock:
            action = next(actions)
        return action()

    results = race(next_action, threads=2)
    assert not any(isinstance(r, BaseException) for r in results), results
    assert published == [("tests.job", [0], {})]
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1


# --- how the drain runs ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_drains_and_says_what_it_did(published):
    unsent(2)
    out = StringIO()
    call_command("drain_task_outbox", stdout=out)
    assert "Sent 2 queued task(s); none waiting." in out.getvalue()


@pytest.mark.django_db
def test_the_command_fails_while_the_broker_is_away(broker_down):
    unsent(2)
    with pytest.raises(CommandError, match="2 task\\(s\\) still waiting"):
        call_command("drain_task_outbox", stdout=StringIO())
    assert TaskOutbox.objects.filter(sent_at=None).count() == 2


@pytest.mark.django_db
def test_the_drain_task_runs_the_drain(published):
    from salesops.tasks import drain_task_outbox

    unsent(2)
    assert drain_task_outbox.apply().get() == {"sent": 2, "failed": 0, "waiting": 0}


def test_beat_drains_every_minute():
    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == outbox.DRAIN_TASK]
    assert len(entries) == 1
    assert entries[0]["schedule"] == crontab()  # every minute


def test_a_worker_drains_as_soon_as_it_is_ready(monkeypatch):
    """The backlog of an outage goes out when a worker (re)starts, not a minute later."""
    from celery import signals

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: sent.append(name))
    signals.worker_ready.send(sender=None)
    assert sent == [outbox.DRAIN_TASK]


@pytest.mark.django_db
def test_the_admin_lists_the_queue_read_only(client, admin_user):
    """Operators see what waits for the broker, and cannot add, edit or delete rows."""
    TaskOutbox.objects.create(task_name="exchange.import_batch_run", args=[7], attempts=2)
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    page = client.get("/admin/salesops/taskoutbox/")
    assert page.status_code == 200 and "exchange.import_batch_run" in page.content.decode()
    assert client.get("/admin/salesops/taskoutbox/add/").status_code == 403
    row = TaskOutbox.objects.get()
    assert client.post(f"/admin/salesops/taskoutbox/{row.pk}/delete/").status_code == 403
    assert TaskOutbox.objects.filter(pk=row.pk).exists()
