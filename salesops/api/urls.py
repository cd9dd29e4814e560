"""/api/v1/: each app's API routes, the OpenAPI schema and its docs (no CDN: sidecar)."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.routers import SimpleRouter

from salesops.api.audit import AuditEventViewSet
from salesops.api.docs import DocsView, SchemaView
from salesops.api.errors import error_body
from salesops.api.notifications import NotificationViewSet
from salesops.api.organisation import OrganisationViewSet
from salesops.api.people import PeopleExportViewSet, PeopleViewSet

app_name = "api"

router = SimpleRouter()
router.register("notifications", NotificationViewSet, basename="notification")


@csrf_exempt  # it changes nothing; without this a PATCH to /accounts/0.5/ got the HTML CSRF 403
def not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Unknown API paths get the API's error shape, not the HTML 404 page."""
    return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)


urlpatterns = [
    path(
        "organisation/",
        OrganisationViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="organisation",
    ),
    path("people/", PeopleViewSet.as_view({"get": "list"}), name="people-list"),
    path("audit-events/", AuditEventViewSet.as_view({"get": "list"}), name="audit-event-list"),
    path("people/export.csv", PeopleExportViewSet.as_view({"get": "list"}), name="people-export"),
    *router.urls,
    path("", include("pipeline.api_urls")),
    path("", include("proposals.api_urls")),
    path("", include("coaching.api_urls")),
    path("", include("forecasting.api_urls")),
    path("", include("hiring.api_urls")),
    path("", include("insights.api_urls")),
    path("", include("exchange.api_urls")),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^.*$", not_found),
]
