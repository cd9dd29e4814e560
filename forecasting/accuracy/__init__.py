"""Forecast accuracy and bias of past calls, and the rows of the weekly pipeline snapshots —
reads, already scoped to the user (a selector package, like coaching/cadence.py).

The report and its definitions are in `report` (forecast_accuracy); the arguments it
cleans, its periods and checkpoints in `arguments`; the scope, the standing calls, the
people who owed calls, the chains and their closed won in `chains`; its tables as CSV rows
in `csv_rows`; a week's snapshot rows in `snapshots`. Callers read
`from forecasting import accuracy`.
"""

from forecasting.accuracy.arguments import (
    CHECKPOINT_WEEKS,
    DEFAULT_CHECKPOINTS,
    MAX_CHECKPOINTS,
    MAX_PERIODS,
    checkpoint_cutoff,
)
from forecasting.accuracy.chains import CALLS_HEAD, CALLS_TAIL, ChainKey
from forecasting.accuracy.csv_rows import BY_PERSON_HEADER, ROWS_HEADER, accuracy_csv_rows
from forecasting.accuracy.report import (
    NO_CALL,
    NO_CLOSED_WON,
    TENTH,
    AccuracyPersonRow,
    AccuracyReport,
    AccuracyRow,
    forecast_accuracy,
)
from forecasting.accuracy.snapshots import SnapshotRows, snapshot_rows_for

__all__ = [
    "BY_PERSON_HEADER",
    "CALLS_HEAD",
    "CALLS_TAIL",
    "CHECKPOINT_WEEKS",
    "DEFAULT_CHECKPOINTS",
    "MAX_CHECKPOINTS",
    "MAX_PERIODS",
    "NO_CALL",
    "NO_CLOSED_WON",
    "ROWS_HEADER",
    "TENTH",
    "AccuracyPersonRow",
    "AccuracyReport",
    "AccuracyRow",
    "ChainKey",
    "SnapshotRows",
    "accuracy_csv_rows",
    "checkpoint_cutoff",
    "forecast_accuracy",
    "snapshot_rows_for",
]
