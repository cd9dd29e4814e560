"""/api/v1/ routes of the hiring app."""

from rest_framework.routers import SimpleRouter

from hiring import api

router = SimpleRouter()
router.register("hiring/positions", api.PositionViewSet, basename="hiring-position")
router.register("hiring/candidates", api.CandidateViewSet, basename="hiring-candidate")
router.register("hiring/interviews", api.InterviewViewSet, basename="hiring-interview")
router.register("hiring/scorecards", api.ScorecardViewSet, basename="hiring-scorecard")
router.register(
    "hiring/onboarding-plans", api.OnboardingPlanViewSet, basename="hiring-onboarding-plan"
)
router.register(
    "hiring/onboarding-tasks", api.OnboardingTaskViewSet, basename="hiring-onboarding-task"
)
router.register("hiring/ramp", api.RampViewSet, basename="hiring-ramp")

urlpatterns = [*router.urls]
