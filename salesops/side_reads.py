"""Run an independent read on a second database connection while this thread reads the
rest, so a cold page waits for the longer of two large reads instead of their sum (the
forecast dashboard's week-over-week comparison, the insights study's results table).

Only outside a transaction: inside one (a caller's, a test's) another connection would not
see its uncommitted writes, so the read then runs in line."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection

_READER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="side-read")


def on_side_connection(read: Callable[[], Any]) -> Any:
    # A fresh connection per read, closed after it: cold reads are rare (caches serve the
    # rest) and a connection kept by an idle worker thread would outlive every request's
    # clean-up (health checks, max age, a database being dropped).
    try:
        return read()
    finally:
        connection.close()


def side_read(read: Callable[[], Any]) -> Callable[[], Any]:
    """Start `read`; returns a function that gives its result (or raises its error)."""
    if connection.in_atomic_block:
        result = read()
        return lambda: result
    future = _READER.submit(lambda: on_side_connection(read))
    return future.result
