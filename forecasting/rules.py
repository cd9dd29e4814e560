"""Forecast periods and weeks — pure date arithmetic, no ORM, no settings.

The organisation's calendar is a `FiscalCalendar(start_month)`; the services build it
from settings.FISCAL_YEAR_START_MONTH (1 = January, the default; 4 = April, …).

Fiscal years are named by the calendar year in which they END: with an April start,
FY2027 runs from 1 April 2026 to 31 March 2027. With a January start the fiscal year is
the calendar year (FY2026 = 2026).

Periods — a month or a quarter of a fiscal year — are half-open: `start` is the first day,
`end` the first day of the next period (exclusive), so consecutive periods tile the
calendar with no gap and no overlap. `number` counts within the fiscal year: fiscal
quarter 1–4, fiscal month 1–12 (with an April start, April is month 1).

Labels (what `Period.label` prints and `FiscalCalendar.parse` reads):
  month     always the calendar month, "2026-07" — unambiguous whatever the fiscal year;
  quarter   "2026-Q3" when the fiscal year is the calendar year (Jul–Sep 2026);
            "FY2027-Q1" otherwise (with an April start: Apr–Jun 2026).
`parse` also reads "FY2026-Q3" with a January start (the same quarter as "2026-Q3"), and
refuses "2026-Q3" when the fiscal year starts in another month, where it would be ambiguous.

Weeks are ISO weeks: `week_start(day)` is the Monday on or before `day`.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

# The calendar years a fiscal year may start in (its exclusive end must still be a date).
MIN_YEAR = 1
MAX_YEAR = 9998


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"


MONTHS_IN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3}
PERIODS_PER_YEAR = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4}


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week of `day` (`day` itself when it is a Monday)."""
    return day - dt.timedelta(days=day.weekday())


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


@dataclass(frozen=True, order=True)
class Period:
    """A fiscal month or quarter. Build through a FiscalCalendar; ordered by start."""

    start: dt.date  # first day, inclusive
    end: dt.date  # first day of the next period, exclusive
    kind: PeriodKind
    fiscal_year: int  # named by the calendar year in which the fiscal year ends
    number: int  # 1-4 (quarter) or 1-12 (fiscal month) within the fiscal year
    start_month: int  # the calendar's first month of the fiscal year

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.start.year:04d}-{self.start.month:02d}"
        if self.start_month == 1:
            return f"{self.fiscal_year:04d}-Q{self.number}"
        return f"FY{self.fiscal_year:04d}-Q{self.number}"

    def __str__(self) -> str:
        return self.label

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day < self.end

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def shifted(self, periods: int) -> Period:
        """The period `periods` later (negative: earlier) of the same kind."""
        return FiscalCalendar(self.start_month).period(
            self.kind, self.fiscal_year, self.number + periods
        )

    def next(self) -> Period:
        return self.shifted(1)

    def previous(self) -> Period:
        return self.shifted(-1)


_QUARTER = re.compile(r"^(?P<fy>FY)?(?P<year>\d{4})-Q(?P<number>\d+)$", re.IGNORECASE)
_MONTH = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{1,2})$")


@dataclass(frozen=True)
class FiscalCalendar:
    """The organisation's fiscal calendar: the month its fiscal year starts in."""

    start_month: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.start_month, int) or not 1 <= self.start_month <= 12:
            raise ValueError(
                f"The fiscal year's first month must be 1-12, not {self.start_month!r}."
            )

    def fiscal_year_of(self, day: dt.date) -> int:
        """The fiscal year `day` lies in, named by the calendar year in which it ends."""
        if self.start_month == 1 or day.month < self.start_month:
            return day.year
        return day.year + 1

    def fiscal_year_start(self, fiscal_year: int) -> dt.date:
        year = fiscal_year if self.start_month == 1 else fiscal_year - 1
        return dt.date(year, self.start_month, 1)

    def period(self, kind: PeriodKind | str, fiscal_year: int, number: int) -> Period:
        """The `number`-th period of `kind` in `fiscal_year`. `number` may run over either
        end (0 is the last period of the previous fiscal year, 5 the first quarter of the
        next), which is how previous/next are computed."""
        kind = PeriodKind(kind)
        per_year = PERIODS_PER_YEAR[kind]
        fiscal_year += (number - 1) // per_year
        number = (number - 1) % per_year + 1
        first_year = fiscal_year if self.start_month == 1 else fiscal_year - 1
        if not MIN_YEAR <= first_year <= MAX_YEAR:
            raise ValueError(f"Fiscal year {fiscal_year} is out of the supported range.")
        months = MONTHS_IN[kind]
        start = dt.date(*_add_months(first_year, self.start_month, (number - 1) * months), 1)
        end = dt.date(*_add_months(start.year, start.month, months), 1)
        return Period(
            start=start,
            end=end,
            kind=kind,
            fiscal_year=fiscal_year,
            number=number,
            start_month=self.start_month,
        )

    def period_of(self, day: dt.date, kind: PeriodKind | str) -> Period:
        """The period of `kind` that contains `day`."""
        kind = PeriodKind(kind)
        fiscal_month = (day.month - self.start_month) % 12  # 0-based
        return self.period(kind, self.fiscal_year_of(day), fiscal_month // MONTHS_IN[kind] + 1)

    def parse(self, text: str) -> Period:
        """A period from its label: "2026-07" (a month), "2026-Q3" (a quarter, when the
        fiscal year starts in January) or "FY2027-Q1". Raises ValueError saying what is
        wrong and what is expected."""
        raw = text.strip() if isinstance(text, str) else text
        if not isinstance(raw, str) or not raw:
            raise ValueError(
                'A period is required, like "2026-07" (a month) or '
                f'"{self._example_quarter()}" (a quarter).'
            )
        if match := _MONTH.match(raw):
            year, month = int(match["year"]), int(match["month"])
            if not 1 <= month <= 12:
                raise ValueError(f'"{raw}": the month must be 01-12.')
            if year < MIN_YEAR:
                raise ValueError(f'"{raw}": the year is out of the supported range.')
            return self.period_of(dt.date(year, month, 1), PeriodKind.MONTH)
        if match := _QUARTER.match(raw):
            year, number = int(match["year"]), int(match["number"])
            if not 1 <= number <= 4:
                raise ValueError(f'"{raw}": the quarter must be Q1-Q4.')
            if not match["fy"] and self.start_month != 1:
                raise ValueError(
                    f'"{raw}" is ambiguous: the fiscal year starts in '
                    f"{dt.date(2000, self.start_month, 1):%B}. Write the fiscal year, named "
                    f'by the year in which it ends, e.g. "FY{year}-Q{number}".'
                )
            return self.period(PeriodKind.QUARTER, year, number)
        raise ValueError(
            f'"{raw}" is not a period: write a month as "2026-07" or a quarter as '
            f'"{self._example_quarter()}".'
        )

    def _example_quarter(self) -> str:
        return "2026-Q3" if self.start_month == 1 else "FY2027-Q1"
