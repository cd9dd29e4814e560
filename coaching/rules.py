"""Pure decision functions of coaching — no ORM, tested without a database.

The cadence: every rep should have a 1:1 every `regular_days` (default 14), and every
`new_rep_days` (default 7) during their first `new_period_days` (default 90). The interval
that applies to the next 1:1 is the one of the moment the clock started — the last 1:1,
or the rep's first day when there has been none — so a rep met on day 85 of their first
90 is due again a week later, and one met on day 95 a fortnight later.
coaching/cadence.py computes the same due date in SQL for every rep at once; a test
cross-checks the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Cadence:
    regular_days: int = 14
    new_rep_days: int = 7
    new_period_days: int = 90


def one_on_one_interval(*, started_on: date, since: date, cadence: Cadence) -> int:
    """Days until the next 1:1 is due, counted from `since` (the last 1:1 or the first
    day): the new-rep interval while `since` is within the rep's first period."""
    in_first_period = since < started_on + timedelta(days=cadence.new_period_days)
    return cadence.new_rep_days if in_first_period else cadence.regular_days


def one_on_one_due_on(*, started_on: date, last_held_on: date | None, cadence: Cadence) -> date:
    """The last day the next 1:1 is on time. Overdue from the day after."""
    since = last_held_on if last_held_on is not None else started_on
    return since + timedelta(
        days=one_on_one_interval(started_on=started_on, since=since, cadence=cadence)
    )


def one_on_one_overdue(
    *, started_on: date, last_held_on: date | None, today: date, cadence: Cadence
) -> bool:
    return today > one_on_one_due_on(
        started_on=started_on, last_held_on=last_held_on, cadence=cadence
    )
