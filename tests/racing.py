"""Real concurrency for tests marked `django_db(transaction=True)`: threads, each with its
own database connection (closed when it ends)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, connections, transaction


def race(action: Callable[[], Any], *, threads: int) -> list[Any]:
    """Run `action` in `threads` threads released at once; what each returned or raised."""
    results: list[Any] = []
    barrier = threading.Barrier(threads)
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            outcome = action()
        except BaseException as exc:  # the caller's assertions report it
            outcome = exc
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(results) == threads, "a thread did not finish"
    return results


def behind_a_commit(change: Callable[[], Any], action: Callable[[], Any]) -> Any:
    """Run `action` while another transaction that made `change` holds its row locks, and
    commit that transaction only once `action` waits for them: what `action` returned or
    raised. Deterministic, unlike a race: `action` is always the one that waited."""
    changed, done = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def hold() -> None:
        try:
            with transaction.atomic():
                change()
                changed.set()
                _wait_for_a_lock_waiter(done)
        except BaseException as exc:
            outcome["change"] = exc
            changed.set()
        finally:
            connections.close_all()

    def act() -> None:
        try:
            changed.wait(timeout=30)
            outcome["action"] = action()
        except BaseException as exc:  # the caller's assertions report it
            outcome["action"] = exc
        finally:
            done.set()
            connections.close_all()

    workers = [threading.Thread(target=hold), threading.Thread(target=act)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert "change" not in outcome, outcome.get("change")
    return outcome["action"]


def _wait_for_a_lock_waiter(done: threading.Event, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done.is_set():
        with connection.cursor() as cursor:
            # Inside a transaction the statistics views answer from one snapshot.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("the action never waited for the lock")
