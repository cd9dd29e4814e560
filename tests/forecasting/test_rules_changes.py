"""Week-over-week change kinds of one deal: the pure rule, table-driven, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from forecasting.rules import (
    Change,
    ClosedSince,
    FiscalCalendar,
    SnapshotState,
    WeekChange,
    week_changes,
)

D = dt.date
Q3 = FiscalCalendar(1).parse("2026-Q3")  # 1 July - 30 September 2026
IN = D(2026, 8, 15)
IN_TOO = D(2026, 9, 30)  # last day of the quarter
AFTER = D(2026, 10, 1)  # first day of Q4
BEFORE = D(2026, 6, 30)  # last day of Q2


def row(amount: str, close: dt.date, *, currency: str = "EUR", in_scope: bool = True):
    return SnapshotState(Decimal(amount), currency, close, in_scope)


def change(kind: Change, delta: str, currency: str = "EUR") -> WeekChange:
    return WeekChange(kind, currency, Decimal(delta))


WON = ClosedSince(won=True, close_date=IN)
LOST = ClosedSince(won=False, close_date=IN)

CASES = [
    # (name, before, after, closed, expected)
    ("unchanged", row("100", IN), row("100", IN_TOO), None, []),
    ("not in the period either week", row("100", AFTER), row("50", AFTER), None, []),
    ("absent both weeks", None, None, None, []),
    ("new in the period", None, row("100", IN), None, [change(Change.NEW, "100")]),
    ("new outside the period", None, row("100", AFTER), None, []),
    ("new but another scope's", None, row("100", IN, in_scope=False), None, []),
    ("pulled in from after", row("100", AFTER), row("100", IN), None, [
        change(Change.PULLED_IN, "100")]),
    ("pulled in from before (overdue re-dated)", row("100", BEFORE), row("100", IN), None, [
        change(Change.PULLED_IN, "100")]),
    ("pulled in and amount up", row("100", AFTER), row("130", IN), None, [
        change(Change.PULLED_IN, "100"), change(Change.AMOUNT_UP, "30")]),
    ("pushed out", row("100", IN), row("100", AFTER), None, [
        change(Change.PUSHED_OUT, "-100")]),
    ("pushed out with a new amount: at last week's", row("100", IN), row("70", AFTER), None, [
        change(Change.PUSHED_OUT, "-100")]),
    ("moved to an earlier period", row("100", IN), row("100", BEFORE), None, [
        change(Change.PUSHED_OUT, "-100")]),
    ("amount up", row("100", IN), row("150.50", IN), None, [
        change(Change.AMOUNT_UP, "50.50")]),
    ("amount down", row("100", IN), row("40", IN_TOO), None, [
        change(Change.AMOUNT_DOWN, "-60")]),
    ("amount down to zero", row("100", IN), row("0", IN), None, [
        change(Change.AMOUNT_DOWN, "-100")]),
    ("currency changed", row("100", IN), row("120", IN, currency="USD"), None, [
        change(Change.AMOUNT_DOWN, "-100"), change(Change.AMOUNT_UP, "120", "USD")]),
    ("won", row("100", IN), None, WON, [change(Change.WON, "-100")]),
    ("lost", row("100", IN), None, LOST, [change(Change.LOST, "-100")]),
    ("won, re-dated into the period before closing", row("100", AFTER), None, WON, [
        change(Change.PULLED_IN, "100"), change(Change.WON, "-100")]),
    ("won outside the period", row("100", AFTER), None,
     ClosedSince(won=True, close_date=AFTER), []),
    ("won in the period, last week another scope's", row("100", AFTER, in_scope=False),
     None, WON, []),
    ("gone without a close: dropped", row("100", IN), None, None, [
        change(Change.DROPPED, "-100")]),
    ("gone outside the period", row("100", AFTER), None, None, []),
    ("moved in (new owner or team)", row("100", IN, in_scope=False), row("100", IN), None, [
        change(Change.MOVED_IN, "100")]),
    ("moved in and amount down", row("100", IN, in_scope=False), row("90", IN), None, [
        change(Change.MOVED_IN, "100"), change(Change.AMOUNT_DOWN, "-10")]),
    ("moved out", row("100", IN), row("100", IN, in_scope=False), None, [
        change(Change.MOVED_OUT, "-100")]),
    ("moved out and pushed out: the date decides", row("100", IN),
     row("100", AFTER, in_scope=False), None, [change(Change.PUSHED_OUT, "-100")]),
    ("another scope's both weeks", row("100", IN, in_scope=False),
     row("200", IN, in_scope=False), None, []),
    ("closed is ignored while the deal is in this week's snapshot", row("100", IN),
     row("100", IN), WON, []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("before", "after", "closed", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_week_changes(before, after, closed, expected):
    assert week_changes(period=Q3, before=before, after=after, closed=closed) == expected


@pytest.mark.parametrize(
    ("before", "after", "closed"), [case[1:4] for case in CASES], ids=[c[0] for c in CASES]
)
def test_deltas_reconcile_the_periods_open_pipeline(before, after, closed):
    """Last week's open pipeline in the period + Σ deltas = this week's, per currency."""

    def in_period(state):
        return state is not None and state.in_scope and state.close_date in Q3

    opening: dict[str, Decimal] = {}
    closing: dict[str, Decimal] = {}
    if in_period(before):
        opening[before.currency] = before.amount
    if in_period(after):
        closing[after.currency] = after.amount
    moved = dict(opening)
    for c in week_changes(period=Q3, before=before, after=after, closed=closed):
        moved[c.currency] = moved.get(c.currency, Decimal("0")) + c.delta
    assert {k: v for k, v in moved.items() if v} == {k: v for k, v in closing.items() if v}
