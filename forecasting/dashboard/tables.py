"""The tables under the dashboard's charts (each chart's numbers) and its headline
numbers, every sum of deals linked to its drill-down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from forecasting.dashboard.common import (
    CATEGORY_LABELS,
    FIGURE_TITLES,
    TREND_CATEGORIES,
    deals_url,
    figure_url,
    trend_table,
    waterfall_steps,
)
from forecasting.dashboard.data import Dashboard


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


# The by-team tables: each chart's (figure, kind) columns.
TEAM_TABLE_FIGURES = {
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
OWNER_TABLE_FIGURES = [
    ("closed_won", "money"),
    ("commit", "money"),
    ("best_case", "money"),
    ("pipeline", "money"),
    ("quota", "money"),
    ("attainment_percent", "percent"),
]
FIGURE_HEADERS = {
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


def dashboard_tables(dash: Dashboard) -> dict[str, Table]:
    """The numbers of each chart as a table, every sum of deals linked to its drill-down."""
    tables: dict[str, Table] = {}
    for name, figures in TEAM_TABLE_FIGURES.items():
        tables[name] = _team_table(dash, name, figures)
    tables["by_owner"] = _owner_table(dash)
    tables["trend"] = _trend_table(dash)
    tables["changes"] = _changes_table(dash)
    tables["history"] = _history_table(dash)
    return tables


def _team_table(dash: Dashboard, name: str, figures: list[tuple[str, str]]) -> Table:
    """A by-team chart's table: a row per team, the scope's totals as its footer."""
    return Table(
        name=name,
        csv="by_team",
        header=["Team"] + [f"{FIGURE_HEADERS[f]}" for f, _ in figures],
        rows=[_team_cells(dash, row, figures) for row in dash.summary.by_team],
        footer=_total_cells(dash, figures),
    )


def _owner_table(dash: Dashboard) -> Table:
    """A row per owner, each sum of deals linked to the owner's deals."""
    owner_rows = []
    for row in dash.summary.by_owner:
        cells = [_text(row.name)]
        for figure, kind in OWNER_TABLE_FIGURES:
            href = figure_url(dash, figure, owner=row.id) if figure in FIGURE_TITLES else ""
            cells.append(Cell(getattr(row.figures, figure), kind, href))
        owner_rows.append(cells)
    return Table(
        name="by_owner",
        csv="by_owner",
        header=["Owner"] + [FIGURE_HEADERS[f] for f, _ in OWNER_TABLE_FIGURES],
        rows=owner_rows,
    )


def _trend_table(dash: Dashboard) -> Table:
    """A row per week of the trend, each amount linked to that week's snapshot rows (none
    for a week without a snapshot)."""
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
    return Table(
        name="trend",
        csv="trend",
        header=["Week", *[CATEGORY_LABELS[c] for c in TREND_CATEGORIES], "Open pipeline"],
        rows=trend_rows,
    )


def _changes_table(dash: Dashboard) -> Table:
    """The waterfall's steps with their deal counts (no rows without both snapshots)."""
    code = dash.currency
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
    return Table(
        name="changes", csv="changes", header=["", "Deals", f"Amount ({code})"], rows=change_rows
    )


def _history_table(dash: Dashboard) -> Table:
    """The reps' calls, the system's numbers and the forecast from history."""
    code = dash.currency
    totals = dash.summary.totals
    return Table(
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
