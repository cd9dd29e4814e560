"""The test run's clock (see tests/conftest.py): no test reads the real one.

``default_clock()`` is where the run and every test without a date of its own start:
``DEFAULT_CLOCK`` (a Wednesday mid-quarter, 10:00 in the organisation's timezone), or
the moment in ``SALESOPS_TEST_CLOCK`` (an ISO datetime with its UTC offset) — `.ci/run`
sets it about a year ahead, on the last day of a fiscal quarter, for a second run.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

CLOCK_ENV = "SALESOPS_TEST_CLOCK"
DEFAULT_CLOCK = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def default_clock() -> dt.datetime:
    if destination := os.environ.get(CLOCK_ENV):
        try:
            moved = dt.datetime.fromisoformat(destination)
        except ValueError as exc:
            raise pytest.UsageError(f"{CLOCK_ENV}={destination!r}: {exc}") from exc
        if moved.tzinfo is None:
            raise pytest.UsageError(f"{CLOCK_ENV} needs a UTC offset, e.g. +01:00")
        return moved
    return DEFAULT_CLOCK
