"""What the dashboard's modules share: the amounts' constants, the drill-down links, the
forecast categories' labels and the figures' titles, and the numbers behind both a chart
and its table (the trend per week, the week-over-week waterfall's steps)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.urls import reverse

from forecasting import charts
from pipeline.models import ForecastCategory

if TYPE_CHECKING:
    from forecasting.dashboard.data import Dashboard


ZERO = Decimal("0")
CENT = Decimal("0.01")
DEALS_PAGE_SIZE = 50
CSV_MAX_ROWS = 100_000  # a drill-down's CSV holds the deals up to this many

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


# --- forecast categories and figures ------------------------------------------------------

CATEGORY_LABELS = dict(ForecastCategory.choices)
TREND_CATEGORIES = (
    ForecastCategory.COMMIT,
    ForecastCategory.BEST_CASE,
    ForecastCategory.PIPELINE,
)

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


# --- the numbers behind a chart and its table -------------------------------------------


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
