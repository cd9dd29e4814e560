"""/api/v1/ routes of the pipeline app."""

from rest_framework.routers import SimpleRouter

from pipeline import api

router = SimpleRouter()
router.register("opportunities", api.OpportunityViewSet, basename="opportunity")
router.register("business-issues", api.BusinessIssueViewSet, basename="business-issue")
router.register("activities", api.ActivityViewSet, basename="activity")
router.register("accounts", api.AccountViewSet, basename="account")
router.register("pipelines", api.PipelineViewSet, basename="pipeline")
router.register("stages", api.StageViewSet, basename="stage")
router.register("milestones", api.MilestoneViewSet, basename="milestone")
router.register("frameworks", api.QualificationFrameworkViewSet, basename="framework")
router.register("framework-elements", api.FrameworkElementViewSet, basename="framework-element")
router.register("flags", api.FlagViewSet, basename="flag")

urlpatterns = router.urls
