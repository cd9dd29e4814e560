"""The leader dashboard's reads: everything the dashboard shows in one picklable value, and
the drill-down to the deals behind each of its numbers (a selector module, like
forecasting/accuracy.py).

`dashboard_data(user, period_label, team_id)` composes the existing reads — the forecast
summary (with by_team), the trend of the period's weekly snapshots, the latest
week-over-week, the forecast from history, the total of the reps' latest calls and the
accuracy report — into a frozen `Dashboard` of plain values (no querysets, no model
instances, no request), so it can be cached. Its scope check (`dashboard_scope`: a rep, or
a team outside the user's teams, is a 404) runs first and alone, so a cache can be
consulted after it.

The drill-down reads (`figure_deals`, `change_deals`, `snapshot_deals`) list the deals
behind one number with the SAME definition the number came from: the summary's figures
through selectors.summary_figure_deals (the filter forecast_summary sums), the changes
from selectors.week_over_week's own groups, the trend's points through the same snapshot
scope (SnapshotScope.sql) and filters as selectors.snapshot_trend. So a listed total
equals the number clicked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Sum
from django.http import Http404
from django.urls import reverse

from forecasting import charts, freshness, rules
from forecasting import selectors as forecast_selectors
from forecasting import services as forecasting_services
from forecasting.models import SubmissionLevel
from pipeline.models import ForecastCategory, Opportunity, OpportunityStatus
from salesops import access, organisation, side_reads
from salesops.cleaning import clean_currency, query_int
from salesops.exceptions import ValidationFailed
from salesops.models import Team, User

ZERO = Decimal("0")
CENT = Decimal("0.01")
TREND_DEFAULT_WEEKS = 13  # a period that has not begun: the snapshots of the last quarter
DEALS_PAGE_SIZE = 50
CSV_MAX_ROWS = 100_000  # a drill-down's CSV holds the deals up to this many

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


# --- drill-down links ---------------------------------------------------------------------------


def deals_url(**params: Any) -> str:
    """The drill-down page's URL with `params` (None and "" left out)."""
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{reverse('forecasting:deals')}?{urlencode(query)}"


def figure_url(dash: Dashboard, figure: str, *, team: int | None = None, owner=None) -> str:
    return deals_url(
        figure=figure,
        period=dash.period.label,
        team=team if team is not None else dash.scope.team_id,
        owner=owner,
    )


# --- the charts ---------------------------------------------------------------------------

CATEGORY_COLOURS = {
    "closed_won": "#2f9e44",
    "commit": "#3b5bdb",
    "best_case": "#74c0fc",
    "pipeline": "#ced4da",
    "closed": "#2b8a3e",
    "omitted": "#868e96",
}
CATEGORY_LABELS = dict(ForecastCategory.choices)
STATUS_LABELS = dict(OpportunityStatus.choices)
TREND_CATEGORIES = (
    ForecastCategory.COMMIT,
    ForecastCategory.BEST_CASE,
    ForecastCategory.PIPELINE,
)


@dataclass(frozen=True)
class DashboardCharts:
    attainment: charts.BarChart
    categories: charts.BarChart
    coverage: charts.BarChart
    trend: charts.LineChart
    waterfall: charts.BarChart
    waterfall_steps: list[tuple[charts.Step, str]]  # (step, kind) in the waterfall's order
    history: charts.BarChart


def team_rows(dash: Dashboard) -> list[forecast_selectors.SummaryRow]:
    """The by-team rows the charts show (the "No team" row included)."""
    return list(dash.summary.by_team)


def waterfall_steps(dash: Dashboard) -> list[tuple[charts.Step, str]]:
    """Last week's total → each change kind that happened (new, pulled in, pushed out,
    amount up / down, won, lost, then moved in / out and dropped) → this week's total, in
    the dashboard's currency; each with its drill-down link."""
    changes, code = dash.changes, dash.currency
    week = changes.week.isoformat()
    team = dash.scope.team_id
    steps = [
        (
            charts.Step(
                f"Week of {changes.previous_week:%-d %b}",
                changes.opening.get(code, ZERO),
                total=True,
                href=deals_url(
                    category="any",
                    week=changes.previous_week.isoformat(),
                    period=dash.period.label,
                    team=team,
                ),
            ),
            "opening",
        )
    ]
    for group in changes.changes:
        delta = group.deltas.get(code)
        if delta is None:
            continue
        href = deals_url(change=group.kind.value, week=week, period=dash.period.label, team=team)
        steps.append((charts.Step(group.label, delta, href=href), group.kind.value))
    steps.append(
        (
            charts.Step(
                f"Week of {changes.week:%-d %b}",
                changes.closing.get(code, ZERO),
                total=True,
                href=deals_url(category="any", week=week, period=dash.period.label, team=team),
            ),
            "closing",
        )
    )
    return steps


