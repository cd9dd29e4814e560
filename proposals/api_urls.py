"""/api/v1/ routes of the proposals app."""

from rest_framework.routers import SimpleRouter

from proposals import api

router = SimpleRouter()
router.register("proposals", api.ProposalViewSet, basename="proposal")

urlpatterns = router.urls
