"""Run a module in a subprocess on the test's clock: ``python -m tests.clocked celery …``.

Tests move the clock with time-machine, which only reaches their own process. A process
they start (the real Celery worker) would read the real clock and disagree with the data
the test made. ``SALESOPS_TEST_CLOCK_AT`` (set by the parent from its clock, see
``tests.celery_worker``) is where the child's clock starts; from there it ticks. Forked
pool processes inherit it.
"""

from __future__ import annotations

import datetime as dt
import os
import runpy
import sys

import time_machine

CLOCK_AT_ENV = "SALESOPS_TEST_CLOCK_AT"


def main() -> None:
    if at := os.environ.get(CLOCK_AT_ENV):
        time_machine.travel(dt.datetime.fromisoformat(at), tick=True).start()
    module = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
