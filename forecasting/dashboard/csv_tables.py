"""The dashboard's CSV downloads: one of its tables (DASHBOARD_TABLES), or the deals of a
drill-down."""

from __future__ import annotations

from typing import Any

from forecasting.dashboard.common import (
    CATEGORY_LABELS,
    TREND_CATEGORIES,
    ZERO,
    trend_table,
)
from forecasting.dashboard.data import Dashboard
from forecasting.dashboard.drilldown import DealList
from salesops.exceptions import ValidationFailed

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
        out: list[list[Any]] = [header + [label for _, label in FIGURE_COLUMNS]]
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
        for week_row in trend_table(dash):
            out.append(
                [week_row["week"], week_row["has_snapshot"], code]
                + [week_row["amounts"][c] for c in TREND_CATEGORIES]
                + [week_row["total"]]
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
