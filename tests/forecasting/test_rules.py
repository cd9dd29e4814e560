"""Periods and weeks: pure rules, no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecasting.rules import FiscalCalendar, Period, PeriodKind, week_start

D = dt.date
JANUARY = FiscalCalendar(1)
APRIL = FiscalCalendar(4)
FEBRUARY = FiscalCalendar(2)


@pytest.mark.parametrize(
    ("calendar", "day", "kind", "label", "fiscal_year", "number", "start", "end"),
    [
        # Fiscal year = calendar year.
        (JANUARY, D(2026, 7, 15), "quarter", "2026-Q3", 2026, 3, D(2026, 7, 1), D(2026, 10, 1)),
        (JANUARY, D(2026, 1, 1), "quarter", "2026-Q1", 2026, 1, D(2026, 1, 1), D(2026, 4, 1)),
        (JANUARY, D(2026, 12, 31), "quarter", "2026-Q4", 2026, 4, D(2026, 10, 1), D(2027, 1, 1)),
        (JANUARY, D(2026, 7, 31), "month", "2026-07", 2026, 7, D(2026, 7, 1), D(2026, 8, 1)),
        (JANUARY, D(2026, 12, 5), "month", "2026-12", 2026, 12, D(2026, 12, 1), D(2027, 1, 1)),
        (JANUARY, D(2024, 2, 29), "month", "2024-02", 2024, 2, D(2024, 2, 1), D(2024, 3, 1)),
        # April start: FY2027 = April 2026 - March 2027 (named by the year it ends in).
        (APRIL, D(2026, 4, 1), "quarter", "FY2027-Q1", 2027, 1, D(2026, 4, 1), D(2026, 7, 1)),
        (APRIL, D(2026, 7, 15), "quarter", "FY2027-Q2", 2027, 2, D(2026, 7, 1), D(2026, 10, 1)),
        (APRIL, D(2027, 1, 10), "quarter", "FY2027-Q4", 2027, 4, D(2027, 1, 1), D(2027, 4, 1)),
        (APRIL, D(2026, 3, 31), "quarter", "FY2026-Q4", 2026, 4, D(2026, 1, 1), D(2026, 4, 1)),
        (APRIL, D(2026, 4, 30), "month", "2026-04", 2027, 1, D(2026, 4, 1), D(2026, 5, 1)),
        (APRIL, D(2027, 3, 1), "month", "2027-03", 2027, 12, D(2027, 3, 1), D(2027, 4, 1)),
        # February start: quarters straddle calendar quarters and years.
        (FEBRUARY, D(2026, 1, 31), "quarter", "FY2026-Q4", 2026, 4, D(2025, 11, 1), D(2026, 2, 1)),
        (FEBRUARY, D(2026, 2, 1), "quarter", "FY2027-Q1", 2027, 1, D(2026, 2, 1), D(2026, 5, 1)),
        (FEBRUARY, D(2025, 12, 24), "month", "2025-12", 2026, 11, D(2025, 12, 1), D(2026, 1, 1)),
    ],
)
def test_period_of(calendar, day, kind, label, fiscal_year, number, start, end):
    period = calendar.period_of(day, kind)
    assert (period.label, period.fiscal_year, period.number) == (label, fiscal_year, number)
    assert (period.start, period.end) == (start, end)
    assert period.kind is PeriodKind(kind)
    assert day in period
    assert str(period) == label
    assert period.last_day == end - dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("calendar", "text", "label", "start", "end"),
    [
        (JANUARY, "2026-Q3", "2026-Q3", D(2026, 7, 1), D(2026, 10, 1)),
        (JANUARY, "FY2026-Q3", "2026-Q3", D(2026, 7, 1), D(2026, 10, 1)),
        (JANUARY, " fy2026-q3 ", "2026-Q3", D(2026, 7, 1), D(2026, 10, 1)),
        (JANUARY, "2026-07", "2026-07", D(2026, 7, 1), D(2026, 8, 1)),
        (JANUARY, "2026-7", "2026-07", D(2026, 7, 1), D(2026, 8, 1)),
        (APRIL, "FY2027-Q1", "FY2027-Q1", D(2026, 4, 1), D(2026, 7, 1)),
        (APRIL, "FY2027-Q4", "FY2027-Q4", D(2027, 1, 1), D(2027, 4, 1)),
        (APRIL, "2026-07", "2026-07", D(2026, 7, 1), D(2026, 8, 1)),
    ],
)
def test_parse(calendar, text, label, start, end):
    period = calendar.parse(text)
    assert (period.label, period.start, period.end) == (label, start, end)


@pytest.mark.parametrize(
    ("calendar", "text", "message"),
    [
        (JANUARY, "", "A period is required"),
        (JANUARY, "   ", "A period is required"),
        (JANUARY, None, "A period is required"),
        (JANUARY, "2026-Q5", "the quarter must be Q1-Q4"),
        (JANUARY, "2026-Q0", "the quarter must be Q1-Q4"),
        (JANUARY, "2026-13", "the month must be 01-12"),
        (JANUARY, "2026-00", "the month must be 01-12"),
        (JANUARY, "0000-05", "out of the supported range"),
        (JANUARY, "9999-Q4", "out of the supported range"),
        (JANUARY, "Q3 2026", "is not a period"),
        (JANUARY, "2026", "is not a period"),
        (JANUARY, "2026-07-01", "is not a period"),
        (
            APRIL,
            "2026-Q3",
            "ambiguous: the fiscal year starts in April. Write the fiscal year, "
            'named by the year in which it ends, e.g. "FY2026-Q3"',
        ),
        (APRIL, "2026-13", "the month must be 01-12"),
    ],
)
def test_parse_refuses_with_a_clear_message(calendar, text, message):
    with pytest.raises(ValueError, match=None) as error:
        calendar.parse(text)
    assert message in str(error.value)


@pytest.mark.parametrize("month", [0, 13, -1, "4", None])
def test_calendar_refuses_a_start_month_that_is_not_a_month(month):
    with pytest.raises(ValueError, match="first month must be 1-12"):
        FiscalCalendar(month)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        JANUARY.period_of(D(2026, 1, 1), "week")


@pytest.mark.parametrize(
    ("calendar", "label", "previous", "following"),
    [
        (JANUARY, "2026-Q1", "2025-Q4", "2026-Q2"),
        (JANUARY, "2026-Q4", "2026-Q3", "2027-Q1"),
        (JANUARY, "2026-01", "2025-12", "2026-02"),
        (APRIL, "FY2027-Q1", "FY2026-Q4", "FY2027-Q2"),
        (APRIL, "FY2027-Q4", "FY2027-Q3", "FY2028-Q1"),
        (APRIL, "2026-04", "2026-03", "2026-05"),
    ],
)
def test_previous_and_next(calendar, label, previous, following):
    period = calendar.parse(label)
    assert period.previous().label == previous
    assert period.next().label == following
    assert period.next().previous() == period
    assert period.shifted(4).shifted(-4) == period


def test_month_numbers_run_over_the_fiscal_year():
    assert APRIL.parse("2027-03").next() == APRIL.period("month", 2028, 1)
    assert APRIL.period("quarter", 2027, 0).label == "FY2026-Q4"
    assert APRIL.period("quarter", 2027, 9).label == "FY2029-Q1"


@pytest.mark.parametrize(
    ("day", "monday"),
    [
        (D(2026, 11, 23), D(2026, 11, 23)),  # a Monday
        (D(2026, 11, 29), D(2026, 11, 23)),  # its Sunday
        (D(2026, 11, 27), D(2026, 11, 23)),
        (D(2027, 1, 1), D(2026, 12, 28)),  # a week across the new year
        (D(2024, 3, 3), D(2024, 2, 26)),  # across a leap day
    ],
)
def test_week_start(day, monday):
    assert week_start(day) == monday


# --- properties -------------------------------------------------------------------------

dates = st.dates(min_value=D(1900, 1, 1), max_value=D(2200, 12, 31))
calendars = st.integers(min_value=1, max_value=12).map(FiscalCalendar)
kinds = st.sampled_from(list(PeriodKind))


@given(day=dates, calendar=calendars, kind=kinds)
def test_every_day_is_in_exactly_one_period_and_periods_tile(day, calendar, kind):
    period = calendar.period_of(day, kind)
    assert period.start <= day < period.end
    before, after = period.previous(), period.next()
    # Neighbours touch with no gap and no overlap, so no other period holds the day.
    assert before.end == period.start and after.start == period.end
    assert day not in before and day not in after
    assert before < period < after
    # A period starts on the 1st and spans its number of months.
    months = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3}[kind]
    assert period.start.day == 1 and period.end.day == 1
    span = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
    assert span == months
    # Its first day and its last day map back to it; its label parses back to it.
    assert calendar.period_of(period.start, kind) == period
    assert calendar.period_of(period.last_day, kind) == period
    assert calendar.parse(period.label) == period


@given(day=dates, calendar=calendars)
def test_the_month_lies_in_the_quarter_of_the_same_fiscal_year(day, calendar):
    month = calendar.period_of(day, "month")
    quarter = calendar.period_of(day, "quarter")
    assert quarter.start <= month.start and month.end <= quarter.end
    assert month.fiscal_year == quarter.fiscal_year
    assert quarter.number == (month.number - 1) // 3 + 1
    first_quarter = calendar.period("quarter", quarter.fiscal_year, 1)
    assert first_quarter.start == calendar.fiscal_year_start(quarter.fiscal_year)
    assert first_quarter.start.month == calendar.start_month
    # Named by the calendar year in which the fiscal year ends.
    assert calendar.period("quarter", quarter.fiscal_year, 4).last_day.year == quarter.fiscal_year


@given(day=dates)
def test_week_start_is_the_monday_on_or_before(day):
    monday = week_start(day)
    assert monday.isoweekday() == 1
    assert 0 <= (day - monday).days <= 6
    assert monday.isocalendar()[:2] == day.isocalendar()[:2]


def test_period_is_a_value():
    a = JANUARY.parse("2026-Q3")
    assert a == Period(
        start=D(2026, 7, 1),
        end=D(2026, 10, 1),
        kind=PeriodKind.QUARTER,
        fiscal_year=2026,
        number=3,
        start_month=1,
    )
    assert hash(a) == hash(JANUARY.period_of(D(2026, 8, 8), "quarter"))
    assert a != FiscalCalendar(7).parse("FY2027-Q1")  # same dates, another calendar
