"""/api/v1/ routes of the insights app."""

from rest_framework.routers import SimpleRouter

from insights import api

router = SimpleRouter()
router.register("insights/results", api.ResultsViewSet, basename="insights-results")
router.register("insights/behaviours", api.BehavioursViewSet, basename="insights-behaviours")
router.register("insights/suggestions", api.SuggestionViewSet, basename="insights-suggestion")
router.register("insights/experiments", api.ExperimentViewSet, basename="insights-experiment")

urlpatterns = [*router.urls]
