"""/api/v1/ routes of the import."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from exchange import api

router = SimpleRouter()
router.register("imports", api.ImportBatchViewSet, basename="import")

urlpatterns = [
    path(
        "imports/<str:pk>/rejected.csv",
        api.ImportRejectedViewSet.as_view({"get": "list"}),
        name="import-rejected",
    ),
    *router.urls,
]
