"""The flags refresh as a Celery task, on a real worker and a real Redis (not eager mode)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from pipeline.flags import REFRESH_LOCK_KEY, TEST_DELAY_ENV
from pipeline.models import OpportunityFlag
from pipeline.tasks import refresh_flags
from salesops.celery import app
from salesops.models import Notification
from tests.celery_worker import running_worker
from tests.factories import OpportunityFactory
from tests.pipeline.helpers import flags_announced

NOTHING = {"raised": 0, "cleared": 0, "updated": 0, "notified": 0}

pytestmark = pytest.mark.celery


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for: {what}")


def refresh_in_flight() -> bool:
    """A refresh holds its advisory lock in this database: it is inside its transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objid = %s AND database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database())",
            [REFRESH_LOCK_KEY],
        )
        return cursor.fetchone()[0] > 0


def descendants(pid: int) -> list[int]:
    """Child processes (the prefork pool) of `pid`, from /proc."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            children.append(int(status.parent.name))
    return children


@pytest.fixture
def stale_deals(rep, pipeline):
    """Five deals, each with flags to raise."""
    now = timezone.now()
    return [
        OpportunityFactory(
            owner=rep,
            stage=pipeline.qualify,
            stage_entered_at=now - dt.timedelta(days=10 * (i + 1)),
            close_date=timezone.localdate() - dt.timedelta(days=i + 1),
            last_activity_at=now - dt.timedelta(days=3 * i),
        )
        for i in range(5)
    ]


def flag_set() -> set[tuple]:
    return set(
        OpportunityFlag.objects.filter(cleared_at__isnull=True).values_list(
            "opportunity_id", "kind", "severity", "explanation"
        )
    )


def test_refresh_and_digest_are_on_the_beat_schedule():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["pipeline.refresh_flags"] == dt.timedelta(
        minutes=settings.FLAGS_REFRESH_MINUTES
    )
    digest = schedule["salesops.send_notification_digest"]
    assert digest.hour == {settings.NOTIFICATION_DIGEST_HOUR} and digest.minute == {0}


def test_task_options():
    assert refresh_flags.acks_late is True
    assert refresh_flags.reject_on_worker_lost is True
    assert refresh_flags.time_limit and refresh_flags.soft_time_limit < refresh_flags.time_limit
    assert refresh_flags.retry_backoff


def test_real_worker_raises_flags(transactional_db, stale_deals):
    with running_worker():
        counts = refresh_flags.delay().get(timeout=60)
        assert counts["raised"] > 0
        again = refresh_flags.delay().get(timeout=60)
    assert {k: again[k] for k in NOTHING} == NOTHING and again["checked"] == 0
    assert OpportunityFlag.objects.count() == counts["raised"]
    notes = list(Notification.objects.all())
    owners = set(OpportunityFlag.objects.values_list("opportunity__owner", flat=True))
    assert len(notes) == counts["notified"] == len(owners)
    assert flags_announced(notes) == counts["raised"]


def test_worker_killed_mid_refresh_then_another_gets_it_exactly_right(
    transactional_db, stale_deals, monkeypatch
):
    # Worker A's refresh sleeps inside its transaction, after its writes, before COMMIT.
    monkeypatch.setenv(TEST_DELAY_ENV, "120")
    with running_worker() as worker_a:
        result = refresh_flags.delay()
        wait_until(refresh_in_flight, 60, "worker A to be inside the refresh transaction")
        pool = descendants(worker_a.pid)
        assert pool, "the prefork pool child runs the task"
        for pid in [worker_a.pid, *pool]:
            os.kill(pid, signal.SIGKILL)
        worker_a.wait(timeout=10)
    # The killed run's transaction died with its connection: nothing of it is left.
    wait_until(lambda: not refresh_in_flight(), 30, "the killed run's lock to go")
    assert OpportunityFlag.objects.count() == 0
    assert Notification.objects.count() == 0
    assert not result.ready()

    # Worker B gets the unacknowledged message back (visibility timeout, see settings) and
    # runs the refresh in full.
    monkeypatch.delenv(TEST_DELAY_ENV)
    with running_worker():
        counts = result.get(timeout=120)
        # Once more for good measure: nothing left to do, nothing notified twice.
        again = refresh_flags.delay().get(timeout=60)
        assert {k: again[k] for k in NOTHING} == NOTHING
    flags = flag_set()
    assert counts["raised"] == len(flags) > 0
    # Every flag announced once: one notification per owner, their counts add up.
    notes = list(Notification.objects.all())
    owners = set(OpportunityFlag.objects.values_list("opportunity__owner", flat=True))
    assert len(notes) == len({n.dedupe_key for n in notes}) == len(owners)
    assert flags_announced(notes) == len(flags)
    # Exactly what a synchronous refresh computes for the same data.
    from pipeline.flags import flags_refresh

    OpportunityFlag.objects.all().delete()
    Notification.objects.all().delete()
    flags_refresh(full=True)
    assert flag_set() == flags
