"""The leader dashboard's data: everything the dashboard shows in one picklable value.

`dashboard_data(user, period_label, team_id)` composes the existing reads — the forecast
summary (with by_team), the trend of the period's weekly snapshots, the latest
week-over-week, the forecast from history, the total of the reps' latest calls and the
accuracy report — into a frozen `Dashboard` of plain values (no querysets, no model
instances, no request), so it can be cached. Its scope check (`dashboard_scope`: a rep, or
a team outside the user's teams, is a 404) runs first and alone, so a cache can be
consulted after it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.http import Http404

from forecasting import freshness, rules
from forecasting import selectors as forecast_selectors
from forecasting import services as forecasting_services
from forecasting.dashboard.common import ZERO
from forecasting.models import SubmissionLevel
from salesops import access, organisation, side_reads
from salesops.cleaning import query_int
from salesops.models import Team, User

TREND_DEFAULT_WEEKS = 13  # a period that has not begun: the snapshots of the last quarter

# --- scope -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamChoice:
    id: int
    name: str


@dataclass(frozen=True)
class DashboardScope:
    """Who the dashboard shows: the team picked (None: everything the user sees — the
    company for a leader, their teams for a manager) and the teams they may pick."""

    team_id: int | None
    team_name: str | None
    teams: list[TeamChoice]
    company: bool  # a leader or admin looking at the whole company


def may_see_dashboard(user: User) -> bool:
    """Leaders and admins (the company) and managers (their teams); not reps."""
    return bool(
        user.is_authenticated and user.is_active and (user.sees_everything or user.is_manager)
    )


def dashboard_scope(user: User, team_id: Any = None) -> DashboardScope:
    """The dashboard's scope for `user` and the `team_id` picked (None or "": no team).
    A rep, an inactive user, and a team that is not one of the user's (a manager: the teams
    they manage and their sub-teams; a leader or admin: any) or not a team id at all are a
    404. One query (the teams)."""
    if not may_see_dashboard(user):
        raise Http404("The forecast dashboard is for managers and leaders.")
    teams = list(Team.objects.only("id", "name", "parent_id", "manager_id").order_by("name", "id"))
    if user.sees_everything:
        pickable = {t.pk for t in teams}
    else:
        pickable = set()
        for team in teams:
            if team.manager_id == user.pk:
                pickable |= access.sub_teams_among(teams, team.pk)
    picked = None
    if team_id not in (None, ""):
        picked = query_int(team_id)
        if picked not in pickable:
            raise Http404("No such team.")
    choices = [TeamChoice(t.pk, t.name) for t in teams if t.pk in pickable]
    return DashboardScope(
        team_id=picked,
        team_name=next((c.name for c in choices if c.id == picked), None),
        teams=choices,
        company=user.sees_everything and picked is None,
    )


# --- the dashboard's data ----------------------------------------------------------------------


@dataclass(frozen=True)
class CallsTotal:
    """The reps' latest calls of the period in the scope, in the dashboard's currency."""

    calls: int
    commit: Decimal
    best_case: Decimal


@dataclass(frozen=True)
class Dashboard:
    period: rules.Period
    previous_period: str  # labels, for the previous / next links ("": none, at the
    next_period: str  # ends of the calendar's supported years)
    month_period: str  # the month of the period's first day / the quarter containing it
    quarter_period: str
    currency: str
    scope: DashboardScope
    summary: forecast_selectors.ForecastSummary
    trend: forecast_selectors.SnapshotTrend  # the period's weeks that have begun
    changes: forecast_selectors.WeekOverWeek
    history: forecast_selectors.HistoryForecast
    calls: CallsTotal
    accuracy: Any  # forecasting.accuracy.AccuracyReport; None when unavailable
    accuracy_error: str  # why there is no accuracy report (empty when there is one)

    @property
    def has_snapshots(self) -> bool:
        return any(w.has_snapshot for w in self.trend.weeks) or self.changes.has_snapshot

    @property
    def has_quota(self) -> bool:
        return self.summary.totals.quota is not None

    @property
    def forecast_from_history(self) -> Decimal:
        """What the period is expected to close: closed won so far + the open pipeline
        priced with the win rates from history."""
        return self.summary.totals.closed_won + self.history.expected


def trend_weeks(period: rules.Period, today: dt.date) -> tuple[int, dt.date, dt.date]:
    """Which weekly snapshots the trend of `period` shows, given `today`: (how many weeks
    to ask snapshot_trend for — it counts back from the current week —, the first and the
    last week to keep). A period that has begun: its weeks from the one containing its
    first day up to the current week (or its last week, when it is over); one that has not:
    the last TREND_DEFAULT_WEEKS weeks. At most TREND_MAX_WEEKS back."""
    current = rules.week_start(today)
    if period.start <= today:
        first = rules.week_start(period.start)
        last = min(current, rules.week_start(period.last_day))
    else:
        first = current - dt.timedelta(days=7 * (TREND_DEFAULT_WEEKS - 1))
        last = current
    weeks = (current - first).days // 7 + 1
    return max(1, min(weeks, forecast_selectors.TREND_MAX_WEEKS)), first, last


def _calls_total(user: User, period: rules.Period, team_id: int | None, code: str) -> CallsTotal:
    calls = forecast_selectors.submissions_for(
        user, period=period, team=team_id, level=SubmissionLevel.REP, latest=True
    ).filter(currency=code)
    totals = calls.aggregate(n=Count("id"), commit=Sum("commit"), best_case=Sum("best_case"))
    return CallsTotal(
        calls=totals["n"], commit=totals["commit"] or ZERO, best_case=totals["best_case"] or ZERO
    )


def _accuracy(user: User, period: rules.Period, team_id: int | None) -> tuple[Any, str]:
    """The accuracy report of the scope's past calls (forecasting.accuracy), of the
    dashboard's period kind."""
    try:
        from forecasting import accuracy
    except ImportError:  # built by another part of issue 6; the page says so meanwhile
        return None, "Forecast accuracy is not available yet."
    report = accuracy.forecast_accuracy(user, team_id=team_id, kind=period.kind.value)
    return report, ""


