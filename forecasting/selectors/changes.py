"""Week-over-week changes of the open pipeline between two snapshot weeks, and the trend of
the weekly snapshots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection

from forecasting import rules
from forecasting import services as forecasting_services
from forecasting.selectors.common import period_or_current
from forecasting.selectors.snapshots import LATEST_WEEK_SQL, SnapshotScope, snapshot_scope
from pipeline.models import ForecastCategory
from salesops import organisation
from salesops.exceptions import ValidationFailed
from salesops.models import User

# --- week-over-week ---
# Week-over-week changes and the trend of the weekly snapshots, for a period and a scope.
# The scope applies to the snapshot rows as they were taken: a row is in scope when its
# owner and team THAT WEEK are (a rep: their own rows; a manager: their own and those of
# the teams they manage now, sub-teams included; a leader: all), narrowed to `team_id`'s
# subtree and/or `owner_id`. So a rep who changed teams stays in the old team's history
# and their deals show as "moved out" of the old team's pipeline and "moved in" to the
# new one's. A team or owner outside the user's scope is a 404. Amounts are per currency:
# never summed across currencies.

CHANGE_ITEMS_PER_KIND = 200  # the largest changes of each kind are listed; counts are exact
TREND_MAX_WEEKS = 104


def _week_end(week: dt.date) -> dt.datetime:
    """The end of `week` (the next Monday, 00:00) in the organisation's timezone."""
    return organisation.current().start_of(week + dt.timedelta(days=7))


@dataclass(frozen=True)
class ChangeItem:
    """One deal behind a change: its amounts and close dates last week and this week
    (None: absent; a deal closed since shows its close date now)."""

    opportunity_id: int
    name: str
    currency: str
    delta: Decimal
    amount_before: Decimal | None
    amount_after: Decimal | None
    close_date_before: dt.date | None
    close_date_after: dt.date | None


@dataclass(frozen=True)
class ChangeGroup:
    kind: rules.Change
    label: str
    count: int  # deals
    deltas: dict[str, Decimal]  # per currency: the signed change to the open pipeline
    items: list[ChangeItem]  # the largest changes first, at most CHANGE_ITEMS_PER_KIND

    @property
    def truncated(self) -> bool:
        return len(self.items) < self.count


@dataclass(frozen=True)
class WeekOverWeek:
    """This week's snapshot against last week's for a period. `opening` / `closing`: the
    open pipeline in the period per currency last week / this week (opening + Σ deltas =
    closing). When either week has no snapshot, `available` is False and nothing is
    compared."""

    period: rules.Period
    week: dt.date
    previous_week: dt.date
    has_snapshot: bool
    has_previous_snapshot: bool
    opening: dict[str, Decimal]
    closing: dict[str, Decimal]
    changes: list[ChangeGroup]

    @property
    def available(self) -> bool:
        return self.has_snapshot and self.has_previous_snapshot


EARLIEST_COMPARED_WEEK = dt.date(1, 1, 8)  # the first Monday with a Monday before it


def wow_week(week: Any) -> dt.date | None:
    """`week` as a Monday; None stays None. Refuses a non-date, a day that is not a Monday
    and a week that has not begun (ValidationFailed, details.week)."""
    if week in (None, ""):
        return None
    if isinstance(week, str):
        try:
            week = dt.date.fromisoformat(week)
        except ValueError:
            raise ValidationFailed(
                details={"week": ["Enter a date as YYYY-MM-DD (a Monday)."]}
            ) from None
    if not isinstance(week, dt.date) or isinstance(week, dt.datetime):
        raise ValidationFailed(details={"week": ["Enter a date as YYYY-MM-DD (a Monday)."]})
    if week.weekday() != 0:
        monday = rules.week_start(week)
        raise ValidationFailed(
            details={"week": [f"A week starts on a Monday: {monday.isoformat()}, not {week}."]}
        )
    if week < EARLIEST_COMPARED_WEEK:  # 1 January of year 1: no week before it
        raise ValidationFailed(
            details={"week": [f"Pick a week from {EARLIEST_COMPARED_WEEK.isoformat()} on."]}
        )
    current = rules.week_start(forecasting_services.local_today())
    if week > current:
        raise ValidationFailed(
            details={"week": [f"The week has not begun; the current week began on {current}."]}
        )
    return week