def dashboard_charts(dash: Dashboard) -> DashboardCharts:
    """The dashboard's charts (forecasting.charts geometry), every bar and point linked to
    the deals behind it."""
    code = dash.currency

    def money(value: Decimal | None) -> str:
        return charts.money_label(value, code)

    def exact_money(value: Decimal) -> str:
        return f"{code} {value:,.2f}"

    def exact_ratio(value: Decimal) -> str:
        return f"{value}×"

    rows = team_rows(dash)
    names = [r.name for r in rows]

    def hrefs(figure: str) -> list[str]:
        return [figure_url(dash, figure, team=r.id) if r.id is not None else "" for r in rows]

    attainment = charts.bar_chart(
        names,
        [
            charts.Series("Quota", [r.figures.quota for r in rows], "#adb5bd"),
            charts.Series(
                "Closed won",
                [r.figures.closed_won for r in rows],
                CATEGORY_COLOURS["closed_won"],
                hrefs("closed_won"),
            ),
        ],
        formatter=money,
        exact=exact_money,
    )
    stack = charts.stacked_bars(
        names,
        [
            charts.Series(
                label,
                [getattr(r.figures, figure) for r in rows],
                CATEGORY_COLOURS[figure],
                hrefs(figure),
            )
            for figure, label in (
                ("closed_won", "Closed won"),
                ("commit", "Commit"),
                ("best_case", "Best case"),
                ("pipeline", "Pipeline"),
            )
        ],
        formatter=money,
        exact=exact_money,
    )
    coverage = charts.bar_chart(
        names,
        [
            charts.Series(
                "Coverage",
                [r.figures.coverage for r in rows],
                "#7048e8",
                hrefs("open_pipeline"),
            )
        ],
        formatter=charts.ratio_label,
        exact=exact_ratio,
        references=[Decimal("1"), Decimal("3")],
    )
    table = trend_table(dash)
    trend = charts.line_chart(
        [f"{row['week']:%-d %b}" for row in table],
        [
            charts.Series(
                CATEGORY_LABELS[category],
                [row["amounts"][category] for row in table],
                CATEGORY_COLOURS[category],
                [
                    deals_url(
                        category=category,
                        week=row["week"].isoformat(),
                        period=dash.period.label,
                        team=dash.scope.team_id,
                    )
                    for row in table
                ],
            )
            for category in TREND_CATEGORIES
        ],
        formatter=money,
        exact=exact_money,
    )
    steps = waterfall_steps(dash) if dash.changes.available else []
    waterfall = charts.waterfall([s for s, _ in steps], formatter=money, exact=exact_money)
    history_bars = [
        ("Rep calls (commit)", dash.calls.commit, ""),
        (
            "Commit (system)",
            dash.summary.totals.commit_cumulative,
            figure_url(dash, "commit_cumulative"),
        ),
        ("Forecast from history", dash.forecast_from_history, ""),
    ]
    history = charts.bar_chart(
        [label for label, _, _ in history_bars],
        [
            charts.Series(
                "Amount",
                [value for _, value, _ in history_bars],
                "#3b5bdb",
                [href for _, _, href in history_bars],
            )
        ],
        formatter=money,
        exact=exact_money,
    )
    return DashboardCharts(
        attainment=attainment,
        categories=stack,
        coverage=coverage,
        trend=trend,
        waterfall=waterfall,
        waterfall_steps=steps,
        history=history,
    )


def trend_table(dash: Dashboard) -> list[dict[str, Any]]:
    """The trend's numbers per week: each category's amount (None: no snapshot that week)
    and the open pipeline (every category but Omitted), in the dashboard's currency."""
    code = dash.currency
    table = []
    for w in dash.trend.weeks:
        amounts: dict[str, Decimal | None] = {}
        for category in TREND_CATEGORIES:
            amounts[category] = (
                sum(
                    (
                        c.amount
                        for c in w.cells
                        if c.forecast_category == category and c.currency == code
                    ),
                    ZERO,
                )
                if w.has_snapshot
                else None
            )
        table.append(
            {
                "week": w.week,
                "has_snapshot": w.has_snapshot,
                "amounts": amounts,
                "total": w.totals.get(code, ZERO) if w.has_snapshot else None,
            }
        )
    return table


