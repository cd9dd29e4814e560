"""The pure cadence rule (coaching/rules.py): no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coaching.rules import Cadence, one_on_one_due_on, one_on_one_interval, one_on_one_overdue

CADENCE = Cadence()  # 14 days; 7 during the first 90
START = dt.date(2026, 1, 5)


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def test_new_rep_without_a_1_1_is_due_a_week_after_starting():
    assert one_on_one_due_on(started_on=START, last_held_on=None, cadence=CADENCE) == day(7)


@pytest.mark.parametrize(
    ("held_on_day", "due_day"),
    [
        (0, 7),
        (85, 92),  # met within the first 90 days: a week later, even past day 90
        (89, 96),  # the last day of the first period still counts as new
        (90, 104),  # day 90 is the first regular day: a fortnight
        (95, 109),
    ],
)
def test_interval_is_decided_by_the_day_the_clock_started(held_on_day, due_day):
    due = one_on_one_due_on(started_on=START, last_held_on=day(held_on_day), cadence=CADENCE)
    assert due == day(due_day)


def test_ninety_day_boundary_exactly():
    assert one_on_one_interval(started_on=START, since=day(89), cadence=CADENCE) == 7
    assert one_on_one_interval(started_on=START, since=day(90), cadence=CADENCE) == 14


def test_overdue_from_the_day_after_the_due_date():
    due = one_on_one_due_on(started_on=START, last_held_on=day(100), cadence=CADENCE)
    args = {"started_on": START, "last_held_on": day(100), "cadence": CADENCE}
    assert not one_on_one_overdue(today=due, **args)
    assert one_on_one_overdue(today=due + dt.timedelta(days=1), **args)
    assert not one_on_one_overdue(today=day(100), **args)


def test_custom_cadence():
    cadence = Cadence(regular_days=30, new_rep_days=10, new_period_days=60)
    assert one_on_one_due_on(started_on=START, last_held_on=day(59), cadence=cadence) == day(69)
    assert one_on_one_due_on(started_on=START, last_held_on=day(60), cadence=cadence) == day(90)


def test_a_1_1_before_the_first_day_counts_as_new_period():
    # Met during onboarding, before the official first day: still a new rep.
    assert one_on_one_due_on(started_on=START, last_held_on=day(-3), cadence=CADENCE) == day(4)


@given(
    start=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 1, 1)),
    held_after=st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
)
def test_due_date_is_always_one_interval_after_the_clock_started(start, held_after):
    held = None if held_after is None else start + dt.timedelta(days=held_after)
    due = one_on_one_due_on(started_on=start, last_held_on=held, cadence=CADENCE)
    since = held or start
    assert (due - since).days in (CADENCE.new_rep_days, CADENCE.regular_days)
    assert ((due - since).days == CADENCE.new_rep_days) == ((since - start).days < 90)
