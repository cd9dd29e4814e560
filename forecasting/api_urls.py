"""/api/v1/ routes of the forecasting app."""

from django.urls import path  # noqa: F401  (routes below may be plain paths)
from rest_framework.routers import SimpleRouter

from forecasting import api

router = SimpleRouter()
# --- quotas ---
router.register("quotas", api.QuotaViewSet, basename="quota")
router.register("forecast/summary", api.ForecastSummaryViewSet, basename="forecast-summary")
# --- week-over-week ---
router.register("forecast/changes", api.ForecastChangesViewSet, basename="forecast-changes")
router.register("forecast/trend", api.ForecastTrendViewSet, basename="forecast-trend")
# --- submissions ---
router.register(
    "forecast/submissions", api.ForecastSubmissionViewSet, basename="forecast-submission"
)
# --- forecast from history ---
router.register("forecast/history", api.ForecastHistoryViewSet, basename="forecast-history")
# --- accuracy and snapshots ---
router.register("forecast/accuracy", api.ForecastAccuracyViewSet, basename="forecast-accuracy")
router.register("forecast/snapshots", api.ForecastSnapshotViewSet, basename="forecast-snapshot")
# --- forecast meetings ---
router.register("forecast/meetings", api.ForecastMeetingViewSet, basename="forecast-meeting")

urlpatterns = [*router.urls]