# Opening and closing pipeline of the two weeks per currency, and whether each week has a
# snapshot at all (whoever's rows it holds). The sums are read from the snapshot totals
# (forecasting.models.PipelineSnapshotTotal), kept by triggers; the deals below from the rows.
WOW_TOTALS_SQL = """
SELECT w.week,
       EXISTS (SELECT 1 FROM forecasting_pipelinesnapshot x WHERE x.week = w.week),
       t.currency, t.total
FROM (VALUES (%(before)s::date), (%(after)s::date)) AS w(week)
LEFT JOIN LATERAL (
    SELECT s.currency, sum(s.amount) AS total
    FROM forecasting_pipelinesnapshottotal s
    WHERE s.week = w.week AND s.close_month >= %(start)s AND s.close_month < %(end)s
      AND {scope_s}
    GROUP BY s.currency
    HAVING sum(s.deals) > 0
) t ON true
"""

# The deals that may have changed in the period: in it in either week (in scope), or
# closed since with a close date in it; then their two rows by the unique (week,
# opportunity) index. Deals whose rows agree on everything the kinds look at (scope,
# amount, currency, in or out of the period) are left in the database.
WOW_SQL = """
WITH ids AS (
    SELECT s.opportunity_id AS id FROM forecasting_pipelinesnapshot s
    WHERE s.week IN (%(before)s, %(after)s)
      AND s.close_date >= %(start)s AND s.close_date < %(end)s AND {scope_s}
    UNION
    SELECT o.id FROM pipeline_opportunity o
    WHERE o.status IN ('won', 'lost')
      AND o.close_date >= %(start)s AND o.close_date < %(end)s
      AND o.closed_at >= %(before_start)s AND o.closed_at < %(after_end)s
),
pairs AS (
    SELECT ids.id,
           b.opportunity_id IS NOT NULL AS has_b, b.amount AS b_amount,
           b.currency AS b_currency, b.close_date AS b_close, {scope_b} AS b_scope,
           a.opportunity_id IS NOT NULL AS has_a, a.amount AS a_amount,
           a.currency AS a_currency, a.close_date AS a_close, {scope_a} AS a_scope
    FROM ids
    LEFT JOIN forecasting_pipelinesnapshot b
        ON b.week = %(before)s AND b.opportunity_id = ids.id
    LEFT JOIN forecasting_pipelinesnapshot a
        ON a.week = %(after)s AND a.opportunity_id = ids.id
),
changed AS MATERIALIZED (
    SELECT * FROM pairs
    WHERE (has_a OR has_b)
      AND NOT (has_a AND has_b AND a_scope = b_scope AND a_amount = b_amount
               AND a_currency = b_currency
               AND (a_close >= %(start)s AND a_close < %(end)s)
                 = (b_close >= %(start)s AND b_close < %(end)s))
)
-- The deal's name and outcome only for the deals that changed (a few of the pairs).
SELECT c.id, o.name, c.has_b, c.b_amount, c.b_currency, c.b_close, c.b_scope,
       c.has_a, c.a_amount, c.a_currency, c.a_close, c.a_scope,
       o.status <> 'open' AND o.closed_at < %(after_end)s AS closed_in_time,
       o.status = 'won' AS won, o.close_date AS close_now
FROM changed c
-- LATERAL … LIMIT 1: looked up by id for each changed deal, never a scan of all deals.
CROSS JOIN LATERAL (
    SELECT o.name, o.status, o.closed_at, o.close_date
    FROM pipeline_opportunity o WHERE o.id = c.id LIMIT 1
) o
ORDER BY c.id
"""


