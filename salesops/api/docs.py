"""The OpenAPI schema and Swagger UI, behind sign-in (salesops.api.permissions.SchemaPermission)
and under the Content-Security-Policy: no inline script or style, assets from the sidecar."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated
from rest_framework.renderers import JSONRenderer


class SchemaView(SpectacularAPIView):
    def handle_exception(self, exc):
        # A refusal is an error in the API's JSON shape, not a YAML "schema" of it (the
        # schema's renderers would otherwise render it in whatever format was asked for).
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI's start-up script is a second request to this view (`?script`) rather
    than inline, and our page template links a stylesheet instead of a <style> block."""

    template_name = "salesops/api_docs.html"

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated):  # a person in a browser: sign in, come back
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
