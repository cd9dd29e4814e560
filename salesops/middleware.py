"""Every request runs in the organisation's time zone."""

from __future__ import annotations

from collections.abc import Callable

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
