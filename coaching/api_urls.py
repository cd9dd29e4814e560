"""/api/v1/ routes of the coaching app."""

from rest_framework.routers import SimpleRouter

from coaching import api

router = SimpleRouter()
router.register("skills", api.SkillViewSet, basename="skill")
router.register("skill-assessments", api.SkillAssessmentViewSet, basename="skill-assessment")
# --- coaching coverage ---
router.register("coaching/coverage", api.CoachingCoverageViewSet, basename="coaching-coverage")
router.register("coaching-flags", api.CoachingFlagViewSet, basename="coaching-flag")
# --- 1:1 sessions ---
router.register("coaching-sessions", api.CoachingSessionViewSet, basename="coaching-session")
# --- opportunity reviews ---
router.register("opportunity-reviews", api.OpportunityReviewViewSet, basename="opportunity-review")
router.register("action-items", api.ActionItemViewSet, basename="action-item")

urlpatterns = router.urls
