"""The accuracy report's tables as CSV rows (accuracy_csv_rows), for the downloads."""

from __future__ import annotations

from typing import Any, Literal

from forecasting.accuracy.report import AccuracyReport

BY_PERSON_HEADER = [
    "person_id",
    "person",
    "level",
    "team_id",
    "team",
    "checkpoint_week",
    "periods",
    "calls",
    "accuracy_percent",
    "bias",
    "bias_percent",
    "note",
]
ROWS_HEADER = [
    "person_id",
    "person",
    "level",
    "team_id",
    "team",
    "period",
    "checkpoint_week",
    "cutoff",
    "submission_id",
    "submitted_at",
    "submitted_commit",
    "best_case",
    "actual_closed_won",
    "error",
    "best_case_error",
    "accuracy_percent",
    "note",
]


def accuracy_csv_rows(
    report: AccuracyReport, table: Literal["by_person", "rows"] = "by_person"
) -> list[list[Any]]:
    """The rows of one of the report's tables for a CSV download, the header first. Cells
    are values — Decimal, int, str, datetime, None — for forecasting.exports.csv_response,
    which writes money as plain decimals, None as an empty cell and escapes text that a
    spreadsheet would run as a formula. (Not pre-formatted strings: a negative error
    written as the text "-1200.00" would then be escaped into text.) Percentages are to
    0.1; the currency is the report's."""
    if table == "by_person":
        return [BY_PERSON_HEADER] + [
            [
                r.person_id,
                r.person_name,
                r.level,
                r.team_id,
                r.team_name,
                r.checkpoint,
                r.periods,
                r.calls,
                r.accuracy_percent,
                r.bias,
                r.bias_percent,
                r.note,
            ]
            for r in report.by_person
        ]
    if table == "rows":
        return [ROWS_HEADER] + [
            [
                r.person_id,
                r.person_name,
                r.level,
                r.team_id,
                r.team_name,
                r.period,
                r.checkpoint,
                r.cutoff,
                r.submission_id,
                r.submitted_at,
                r.submitted,
                r.best_case,
                r.actual,
                r.error,
                r.best_case_error,
                r.accuracy_percent,
                r.note,
            ]
            for r in report.rows
        ]
    raise ValueError(f'table must be "by_person" or "rows", not {table!r}.')
