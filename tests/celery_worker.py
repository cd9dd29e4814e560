"""A real Celery worker process for integration tests.

The worker runs as a subprocess against the test database (data must be committed:
use `transactional_db`) and a Redis database of its own, so nothing is mocked.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tests.clocked import CLOCK_AT_ENV

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    db = connection.settings_dict
    options = db.get("OPTIONS") or {}
    # The embedded server's socket comes as ?host=… and lands in OPTIONS, not HOST.
    host = db.get("HOST") or options.get("host") or ""
    port = db.get("PORT") or options.get("port") or 5432
    user = db.get("USER") or "postgres"
    password = db.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgres://{auth}/{db['NAME']}?host={host}&port={port}"
    return f"postgres://{auth}{host}:{port}/{db['NAME']}"


@contextlib.contextmanager
def running_worker(
    *,
    concurrency: int = 1,
    timeout: float = 60,
    include: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen]:
    """A worker process (in a session of its own: ``os.killpg(proc.pid, SIGKILL)`` takes
    it down with its pool children, like a lost node). ``include``: extra task modules
    (e.g. ``tests.celery_tasks``); ``env``: extra environment, e.g. setting overrides."""
    from salesops.celery import app

    clock = {}
    if time_machine.escape_hatch.is_travelling():
        clock[CLOCK_AT_ENV] = timezone.now().isoformat()
    env = {
        # PYTEST_XDIST_WORKER stays behind: settings would move REDIS_URL to the next
        # database once more.
        **{k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"},
        **clock,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SALESOPS_TESTING": "1",
        "SALESOPS_CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    hostname = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.clocked",  # the worker reads the test's clock
            "celery",
            "-A",
            "salesops",
            "worker",
            "-l",
            "warning",
            "--concurrency",
            str(concurrency),
            "-n",
            hostname,
            "--without-gossip",
            "--without-mingle",
            *(f"--include={module}" for module in include),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"Celery worker exited early:\n{proc.stdout.read()}")
            replies = app.control.ping(destination=[hostname], timeout=1.0)
            if replies:
                break
        else:
            raise RuntimeError("Celery worker did not answer ping in time")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def broker_at(url: str) -> Iterator[None]:
    """This process's Celery app sends (and pings, and inspects) through the broker at
    `url` instead of the configured one, until the block ends; its connection pools are
    dropped on the way in and out, so no connection to the other broker is reused."""
    from salesops.celery import app

    def drop_pools() -> None:
        # kombu keeps one pool per broker URL in a process-wide registry, which app.pool
        # is taken from again: closing only the app's pool would leave a closed one there
        # for the next user of the configured broker. Reset the registry with it.
        from kombu import pools

        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    before = app.conf.broker_url
    drop_pools()
    app.conf.broker_url = url
    try:
        yield
    finally:
        drop_pools()
        app.conf.broker_url = before