# --- the tables under the charts ---------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A table cell: a value shown as `kind` ("money", "percent", "ratio", "count",
    "text"), linked to the deals behind it when `href` is set."""

    value: Any
    kind: str = "money"
    href: str = ""
    testid: str = ""


@dataclass(frozen=True)
class Table:
    name: str  # its CSV: ?format=csv&table=<csv>
    csv: str
    header: list[str]
    rows: list[list[Cell]]
    footer: list[Cell] | None = None


def _text(value: Any) -> Cell:
    return Cell(value, "text")


def _team_cells(dash: Dashboard, row, figures: list[tuple[str, str]]) -> list[Cell]:
    """A by-team row's cells: the team's name, then each (figure, kind), money figures
    that are sums of deals linked to them (not the "No team" row: there is no such scope
    to list)."""
    cells = [_text(row.name)]
    for figure, kind in figures:
        value = getattr(row.figures, figure)
        href = ""
        if figure in FIGURE_TITLES and row.id is not None:
            href = figure_url(dash, figure, team=row.id)
        cells.append(Cell(value, kind, href, f"team-{row.id}-{figure}" if href else ""))
    return cells


def _total_cells(dash: Dashboard, figures: list[tuple[str, str]]) -> list[Cell]:
    cells = [_text("Total")]
    for figure, kind in figures:
        value = getattr(dash.summary.totals, figure)
        href = figure_url(dash, figure) if figure in FIGURE_TITLES else ""
        cells.append(Cell(value, kind, href, f"total-{figure}" if href else ""))
    return cells


def dashboard_totals(dash: Dashboard) -> list[tuple[str, Cell]]:
    """The headline numbers of the scope, each sum of deals linked to them."""
    t = dash.summary.totals

    def linked(figure: str) -> Cell:
        return Cell(getattr(t, figure), "money", figure_url(dash, figure), f"total-{figure}")

    return [
        ("Closed won", linked("closed_won")),
        ("Commit incl. closed won", linked("commit_cumulative")),
        ("Best case incl. commit", linked("best_case_cumulative")),
        ("Open pipeline", linked("open_pipeline")),
        ("Weighted pipeline", linked("weighted_pipeline")),
        ("Quota", Cell(t.quota)),
        ("Attainment", Cell(t.attainment_percent, "percent")),
        ("Coverage", Cell(t.coverage, "ratio")),
    ]


def dashboard_tables(dash: Dashboard) -> dict[str, Table]:
    """The numbers of each chart as a table, every sum of deals linked to its drill-down."""
    code = dash.currency
    tables: dict[str, Table] = {}
    specs = {
        "attainment": [
            ("quota", "money"),
            ("closed_won", "money"),
            ("attainment_percent", "percent"),
            ("remaining", "money"),
        ],
        "categories": [
            ("closed_won", "money"),
            ("commit", "money"),
            ("best_case", "money"),
            ("pipeline", "money"),
            ("weighted_pipeline", "money"),
        ],
        "coverage": [
            ("open_pipeline", "money"),
            ("remaining", "money"),
            ("coverage", "ratio"),
        ],
    }
    headers = {
        "quota": "Quota",
        "closed_won": "Closed won",
        "attainment_percent": "Attainment",
        "remaining": "Remaining quota",
        "commit": "Commit",
        "best_case": "Best case",
        "pipeline": "Pipeline",
        "weighted_pipeline": "Weighted",
        "open_pipeline": "Open pipeline",
        "coverage": "Coverage",
    }
    for name, figures in specs.items():
        tables[name] = Table(
            name=name,
            csv="by_team",
            header=["Team"] + [f"{headers[f]}" for f, _ in figures],
            rows=[_team_cells(dash, row, figures) for row in dash.summary.by_team],
            footer=_total_cells(dash, figures),
        )
    owner_figures = [
        ("closed_won", "money"),
        ("commit", "money"),
        ("best_case", "money"),
        ("pipeline", "money"),
        ("quota", "money"),
        ("attainment_percent", "percent"),
    ]
    owner_rows = []
    for row in dash.summary.by_owner:
        cells = [_text(row.name)]
        for figure, kind in owner_figures:
            href = figure_url(dash, figure, owner=row.id) if figure in FIGURE_TITLES else ""
            cells.append(Cell(getattr(row.figures, figure), kind, href))
        owner_rows.append(cells)
    tables["by_owner"] = Table(
        name="by_owner",
        csv="by_owner",
        header=["Owner"] + [headers[f] for f, _ in owner_figures],
        rows=owner_rows,
    )
    trend_rows = []
    for row in trend_table(dash):
        week = row["week"].isoformat()
        cells = [_text(f"{row['week']:%-d %b %Y}")]
        for category in (*TREND_CATEGORIES, "open_pipeline"):
            value = row["total"] if category == "open_pipeline" else row["amounts"][category]
            href = (
                deals_url(
                    category=category, week=week, period=dash.period.label, team=dash.scope.team_id
                )
                if row["has_snapshot"]
                else ""
            )
            cells.append(Cell(value, "money", href, f"trend-{week}-{category}" if href else ""))
        trend_rows.append(cells)
    tables["trend"] = Table(
        name="trend",
        csv="trend",
        header=["Week", *[CATEGORY_LABELS[c] for c in TREND_CATEGORIES], "Open pipeline"],
        rows=trend_rows,
    )
    change_rows = []
    if dash.changes.available:
        counts = {g.kind.value: g.count for g in dash.changes.changes}
        for step, kind in waterfall_steps(dash):
            change_rows.append(
                [
                    _text(step.label),
                    Cell(counts.get(kind), "count"),
                    Cell(step.value, "money", step.href, f"change-{kind}"),
                ]
            )
    tables["changes"] = Table(
        name="changes", csv="changes", header=["", "Deals", f"Amount ({code})"], rows=change_rows
    )
    totals = dash.summary.totals
    tables["history"] = Table(
        name="history",
        csv="history",
        header=["", f"Amount ({code})"],
        rows=[
            [
                _text(f"Reps' latest calls: commit ({dash.calls.calls} calls)"),
                Cell(dash.calls.commit),
            ],
            [_text("Reps' latest calls: best case"), Cell(dash.calls.best_case)],
            [
                _text("Commit including closed won (system)"),
                Cell(
                    totals.commit_cumulative,
                    "money",
                    figure_url(dash, "commit_cumulative"),
                    "history-commit",
                ),
            ],
            [
                _text("Closed won"),
                Cell(totals.closed_won, "money", figure_url(dash, "closed_won")),
            ],
            [
                _text("Open pipeline (the deals the forecasts price)"),
                Cell(totals.open_pipeline, "money", figure_url(dash, "open_pipeline")),
            ],
            [_text("Open pipeline priced from history"), Cell(dash.history.expected)],
            [
                _text("Forecast from history (closed won + the above)"),
                Cell(dash.forecast_from_history),
            ],
            [
                _text("Open pipeline priced at stage probabilities"),
                Cell(dash.history.stage_default_expected),
            ],
        ],
    )
    return tables


# --- CSV tables ---------------------------------------------------------------------------------

FIGURE_COLUMNS = (
    ("closed_won", "Closed won"),
    ("commit", "Commit"),
    ("best_case", "Best case"),
    ("pipeline", "Pipeline"),
    ("open_pipeline", "Open pipeline"),
    ("commit_cumulative", "Commit incl. closed won"),
    ("best_case_cumulative", "Best case incl. commit"),
    ("pipeline_cumulative", "Pipeline incl. best case"),
    ("weighted_pipeline", "Weighted pipeline"),
    ("quota", "Quota"),
    ("attainment_percent", "Attainment %"),
    ("remaining", "Remaining quota"),
    ("coverage", "Coverage"),
)
DASHBOARD_TABLES = (
    "by_team",
    "by_owner",
    "trend",
    "changes",
    "history",
    "accuracy",
    "accuracy_rows",
)


def csv_table(dash: Dashboard, table: str) -> list[list[Any]]:
    """The rows (header first) of one of the dashboard's tables (DASHBOARD_TABLES); an
    unknown table is a ValidationFailed (details.table)."""
    code = dash.currency
    if table in ("by_team", "by_owner"):
        rows = dash.summary.by_team if table == "by_team" else dash.summary.by_owner
        header = ["Team" if table == "by_team" else "Owner", "Currency"]
        out = [header + [label for _, label in FIGURE_COLUMNS]]
        for row in rows:
            out.append(
                [row.name, code] + [getattr(row.figures, field) for field, _ in FIGURE_COLUMNS]
            )
        out.append(["Total", code] + [getattr(dash.summary.totals, f) for f, _ in FIGURE_COLUMNS])
        return out
    if table == "trend":
        out = [
            ["Week", "Snapshot taken", "Currency"]
            + [CATEGORY_LABELS[c] for c in TREND_CATEGORIES]
            + ["Open pipeline"]
        ]
        for row in trend_table(dash):
            out.append(
                [row["week"], row["has_snapshot"], code]
                + [row["amounts"][c] for c in TREND_CATEGORIES]
                + [row["total"]]
            )
        return out
    if table == "changes":
        out = [["Week", "Change", "Deals", "Currency", "Amount"]]
        changes = dash.changes
        if changes.available:
            out.append(
                [
                    changes.previous_week,
                    "Last week's total",
                    "",
                    code,
                    changes.opening.get(code, ZERO),
                ]
            )
            for group in changes.changes:
                out.append(
                    [changes.week, group.label, group.count, code, group.deltas.get(code, ZERO)]
                )
            out.append(
                [changes.week, "This week's total", "", code, changes.closing.get(code, ZERO)]
            )
        return out
    if table == "history":
        h = dash.history
        out = [
            [
                "Pipeline",
                "Stage",
                "Stage probability %",
                "Open deals",
                "Open amount",
                "Expected (history)",
                "Expected (stage probability)",
                "History deals",
                "History won",
                "Currency",
            ]
        ]
        for s in h.by_stage:
            out.append(
                [
                    s.pipeline_name,
                    s.stage_name,
                    s.stage_probability,
                    s.open_deals,
                    s.open_amount,
                    s.expected,
                    s.stage_default_expected,
                    s.history_deals,
                    s.history_won,
                    h.currency,
                ]
            )
        out.append(
            ["Total", "", "", h.open_deals, h.open_amount, h.expected, h.stage_default_expected,
             h.history_deals, "", h.currency]
        )  # fmt: skip
        return out
    if table == "accuracy":
        if dash.accuracy is None:
            raise ValidationFailed(dash.accuracy_error, details={"table": [dash.accuracy_error]})
        from forecasting import accuracy

        return accuracy.accuracy_csv_rows(dash.accuracy, "by_person")
    if table == "accuracy_rows":
        if dash.accuracy is None:
            raise ValidationFailed(dash.accuracy_error, details={"table": [dash.accuracy_error]})
        from forecasting import accuracy

        return accuracy.accuracy_csv_rows(dash.accuracy, "rows")
    raise ValidationFailed(details={"table": [f"Pick a table: {', '.join(DASHBOARD_TABLES)}."]})


# --- drill-down --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DealRow:
    """One deal behind a number. `amount` is what it adds to the number (its amount; its
    weighted amount for the weighted pipeline; the signed change for a week-over-week
    change); `amount_before` / `amount_after` only for a change."""

    opportunity_id: int
    name: str
    owner_id: int | None
    owner_name: str
    team_id: int | None
    team_name: str
    stage: str
    category: str
    status: str
    amount: Decimal
    currency: str
    close_date: dt.date | None
    amount_before: Decimal | None = None
    amount_after: Decimal | None = None


@dataclass(frozen=True)
class DealList:
    """The deals behind one number, one page of them, and their total (= the number)."""

    title: str
    what: str  # "figure", "change" or "snapshot"
    key: str  # the figure, change kind or category
    period: rules.Period
    currency: str
    team_id: int | None
    owner_id: int | None
    week: dt.date | None
    total: Decimal
    count: int
    rows: list[DealRow]
    page: int
    pages: int
    amount_label: str
    note: str = ""

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


FIGURE_TITLES = {
    "closed_won": "Closed won",
    "commit": "Commit",
    "best_case": "Best case",
    "pipeline": "Pipeline",
    "open_pipeline": "Open pipeline",
    "commit_cumulative": "Commit including closed won",
    "best_case_cumulative": "Best case including commit and closed won",
    "pipeline_cumulative": "Pipeline including best case, commit and closed won",
    "weighted_pipeline": "Weighted pipeline",
}
SNAPSHOT_CATEGORIES = {
    **{c: label for c, label in ForecastCategory.choices},
    "open_pipeline": "Open pipeline (every category but Omitted)",
    "any": "Every deal of the snapshot",
}


def _page_number(page: Any, count: int, size: int) -> tuple[int, int]:
    """(page, pages): a page out of range or not a number is the nearest page (the first
    for junk), as a paginated link may outlive its data."""
    # Django's rule (Paginator.get_page) over the count alone: the rows are read by SQL.
    shown = Paginator(range(count), size).get_page(page)
    return shown.number, shown.paginator.num_pages


def _name(first: str | None, last: str | None, username: str | None) -> str:
    return f"{first or ''} {last or ''}".strip() or (username or "")


def figure_deals(
    user: User,
    figure: Any,
    period_label: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    *,
    page: Any = 1,
    page_size: int | None = DEALS_PAGE_SIZE,
) -> DealList:
    """The deals behind a figure of the forecast summary for the scope (the same
    definition and checks: selectors.summary_figure_deals), largest first, one page
    (`page_size` None: all, up to CSV_MAX_ROWS). Their total is the figure
    (weighted_pipeline: Σ amount × probability ÷ 100, to the cent, as the summary).
    Queries: the scope's (1-2), the count and total (1), the page (1)."""
    period, code, scope, deals = forecast_selectors.summary_figure_deals(
        user,
        figure,
        period_label,
        team_id,
        owner_id,
        currency=organisation.current().default_currency,
    )
    weighted = figure == "weighted_pipeline"
    totals = deals.aggregate(
        n=Count("id"),
        total=Sum(forecast_selectors.WEIGHTED_RAW if weighted else "amount"),
    )
    count = totals["n"]
    total = totals["total"] or ZERO
    if weighted:
        total = (total / 100).quantize(CENT, ROUND_HALF_UP)
    size = page_size or CSV_MAX_ROWS
    number, pages = _page_number(page, count, size) if page_size else (1, 1)
    listed = (
        deals.select_related("owner__team", "stage")
        .only(
            "id", "name", "amount", "currency", "close_date", "status", "forecast_category",
            "owner__first_name", "owner__last_name", "owner__username", "owner__team__name",
            "stage__name", "stage__probability",
        )
        .order_by("-amount", "id")[(number - 1) * size : number * size]
    )  # fmt: skip
    rows = []
    for o in listed:
        amount = o.amount
        if weighted:
            amount = (o.amount * o.stage.probability / 100).quantize(CENT, ROUND_HALF_UP)
        team = o.owner.team
        rows.append(
            DealRow(
                opportunity_id=o.pk,
                name=o.name,
                owner_id=o.owner_id,
                owner_name=str(o.owner),
                team_id=team.pk if team else None,
                team_name=team.name if team else "",
                stage=o.stage.name,
                category=o.get_forecast_category_display(),
                status=o.get_status_display(),
                amount=amount,
                currency=o.currency,
                close_date=o.close_date,
            )
        )
    scope_name = _scope_name(scope.team_names, scope.picked_team, scope.picked_owner, rows)
    return DealList(
        title=f"{FIGURE_TITLES[figure]} · {period.label}{scope_name}",
        what="figure",
        key=figure,
        period=period,
        currency=code,
        team_id=scope.picked_team,
        owner_id=scope.picked_owner,
        week=None,
        total=total,
        count=count,
        rows=rows,
        page=number,
        pages=pages,
        amount_label="Weighted amount" if weighted else "Amount",
        note=(
            "Each deal's weighted amount is its amount × its stage's probability, to the "
            "cent; the total is rounded once, so it may differ from the sum of the rows by "
            "a few cents."
            if weighted
            else ""
        ),
    )


