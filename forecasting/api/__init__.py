"""/api/v1/ of forecasting: serializers and views. Thin: validate, call one service or
selector, serialize.

By topic: quotas (`quotas`), the forecast summary and the forecast from history
(`summary`), week-over-week changes and the weekly trend (`changes`), forecast calls
(`submissions`), the accuracy of past calls and the weekly snapshots' rows (`accuracy`)
and forecast meetings (`meetings`); what they share is in `common`. forecasting/api_urls.py
reads the viewsets as `from forecasting import api`.
"""

from forecasting.api.accuracy import ForecastAccuracyViewSet, ForecastSnapshotViewSet
from forecasting.api.changes import ForecastChangesViewSet, ForecastTrendViewSet
from forecasting.api.meetings import ForecastMeetingViewSet
from forecasting.api.quotas import QuotaViewSet
from forecasting.api.submissions import ForecastSubmissionViewSet
from forecasting.api.summary import ForecastHistoryViewSet, ForecastSummaryViewSet

__all__ = [
    "ForecastAccuracyViewSet",
    "ForecastChangesViewSet",
    "ForecastHistoryViewSet",
    "ForecastMeetingViewSet",
    "ForecastSnapshotViewSet",
    "ForecastSubmissionViewSet",
    "ForecastSummaryViewSet",
    "ForecastTrendViewSet",
    "QuotaViewSet",
]
