"""A global flag refresh with more deals to decide than BATCH_DEALS runs in batches, each
committed on its own: it leaves the flags one run would, only its last batch records the
run, it reports its progress, and a user's change to a deal never waits for the whole
run — only, at worst, for the batch holding that deal."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from pipeline import flags
from pipeline.flags import TEST_DELAY_ENV, FlagRefreshResult, flags_refresh
from pipeline.models import FlagRefreshState, OpportunityFlag
from salesops.models import Notification
from tests.factories import OpportunityFactory

NOTHING = FlagRefreshResult(raised=0, cleared=0, updated=0, notified=0)


def days_ago(n: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


@pytest.fixture
def neglected(rep, pipeline):
    """Seven open deals with flags to raise: long in their stage, close date passed."""
    return [
        OpportunityFactory(
            owner=rep,
            stage=pipeline.qualify,
            stage_entered_at=days_ago(40 + i),
            close_date=timezone.localdate() - dt.timedelta(days=i + 1),
        )
        for i in range(7)
    ]


def flagged_deals() -> set[int]:
    return set(
        OpportunityFlag.objects.filter(cleared_at__isnull=True).values_list(
            "opportunity_id", flat=True
        )
    )


def flags_and_notifications() -> tuple[list, list]:
    return (
        list(OpportunityFlag.objects.order_by("id").values_list()),
        list(Notification.objects.order_by("id").values_list()),
    )


def test_a_batched_run_leaves_the_flags_one_run_would(monkeypatch, neglected):
    monkeypatch.setattr(flags, "BATCH_DEALS", 3)
    seen: list[tuple[int, int, int]] = []
    result = flags_refresh(progress=lambda total, n, of: seen.append((total.checked, n, of)))
    # Seven deals in batches of three: 3 + 3 + 1, progress after each.
    assert seen == [(3, 1, 3), (6, 2, 3), (7, 3, 3)]
    assert result.full and result.checked == 7 and result.raised >= 14
    assert flagged_deals() == {o.pk for o in neglected}
    assert OpportunityFlag.objects.filter(cleared_at__isnull=True).count() == result.raised
    # The run notifies once, at its end, about every flag it raised: one owner, one
    # notification counting all of them.
    assert Notification.objects.count() == result.notified == 1
    assert Notification.objects.get().title == f"{result.raised} new attention flags on your deals"
    # One unbatched full run afterwards finds nothing to change: the batches decided every
    # deal as one run would have.
    monkeypatch.setattr(flags, "BATCH_DEALS", 1000)
    before = flags_and_notifications()
    assert flags_refresh(full=True) == NOTHING
    assert flags_and_notifications() == before


def test_a_run_stopped_half_way_is_not_recorded_so_the_next_decides_everything(
    monkeypatch, neglected
):
    monkeypatch.setattr(flags, "BATCH_DEALS", 3)

    def killed_after_the_second_batch(total: FlagRefreshResult, n: int, of: int) -> None:
        if n == 2:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        flags_refresh(progress=killed_after_the_second_batch)
    # The two batches done are committed; the run is not recorded, nobody is notified.
    assert flagged_deals() == {o.pk for o in neglected[:6]}
    assert not FlagRefreshState.objects.exists()
    assert not Notification.objects.exists()
    result = flags_refresh()
    assert result.full and result.checked == 7
    assert flagged_deals() == {o.pk for o in neglected}
    assert FlagRefreshState.objects.get().last_full_run_at is not None


def test_a_small_run_is_one_batch_without_progress(monkeypatch, neglected):
    seen: list[int] = []
    result = flags_refresh(progress=lambda total, n, of: seen.append(n))
    assert result.checked == 7 and seen == []


def test_the_command_prints_each_batch(monkeypatch, neglected):
    monkeypatch.setattr(flags, "BATCH_DEALS", 4)
    out = io.StringIO()
    call_command("refresh_flags", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "batch 1 of 2: 4 deals decided, 8 flags raised"
    assert lines[1] == "batch 2 of 2: 7 deals decided, 14 flags raised"
    assert lines[2].startswith("raised 14, cleared 0, updated 0, notified 1 in ")


def test_a_users_change_waits_for_one_batch_not_the_whole_run(
    transactional_db, monkeypatch, neglected
):
    monkeypatch.setattr(flags, "BATCH_DEALS", 3)
    # Each batch holds its transaction (and its deals' schedule rows) for 1.5 s.
    monkeypatch.setenv(TEST_DELAY_ENV, "1.5")
    first_batch_done = threading.Event()
    outcome: dict[str, FlagRefreshResult] = {}

    def global_run() -> None:
        outcome["global"] = flags_refresh(
            progress=lambda total, n, of: n == 1 and first_batch_done.set()
        )
        connections.close_all()

    run = threading.Thread(target=global_run)
    run.start()
    try:
        assert first_batch_done.wait(30)
        # The second batch is running; a user changes a deal the first batch decided (in
        # one transaction, its schedule row would stay locked until the whole run ended).
        monkeypatch.delenv(TEST_DELAY_ENV)
        started = time.monotonic()
        flags_refresh(opportunity_ids=[neglected[0].pk])
        waited = time.monotonic() - started
        assert run.is_alive() and waited < 1.0
    finally:
        run.join(30)
    assert outcome["global"].checked == 7
    assert flagged_deals() == {o.pk for o in neglected}
