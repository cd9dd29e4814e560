"""The dashboard's charts (forecasting.charts geometry), every bar and point linked to the
deals behind it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from forecasting import charts
from forecasting import selectors as forecast_selectors
from forecasting.dashboard.common import (
    CATEGORY_LABELS,
    TREND_CATEGORIES,
    deals_url,
    figure_url,
    trend_table,
    waterfall_steps,
)
from forecasting.dashboard.data import Dashboard

CATEGORY_COLOURS = {
    "closed_won": "#2f9e44",
    "commit": "#3b5bdb",
    "best_case": "#74c0fc",
    "pipeline": "#ced4da",
    "closed": "#2b8a3e",
    "omitted": "#868e96",
}


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


def dashboard_charts(dash: Dashboard) -> DashboardCharts:
    """The dashboard's charts (forecasting.charts geometry), every bar and point linked to
    the deals behind it."""
    rows = team_rows(dash)
    attainment = _attainment_chart(dash, rows)
    stack = _categories_chart(dash, rows)
    coverage = _coverage_chart(dash, rows)
    trend = _trend_chart(dash)
    steps = waterfall_steps(dash) if dash.changes.available else []
    money, exact_money = _money_formats(dash.currency)
    waterfall = charts.waterfall([s for s, _ in steps], formatter=money, exact=exact_money)
    history = _history_chart(dash)
    return DashboardCharts(
        attainment=attainment,
        categories=stack,
        coverage=coverage,
        trend=trend,
        waterfall=waterfall,
        waterfall_steps=steps,
        history=history,
    )


def _money_formats(code: str) -> tuple[Callable[[Decimal | None], str], Callable[[Decimal], str]]:
    """The charts' formatters of amounts in the dashboard's currency `code`: (the short
    label of an axis, the exact value of a bar's or point's title)."""

    def money(value: Decimal | None) -> str:
        return charts.money_label(value, code)

    def exact_money(value: Decimal) -> str:
        return f"{code} {value:,.2f}"

    return money, exact_money


def _exact_ratio(value: Decimal) -> str:
    return f"{value}×"


def _team_hrefs(
    dash: Dashboard, rows: list[forecast_selectors.SummaryRow], figure: str
) -> list[str]:
    """Each by-team row's drill-down link for `figure` ("" for the "No team" row)."""
    return [figure_url(dash, figure, team=r.id) if r.id is not None else "" for r in rows]


def _attainment_chart(
    dash: Dashboard, rows: list[forecast_selectors.SummaryRow]
) -> charts.BarChart:
    """Quota and closed won per team."""
    money, exact_money = _money_formats(dash.currency)
    return charts.bar_chart(
        [r.name for r in rows],
        [
            charts.Series("Quota", [r.figures.quota for r in rows], "#adb5bd"),
            charts.Series(
                "Closed won",
                [r.figures.closed_won for r in rows],
                CATEGORY_COLOURS["closed_won"],
                _team_hrefs(dash, rows, "closed_won"),
            ),
        ],
        formatter=money,
        exact=exact_money,
    )


def _categories_chart(
    dash: Dashboard, rows: list[forecast_selectors.SummaryRow]
) -> charts.BarChart:
    """Closed won, commit, best case and pipeline per team, stacked."""
    money, exact_money = _money_formats(dash.currency)
    return charts.stacked_bars(
        [r.name for r in rows],
        [
            charts.Series(
                label,
                [getattr(r.figures, figure) for r in rows],
                CATEGORY_COLOURS[figure],
                _team_hrefs(dash, rows, figure),
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


def _coverage_chart(dash: Dashboard, rows: list[forecast_selectors.SummaryRow]) -> charts.BarChart:
    """Each team's coverage, with reference lines at 1× and 3×."""
    return charts.bar_chart(
        [r.name for r in rows],
        [
            charts.Series(
                "Coverage",
                [r.figures.coverage for r in rows],
                "#7048e8",
                _team_hrefs(dash, rows, "open_pipeline"),
            )
        ],
        formatter=charts.ratio_label,
        exact=_exact_ratio,
        references=[Decimal("1"), Decimal("3")],
    )


def _trend_chart(dash: Dashboard) -> charts.LineChart:
    """Each trend category's amount week by week, each point linked to that week's snapshot
    rows."""
    money, exact_money = _money_formats(dash.currency)
    table = trend_table(dash)
    return charts.line_chart(
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


def _history_chart(dash: Dashboard) -> charts.BarChart:
    """The reps' calls (commit), the system's commit and the forecast from history."""
    money, exact_money = _money_formats(dash.currency)
    history_bars = [
        ("Rep calls (commit)", dash.calls.commit, ""),
        (
            "Commit (system)",
            dash.summary.totals.commit_cumulative,
            figure_url(dash, "commit_cumulative"),
        ),
        ("Forecast from history", dash.forecast_from_history, ""),
    ]
    return charts.bar_chart(
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