def _team_label(team_id: Any) -> str:
    """ " · <team name>" for a team already checked to be in scope (one query); "" for none."""
    if team_id in (None, ""):
        return ""
    name = Team.objects.filter(pk=int(team_id)).values_list("name", flat=True).first()
    return f" · {name}" if name else ""


def _scope_name(
    team_names: dict[int, str], team: int | None, owner: int | None, rows: list[DealRow]
) -> str:
    if owner is not None:
        name = next((r.owner_name for r in rows if r.owner_id == owner), "")
        return f" · {name}" if name else " · one person"
    if team is not None:
        return f" · {team_names.get(team, '')}"
    return ""


def change_deals(
    user: User,
    change: Any,
    period_label: Any = None,
    week: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    *,
    page: Any = 1,
    page_size: int | None = DEALS_PAGE_SIZE,
) -> DealList:
    """The deals behind one week-over-week change kind (selectors.week_over_week's own
    group, so the same definition), in the dashboard's currency, largest change first. The
    total is the group's delta; week_over_week lists at most CHANGE_ITEMS_PER_KIND deals a
    kind, so beyond that the page says how many are not listed. A bad change kind or week
    is a ValidationFailed; outside the scope a 404. Queries: week_over_week's (up to 6)
    and the deals' owners, teams and stages (1)."""
    kinds = {c.value for c in rules.Change}
    if change not in kinds:
        raise ValidationFailed(
            details={"change": [f"Pick a change: {', '.join(c.value for c in rules.Change)}."]}
        )
    code = organisation.current().default_currency
    result = forecast_selectors.week_over_week(user, period_label, week, team_id, owner_id)
    group = next(g for g in result.changes if g.kind.value == change)
    items = [item for item in group.items if item.currency == code]
    size = page_size or CSV_MAX_ROWS
    number, pages = _page_number(page, len(items), size) if page_size else (1, 1)
    shown = items[(number - 1) * size : number * size]
    deals = {
        o.pk: o
        for o in Opportunity.objects.filter(pk__in=[i.opportunity_id for i in shown])
        .select_related("owner__team", "stage")
        .only(
            "id", "status", "forecast_category", "owner__first_name", "owner__last_name",
            "owner__username", "owner__team__name", "stage__name",
        )
    }  # fmt: skip
    rows = []
    for item in shown:
        o = deals.get(item.opportunity_id)
        team = o.owner.team if o else None
        rows.append(
            DealRow(
                opportunity_id=item.opportunity_id,
                name=item.name,
                owner_id=o.owner_id if o else None,
                owner_name=str(o.owner) if o else "",
                team_id=team.pk if team else None,
                team_name=team.name if team else "",
                stage=o.stage.name if o else "",
                category=o.get_forecast_category_display() if o else "",
                status=o.get_status_display() if o else "",
                amount=item.delta,
                currency=item.currency,
                close_date=item.close_date_after or item.close_date_before,
                amount_before=item.amount_before,
                amount_after=item.amount_after,
            )
        )
    total = group.deltas.get(code, ZERO)
    count_in_code = len(items)
    note = ""
    if group.truncated:
        note = (
            f"{group.count} deals changed; the {len(group.items)} largest changes are listed "
            f"(all currencies), so the rows add up to less than the total."
        )
    team_label = _team_label(team_id)
    return DealList(
        title=(
            f"{rules.CHANGE_LABELS[rules.Change(change)]} · week of {result.week:%-d %b %Y}"
            f" · {result.period.label}{team_label}"
        ),
        what="change",
        key=change,
        period=result.period,
        currency=code,
        team_id=int(team_id) if team_id not in (None, "") else None,
        owner_id=int(owner_id) if owner_id not in (None, "") else None,
        week=result.week,
        total=total,
        count=count_in_code,
        rows=rows,
        page=number,
        pages=pages,
        amount_label="Change",
        note=note
        or (
            ""
            if result.available
            else "There is no snapshot of this week or the week before: nothing to compare."
        ),
    )


