"""Every request runs in the organisation's time zone; every response carries the security
headers Django's SecurityMiddleware does not send."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from salesops import organisation


class OrganisationTimeZoneMiddleware:
    """Activates the organisation's time zone (salesops.organisation, a memo: no query on
    most requests) for the request, so timezone.localdate()/localtime(), templates' dates
    and DRF's datetimes mean the organisation's day, and deactivates it afterwards."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with timezone.override(organisation.current().tz()):
            return self.get_response(request)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response (settings), and
    `Cache-Control: no-store` on what is meant for one person: every API response and every
    response to a signed-in user — a shared or back-button cache must not keep a deal, a
    candidate or a freshly shown API key. A response that set its own Cache-Control (the
    favicon, the login page's never_cache, static files) keeps it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if "Cache-Control" not in response.headers and self._personal(request):
            response.headers["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _personal(request: HttpRequest) -> bool:
        if request.path_info.startswith("/api/"):
            return True  # a key's or a session's data, and the errors that say whose
        # Not set for what WhiteNoise answered (static files) before authentication ran.
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)
