"""Forecast periods and weeks — pure date arithmetic, no ORM, no settings.

The organisation's calendar is a `FiscalCalendar(start_month)`; the services build it
from the organisation's settings (salesops.organisation; 1 = January, the default of a new
install; 4 = April, …).

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
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

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


def add_months(year: int, month: int, months: int) -> tuple[int, int]:
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
        start = dt.date(*add_months(first_year, self.start_month, (number - 1) * months), 1)
        end = dt.date(*add_months(start.year, start.month, months), 1)
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


# --- quotas ---

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class ForecastFigures:
    """The forecast numbers of one scope for one period, in one currency.

    Inputs (sums the database made): `closed_won` (won in the period), the open deals
    closing in the period by their own forecast category (`commit`, `best_case`,
    `pipeline`; omitted deals are in none of them), `weighted_raw` = Σ amount × stage
    probability (in %, so not yet divided by 100) of those open deals, and `quota` (None:
    no quota). Everything else is derived here:

      commit_cumulative    = closed won + commit      (Commit includes Closed)
      best_case_cumulative = commit_cumulative + best case
      pipeline_cumulative  = best_case_cumulative + pipeline
      open_pipeline        = commit + best case + pipeline (open, not omitted)
      weighted_pipeline    = weighted_raw ÷ 100, to the cent
      attainment_percent   = closed won ÷ quota × 100, to 0.1 — None without a quota or
                             with a zero quota (nothing to attain, not an error)
      remaining            = max(quota − closed won, 0) — None without a quota
      coverage             = open pipeline ÷ remaining, to 0.01 — None when there is
                             nothing remaining (or no quota)
    """

    closed_won: Decimal
    commit: Decimal
    best_case: Decimal
    pipeline: Decimal
    weighted_raw: Decimal
    quota: Decimal | None

    @property
    def commit_cumulative(self) -> Decimal:
        return self.closed_won + self.commit

    @property
    def best_case_cumulative(self) -> Decimal:
        return self.commit_cumulative + self.best_case

    @property
    def pipeline_cumulative(self) -> Decimal:
        return self.best_case_cumulative + self.pipeline

    @property
    def open_pipeline(self) -> Decimal:
        return self.commit + self.best_case + self.pipeline

    @property
    def weighted_pipeline(self) -> Decimal:
        return (self.weighted_raw / 100).quantize(CENT, ROUND_HALF_UP)

    @property
    def attainment_percent(self) -> Decimal | None:
        if not self.quota:  # None or 0
            return None
        return (self.closed_won * 100 / self.quota).quantize(TENTH, ROUND_HALF_UP)

    @property
    def remaining(self) -> Decimal | None:
        if self.quota is None:
            return None
        return max(self.quota - self.closed_won, Decimal("0.00"))

    @property
    def coverage(self) -> Decimal | None:
        remaining = self.remaining
        if not remaining:  # None or 0
            return None
        return (self.open_pipeline / remaining).quantize(CENT, ROUND_HALF_UP)

    def __add__(self, other: ForecastFigures) -> ForecastFigures:
        """The figures of two disjoint scopes together (quotas: None + None stays None)."""
        quotas = [q for q in (self.quota, other.quota) if q is not None]
        return ForecastFigures(
            closed_won=self.closed_won + other.closed_won,
            commit=self.commit + other.commit,
            best_case=self.best_case + other.best_case,
            pipeline=self.pipeline + other.pipeline,
            weighted_raw=self.weighted_raw + other.weighted_raw,
            quota=sum(quotas, Decimal("0")) if quotas else None,
        )

    def with_quota(self, quota: Decimal | None) -> ForecastFigures:
        return replace(self, quota=quota)


ZERO_FIGURES = ForecastFigures(
    closed_won=Decimal("0"),
    commit=Decimal("0"),
    best_case=Decimal("0"),
    pipeline=Decimal("0"),
    weighted_raw=Decimal("0"),
    quota=None,
)


def sum_quotas(quotas: Iterable[Decimal | None]) -> Decimal | None:
    """The sum of the quotas that are set; None when none is."""
    present = [q for q in quotas if q is not None]
    return sum(present, Decimal("0")) if present else None


def ramp_quotas(
    full_amount: Decimal, percents: Iterable[int], started_on: dt.date, calendar: FiscalCalendar
) -> list[tuple[Period, Decimal]]:
    """A new hire's ramped monthly quotas: the fiscal month they start in at the first
    percentage of `full_amount` (a fully ramped rep's monthly quota), the next month at the
    second, and so on; each rounded to cents. The month they start in counts in full,
    however late in it they start."""
    first = calendar.period_of(started_on, PeriodKind.MONTH)
    return [
        (
            calendar.period(PeriodKind.MONTH, first.fiscal_year, first.number + i),
            (full_amount * percent / 100).quantize(CENT, ROUND_HALF_UP),
        )
        for i, percent in enumerate(percents)
    ]


# --- week-over-week changes ---
#
# What changed in a period's open pipeline between two weekly snapshots: last week's
# (`before`) and this week's (`after`). A deal is "in the period" in a snapshot when its
# row there is in the scope being looked at (its owner and team AS THEY WERE that week)
# and its close date lies in the period. The kinds, each with its signed change to the
# period's open pipeline (`delta`, in the deal's currency):
#
#   new          in the period this week; in NO row of last week's snapshot (created since,
#                or reopened since; a deal that existed last week and moved into the
#                period is not new — it is pulled in or moved in)           +after
#   pulled in    in last week's snapshot with a close date outside the period, in the
#                period this week. Usually from after the period (moved earlier); also
#                from before it (an overdue deal re-dated into the period) — from the
#                period's point of view both bring in a deal that was already open. Counted
#                at last week's amount; an amount change is counted as well. +before
#   pushed out   in the period last week, still open this week with a close date outside
#                it (usually later; also earlier, into an earlier period)   −before
#   amount up /  in BOTH snapshots and in the period this week, amount changed; also for
#   amount down  a deal pulled or moved in ("pulled in AND amount up"). Not for a deal
#                that left the period: its new amount is outside it.       after−before
#   won / lost   in the period last week, absent this week, won / lost by the end of this
#                week (the opportunity's status and closed_at now). Also a deal that was
#                in last week's snapshot outside the period and was re-dated into it and
#                closed in between: pulled in AND won (net 0).             −before
#   moved in /   the period's close date did not change the deal's membership, the scope
#   moved out    did: its owner or the owner's team changed between the snapshots (a rep
#                who changed teams takes their deals out of one team's pipeline and into
#                another's). Only for a team or person scope, never the whole company.
#                                                                        +before / −before
#   dropped      in the period last week, absent this week, but not closed by the end of
#                this week (closed and reopened since, or a close reversed): it left the
#                snapshot without a recorded reason.                       −before
#
# A deal may have two kinds (pulled in + amount up, moved in + amount down, pulled in +
# won). A change of close date within the period, of stage or of forecast category is not
# a change here. The deltas reconcile: last week's open pipeline in the period + Σ deltas
# = this week's, per currency. A deal whose currency changed counts as amount down by its
# old amount (old currency) and amount up by its new one (new currency).
# Not seen: a deal created AND closed between two snapshots is in neither.


class Change(enum.StrEnum):
    NEW = "new"
    PULLED_IN = "pulled_in"
    PUSHED_OUT = "pushed_out"
    AMOUNT_UP = "amount_up"
    AMOUNT_DOWN = "amount_down"
    WON = "won"
    LOST = "lost"
    MOVED_IN = "moved_in"
    MOVED_OUT = "moved_out"
    DROPPED = "dropped"


CHANGE_LABELS = {
    Change.NEW: "New",
    Change.PULLED_IN: "Pulled in",
    Change.PUSHED_OUT: "Pushed out",
    Change.AMOUNT_UP: "Amount up",
    Change.AMOUNT_DOWN: "Amount down",
    Change.WON: "Won",
    Change.LOST: "Lost",
    Change.MOVED_IN: "Moved in (owner or team)",
    Change.MOVED_OUT: "Moved out (owner or team)",
    Change.DROPPED: "Dropped (reopened or reversed)",
}


@dataclass(frozen=True)
class SnapshotState:
    """A deal's row in one week's snapshot. `in_scope`: its owner and team that week are
    in the scope being looked at."""

    amount: Decimal
    currency: str
    close_date: dt.date
    in_scope: bool = True


@dataclass(frozen=True)
class ClosedSince:
    """A deal absent from this week's snapshot that is now won or lost, closed by the end
    of this week; `close_date` is its close date now."""

    won: bool
    close_date: dt.date


@dataclass(frozen=True)
class WeekChange:
    kind: Change
    currency: str
    delta: Decimal  # signed change to the period's open pipeline


def week_changes(
    *,
    period: Period,
    before: SnapshotState | None,
    after: SnapshotState | None,
    closed: ClosedSince | None = None,
) -> list[WeekChange]:
    """The week-over-week changes of one deal in `period` (definitions above). `before` /
    `after`: its rows in last week's and this week's snapshots (None: absent); `closed`:
    only read when `after` is None."""
    was_in = before is not None and before.in_scope and before.close_date in period
    if after is not None:
        is_in = after.in_scope and after.close_date in period
        if before is None:
            return [WeekChange(Change.NEW, after.currency, after.amount)] if is_in else []
        if was_in and not is_in:
            kind = Change.MOVED_OUT if after.close_date in period else Change.PUSHED_OUT
            return [WeekChange(kind, before.currency, -before.amount)]
        if not is_in:
            return []
        changes = []
        if not was_in:
            kind = Change.PULLED_IN if before.close_date not in period else Change.MOVED_IN
            changes.append(WeekChange(kind, before.currency, before.amount))
        if before.currency != after.currency:
            changes.append(WeekChange(Change.AMOUNT_DOWN, before.currency, -before.amount))
            changes.append(WeekChange(Change.AMOUNT_UP, after.currency, after.amount))
        elif after.amount != before.amount:
            kind = Change.AMOUNT_UP if after.amount > before.amount else Change.AMOUNT_DOWN
            changes.append(WeekChange(kind, after.currency, after.amount - before.amount))
        return changes
    if before is None:
        return []
    if closed is None:
        return [WeekChange(Change.DROPPED, before.currency, -before.amount)] if was_in else []
    outcome = Change.WON if closed.won else Change.LOST
    if was_in:
        return [WeekChange(outcome, before.currency, -before.amount)]
    if before.in_scope and before.close_date not in period and closed.close_date in period:
        return [
            WeekChange(Change.PULLED_IN, before.currency, before.amount),
            WeekChange(outcome, before.currency, -before.amount),
        ]
    return []
