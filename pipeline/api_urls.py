"""/api/v1/ routes of the pipeline app."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from pipeline import api

router = SimpleRouter()
router.register("opportunities", api.OpportunityViewSet, basename="opportunity")
router.register("business-issues", api.BusinessIssueViewSet, basename="business-issue")
router.register("activities", api.ActivityViewSet, basename="activity")
router.register("accounts", api.AccountViewSet, basename="account")
router.register("products", api.ProductViewSet, basename="product")
router.register("pipelines", api.PipelineViewSet, basename="pipeline")
router.register("stages", api.StageViewSet, basename="stage")
router.register("milestones", api.MilestoneViewSet, basename="milestone")
router.register("frameworks", api.QualificationFrameworkViewSet, basename="framework")
router.register("framework-elements", api.FrameworkElementViewSet, basename="framework-element")
router.register("flags", api.FlagViewSet, basename="flag")

# CSV exports: a file name, not a collection, so no trailing slash (and before the router's
# detail routes, which would not match "export.csv" anyway).
urlpatterns = [
    path(
        "opportunities/export.csv",
        api.OpportunityExportViewSet.as_view({"get": "list"}),
        name="opportunity-export",
    ),
    path(
        "accounts/export.csv",
        api.AccountExportViewSet.as_view({"get": "list"}),
        name="account-export",
    ),
    path(
        "products/export.csv",
        api.ProductExportViewSet.as_view({"get": "list"}),
        name="product-export",
    ),
    *router.urls,
]