def _shifted_label(period: rules.Period, periods: int) -> str:
    """The label of the period `periods` away; "" beyond the calendar's first or last
    supported year (there is no such period to link to)."""
    try:
        return period.shifted(periods).label
    except ValueError:
        return ""


def dashboard_data(user: User, period_label: Any = None, team_id: Any = None) -> Dashboard:
    """Everything the dashboard shows for `period_label` (default: the current fiscal
    quarter) and `team_id` (default: all the user sees), in the organisation's default
    currency.

    Refuses: a rep or a team outside the user's (404, checked first, before any other
    read); a bad period label (ValidationFailed, details.period).

    A fixed number of queries, however many teams, people, deals and snapshots (measured in
    tests/forecasting/test_dashboard.py).

    Cached (forecasting.freshness) per scope — the company for leaders and admins, else
    the user —, period, team and day, under the forecast data version: any committed
    change to what the numbers read makes the next call compute them again."""
    scope = dashboard_scope(user, team_id)
    period = forecast_selectors.period_or_current(period_label)
    whose = "company" if user.sees_everything else f"user:{user.pk}"
    today = forecasting_services.local_today()
    code = organisation.current().default_currency
    return freshness.cached_numbers(
        "dashboard",
        (whose, period.label, scope.team_id, code, today.isoformat()),
        lambda: _dashboard_data(user, scope, period),
    )


# The dashboard's reads are independent of each other. The week-over-week comparison, the
# largest (two weeks of snapshot rows), runs on a second database connection
# (salesops.side_reads) while this thread reads the rest: at 1M deals a cold dashboard
# takes the longer of the two instead of their sum.


def _dashboard_data(user: User, scope: DashboardScope, period: rules.Period) -> Dashboard:
    team = scope.team_id
    code = organisation.current().default_currency
    changes_read = side_reads.side_read(
        lambda: forecast_selectors.week_over_week(user, period, team_id=team)
    )
    summary = forecast_selectors.forecast_summary(user, period, team, currency=code)
    weeks, first, last = trend_weeks(period, forecasting_services.local_today())
    trend = forecast_selectors.snapshot_trend(user, period, weeks=weeks, team_id=team)
    trend = forecast_selectors.SnapshotTrend(
        period=trend.period, weeks=[w for w in trend.weeks if first <= w.week <= last]
    )
    history = forecast_selectors.history_forecast(user, period, team, currency=code)
    report, accuracy_error = _accuracy(user, period, team)
    calls = _calls_total(user, period, team, code)
    changes = changes_read()
    calendar = forecasting_services.fiscal_calendar()
    return Dashboard(
        period=period,
        previous_period=_shifted_label(period, -1),
        next_period=_shifted_label(period, 1),
        month_period=calendar.period_of(period.start, rules.PeriodKind.MONTH).label,
        quarter_period=calendar.period_of(period.start, rules.PeriodKind.QUARTER).label,
        currency=code,
        scope=scope,
        summary=summary,
        trend=trend,
        changes=changes,
        history=history,
        calls=calls,
        accuracy=report,
        accuracy_error=accuracy_error,
    )