# The snapshot rows of one week behind a trend point (or a week's total), in the scope and
# with the filters of snapshot_trend / week_over_week's totals: close date in the period,
# {scope_s} = SnapshotScope.sql("s"), one currency, and {category_s} (a fixed fragment).
SNAPSHOT_TOTAL_SQL = """
SELECT count(*), sum(s.amount)
FROM forecasting_pipelinesnapshot s
WHERE s.week = %(week)s AND s.close_date >= %(start)s AND s.close_date < %(end)s
  AND s.currency = %(currency)s AND {category_s} AND {scope_s}
"""
SNAPSHOT_ROWS_SQL = """
SELECT s.opportunity_id, o.name, s.owner_id, u.first_name, u.last_name, u.username,
       s.team_id, t.name, st.name, s.forecast_category, s.status, s.amount, s.currency,
       s.close_date
FROM forecasting_pipelinesnapshot s
JOIN pipeline_opportunity o ON o.id = s.opportunity_id
JOIN pipeline_stage st ON st.id = s.stage_id
LEFT JOIN salesops_user u ON u.id = s.owner_id
LEFT JOIN salesops_team t ON t.id = s.team_id
WHERE s.week = %(week)s AND s.close_date >= %(start)s AND s.close_date < %(end)s
  AND s.currency = %(currency)s AND {category_s} AND {scope_s}
ORDER BY s.amount DESC, s.opportunity_id
LIMIT %(limit)s OFFSET %(offset)s
"""