def week_over_week(
    user: User,
    period_label: str | rules.Period | None,  # a Period passes through (period_from_label)
    week: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
) -> WeekOverWeek:
    """The changes in `period_label`'s open pipeline (default: the current quarter)
    between the snapshot of `week` (a Monday; default: the latest snapshot week up to the
    current one) and that of the week before, in `user`'s scope (see above), per change
    kind of forecasting.rules.week_changes: count, deltas per currency, and the deals.

    Refuses (ValidationFailed) a bad period label and a week that is not a Monday or has
    not begun; a team or person outside the user's scope is a 404. A week without a
    snapshot is no error: `available` is False and the changes are empty. At most six
    queries, however many deals."""
    period = period_or_current(period_label)
    week = wow_week(week)
    scope = snapshot_scope(user, team_id, owner_id)
    current = rules.week_start(forecasting_services.local_today())
    if week is None:
        with connection.cursor() as cursor:
            cursor.execute(LATEST_WEEK_SQL, [current])
            row = cursor.fetchone()
        week = row[0] if row else current
    # The comparison itself is shared with the forecast meetings (any two weeks).
    return snapshot_comparison(scope, period, week - dt.timedelta(days=7), week)


@dataclass(frozen=True)
class TrendCell:
    forecast_category: str
    currency: str
    amount: Decimal
    deals: int


