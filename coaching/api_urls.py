"""/api/v1/ routes of the coaching app."""

from rest_framework.routers import SimpleRouter

from coaching import api

router = SimpleRouter()
router.register("skills", api.SkillViewSet, basename="skill")
router.register("skill-assessments", api.SkillAssessmentViewSet, basename="skill-assessment")

urlpatterns = router.urls
