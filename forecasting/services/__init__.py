"""Every write of forecasting. Pages, the API, the demo and the tasks all call these.

By entity: the weekly pipeline snapshot (`snapshots`), quotas and new hires' ramps
(`quotas`), forecast calls (`submissions`) and forecast meetings (`meetings`); the fiscal
calendar, today in the organisation's timezone and period labels, which the reads use too,
are in `periods`; what the services share is in `common`. Callers read
`from forecasting import services`.
"""

from forecasting.services.common import MAX_ID
from forecasting.services.meetings import (
    MEETING_MAX_AGE_DAYS,
    MEETING_MAX_ATTENDEES,
    MEETING_NOTES_MAX,
    UNSET,
    can_hold_forecast_meeting,
    meeting_create,
    meeting_update,
)
from forecasting.services.periods import fiscal_calendar, local_today, period_from_label
from forecasting.services.quotas import (
    QUOTA_SETTERS,
    RAMP_SET_WINDOW_DAYS,
    QuotaChange,
    QuotaChangesResult,
    quota_delete,
    quota_ramp_set,
    quota_set,
    quota_set_many,
    quota_update,
)
from forecasting.services.snapshots import (
    SNAPSHOT_LOCK_KEY,
    TAKE_SQL,
    SnapshotResult,
    pipeline_snapshot_take,
)
from forecasting.services.submissions import (
    FIGURE_FIELDS,
    SUBMISSION_LOCK_CLASS,
    SUBMISSION_NOTE_MAX,
    figures_json,
    forecast_submit,
    latest_submissions_q,
    reps_calls_sum,
    team_reps_calls,
)

__all__ = [
    "FIGURE_FIELDS",
    "MAX_ID",
    "MEETING_MAX_AGE_DAYS",
    "MEETING_MAX_ATTENDEES",
    "MEETING_NOTES_MAX",
    "QUOTA_SETTERS",
    "RAMP_SET_WINDOW_DAYS",
    "SNAPSHOT_LOCK_KEY",
    "SUBMISSION_LOCK_CLASS",
    "SUBMISSION_NOTE_MAX",
    "TAKE_SQL",
    "UNSET",
    "QuotaChange",
    "QuotaChangesResult",
    "SnapshotResult",
    "can_hold_forecast_meeting",
    "figures_json",
    "fiscal_calendar",
    "forecast_submit",
    "latest_submissions_q",
    "local_today",
    "meeting_create",
    "meeting_update",
    "period_from_label",
    "pipeline_snapshot_take",
    "quota_delete",
    "quota_ramp_set",
    "quota_set",
    "quota_set_many",
    "quota_update",
    "reps_calls_sum",
    "team_reps_calls",
]