def _snapshot_week(week: Any) -> dt.date:
    if week in (None, ""):
        raise ValidationFailed(details={"week": ["Say which week's snapshot (YYYY-MM-DD)."]})
    text = str(week)
    try:
        day = dt.date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationFailed(details={"week": ["Enter a date as YYYY-MM-DD (a Monday)."]})
    if day.weekday() != 0:
        raise ValidationFailed(
            details={"week": [f"A week starts on a Monday: {rules.week_start(day)}, not {day}."]}
        )
    return day


def snapshot_deals(
    user: User,
    category: Any,
    week: Any,
    period_label: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    *,
    page: Any = 1,
    page_size: int | None = DEALS_PAGE_SIZE,
) -> DealList:
    """The rows of `week`'s pipeline snapshot behind a trend point: deals closing in the
    period, in the scope as snapshot_trend sees it (owner and team that week), of one
    forecast `category` ("open_pipeline": every category but Omitted — the trend's total;
    "any": every row — week-over-week's opening and closing totals), in the dashboard's
    currency, largest first. Owner, team, stage and amount as the snapshot recorded them.
    A bad category or week is a ValidationFailed; outside the scope a 404. Queries: the
    scope's (up to 3), the total (1), the page (1)."""
    if category not in SNAPSHOT_CATEGORIES:
        raise ValidationFailed(
            details={"category": [f"Pick a category: {', '.join(SNAPSHOT_CATEGORIES)}."]}
        )
    the_week = _snapshot_week(week)
    period = forecast_selectors.period_or_current(period_label)
    errors: dict[str, list[str]] = {}
    code = clean_currency(errors, organisation.current().default_currency)
    scope = forecast_selectors.snapshot_scope(user, team_id, owner_id)
    if category == "any":
        category_s = "TRUE"
    elif category == "open_pipeline":
        category_s = "s.forecast_category <> 'omitted'"
    else:
        category_s = "s.forecast_category = %(category)s"
    params = {
        **scope.params(),
        "week": the_week,
        "start": period.start,
        "end": period.end,
        "currency": code,
        "category": category,
    }
    fragments = {"category_s": category_s, "scope_s": scope.sql("s")}
    with connection.cursor() as cursor:
        cursor.execute(SNAPSHOT_TOTAL_SQL.format(**fragments), params)
        count, total = cursor.fetchone()
        size = page_size or CSV_MAX_ROWS
        number, pages = _page_number(page, count, size) if page_size else (1, 1)
        cursor.execute(
            SNAPSHOT_ROWS_SQL.format(**fragments),
            params | {"limit": size, "offset": (number - 1) * size},
        )
        fetched = cursor.fetchall()
    rows = [
        DealRow(
            opportunity_id=pk,
            name=name,
            owner_id=owner,
            owner_name=_name(first, last, username),
            team_id=team,
            team_name=team_name or "",
            stage=stage,
            category=CATEGORY_LABELS.get(cat, cat),
            status=STATUS_LABELS.get(status, status),
            amount=amount,
            currency=currency,
            close_date=close,
        )
        for (
            pk, name, owner, first, last, username, team, team_name, stage, cat, status,
            amount, currency, close,
        ) in fetched
    ]  # fmt: skip
    return DealList(
        title=(
            f"{SNAPSHOT_CATEGORIES[category]} · snapshot of {the_week:%-d %b %Y}"
            f" · {period.label}{_team_label(team_id)}"
        ),
        what="snapshot",
        key=category,
        period=period,
        currency=code,
        team_id=int(team_id) if team_id not in (None, "") else None,
        owner_id=scope.owner,
        week=the_week,
        total=total or ZERO,
        count=count,
        rows=rows,
        page=number,
        pages=pages,
        amount_label="Amount (that week)",
        note="Owner, team, stage and amount as the snapshot recorded them that week.",
    )


DEAL_CSV_HEADER = [
    "Opportunity id",
    "Opportunity",
    "Owner",
    "Team",
    "Stage",
    "Forecast category",
    "Status",
    "Close date",
    "Currency",
]


def deals_csv_rows(deal_list: DealList) -> list[list[Any]]:
    """The drill-down's table for a CSV download (header first)."""
    change = deal_list.what == "change"
    header = [*DEAL_CSV_HEADER, deal_list.amount_label]
    if change:
        header += ["Amount last week", "Amount this week"]
    out: list[list[Any]] = [header]
    for r in deal_list.rows:
        row = [
            r.opportunity_id, r.name, r.owner_name, r.team_name, r.stage, r.category,
            r.status, r.close_date, r.currency, r.amount,
        ]  # fmt: skip
        if change:
            row += [r.amount_before, r.amount_after]
        out.append(row)
    return out