@dataclass(frozen=True)
class TrendWeek:
    """One week's open pipeline in the period: per forecast category and currency, and
    `totals` per currency of every category but Omitted (the open pipeline)."""

    week: dt.date
    has_snapshot: bool
    cells: list[TrendCell]

    @property
    def totals(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for cell in self.cells:
            if cell.forecast_category != ForecastCategory.OMITTED:
                totals[cell.currency] = totals.get(cell.currency, Decimal("0")) + cell.amount
        return dict(sorted(totals.items()))


@dataclass(frozen=True)
class SnapshotTrend:
    period: rules.Period
    weeks: list[TrendWeek]  # oldest first, the current week last


TREND_SQL = """
SELECT g.week,
       EXISTS (SELECT 1 FROM forecasting_pipelinesnapshot x WHERE x.week = g.week),
       t.forecast_category, t.currency, t.amount, t.deals
FROM (SELECT d::date AS week
      FROM generate_series(%(first)s::date, %(last)s::date, interval '7 days') AS d) AS g
LEFT JOIN (
    SELECT s.week, s.forecast_category, s.currency, sum(s.amount) AS amount,
           sum(s.deals)::int AS deals
    FROM forecasting_pipelinesnapshottotal s
    WHERE s.week >= %(first)s AND s.week <= %(last)s
      AND s.close_month >= %(start)s AND s.close_month < %(end)s AND {scope_s}
    GROUP BY s.week, s.forecast_category, s.currency
    HAVING sum(s.deals) > 0
) t ON t.week = g.week
ORDER BY g.week, t.forecast_category, t.currency
"""


def snapshot_trend(
    user: User,
    period_label: str | rules.Period | None,
    weeks: int = 13,
    team_id: Any = None,
    owner_id: Any = None,
) -> SnapshotTrend:
    """The open pipeline of `period_label` (default: the current quarter) in `user`'s
    scope as each of the last `weeks` weekly snapshots recorded it (the current week
    included), per forecast category and currency; a week without a snapshot is listed
    with `has_snapshot` False. Refuses a bad period and `weeks` outside 1–104
    (ValidationFailed); a team or person outside the scope is a 404. One aggregate query
    (plus up to three to check the scope)."""
    period = period_or_current(period_label)
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= TREND_MAX_WEEKS:
        raise ValidationFailed(
            details={"weeks": [f"Enter a whole number of weeks from 1 to {TREND_MAX_WEEKS}."]}
        )
    scope = snapshot_scope(user, team_id, owner_id)
    last = rules.week_start(forecasting_services.local_today())
    params = {
        **scope.params(),
        "first": last - dt.timedelta(days=7 * (weeks - 1)),
        "last": last,
        "start": period.start,
        "end": period.end,
    }
    by_week: dict[dt.date, tuple[bool, list[TrendCell]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(TREND_SQL.format(scope_s=scope.sql("s")), params)
        for week, taken, category, currency, amount, deals in cursor.fetchall():
            cells = by_week.setdefault(week, (taken, []))[1]
            if category is not None:
                cells.append(TrendCell(category, currency, amount, deals))
    return SnapshotTrend(
        period=period,
        weeks=[TrendWeek(week, taken, cells) for week, (taken, cells) in by_week.items()],
    )


def snapshot_comparison(
    scope: SnapshotScope, period: rules.Period, before: dt.date, after: dt.date
) -> WeekOverWeek:
    """The changes in `period`'s open pipeline in `scope` between the snapshot of week
    `before` and that of week `after` (Mondays, `before` ≤ `after`; any number of weeks
    apart), per change kind of forecasting.rules.week_changes. A deal closed between the
    two is won / lost when it closed by the end of week `after`. The same week twice
    compares a snapshot with itself: no change. Two queries."""
    params = {
        **scope.params(),
        "before": before,
        "after": after,
        "start": period.start,
        "end": period.end,
        "before_start": organisation.current().start_of(before),
        "after_end": _week_end(after),
    }
    opening: dict[str, Decimal] = {}
    closing: dict[str, Decimal] = {}
    exists: dict[dt.date, bool] = {}
    with connection.cursor() as cursor:
        cursor.execute(WOW_TOTALS_SQL.format(scope_s=scope.sql("s")), params)
        for row_week, taken, currency, total in cursor.fetchall():
            exists[row_week] = taken
            if currency is not None:
                if row_week == before:
                    opening[currency] = total
                if row_week == after:
                    closing[currency] = total
        rows = []
        if exists[before] and exists[after]:
            sql = WOW_SQL.format(
                scope_s=scope.sql("s"), scope_b=scope.sql("b"), scope_a=scope.sql("a")
            )
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    found: dict[rules.Change, list[ChangeItem]] = {kind: [] for kind in rules.Change}
    for (
        pk, name, has_b, b_amount, b_currency, b_close, b_scope,
        has_a, a_amount, a_currency, a_close, a_scope, closed_in_time, won, close_now,
    ) in rows:  # fmt: skip
        state_b = rules.SnapshotState(b_amount, b_currency, b_close, b_scope) if has_b else None
        state_a = rules.SnapshotState(a_amount, a_currency, a_close, a_scope) if has_a else None
        closed = rules.ClosedSince(won=won, close_date=close_now) if closed_in_time else None
        for change in rules.week_changes(
            period=period, before=state_b, after=state_a, closed=closed
        ):
            found[change.kind].append(
                ChangeItem(
                    opportunity_id=pk,
                    name=name,
                    currency=change.currency,
                    delta=change.delta,
                    amount_before=b_amount if has_b else None,
                    amount_after=a_amount if has_a else None,
                    close_date_before=b_close if has_b else None,
                    close_date_after=a_close if has_a else (close_now if closed else None),
                )
            )
    changes = []
    for kind, items in found.items():
        deltas: dict[str, Decimal] = {}
        for item in items:
            deltas[item.currency] = deltas.get(item.currency, Decimal("0")) + item.delta
        items.sort(key=lambda item: (-abs(item.delta), item.opportunity_id))
        changes.append(
            ChangeGroup(
                kind=kind,
                label=rules.CHANGE_LABELS[kind],
                count=len({item.opportunity_id for item in items}),
                deltas=dict(sorted(deltas.items())),
                items=items[:CHANGE_ITEMS_PER_KIND],
            )
        )
    return WeekOverWeek(
        period=period,
        week=after,
        previous_week=before,
        has_snapshot=exists[after],
        has_previous_snapshot=exists[before],
        opening=dict(sorted(opening.items())),
        closing=dict(sorted(closing.items())),
        changes=changes,
    )
