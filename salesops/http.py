"""The request a signed-in page sees, typed: the middleware has put a signed-in `User` on
it (`@login_required` turns everyone else away before the view runs) and django-htmx
its `htmx` details. Views annotate `request: AuthenticatedRequest` so the checker knows
`request.user` is a User, not `User | AnonymousUser`; nothing changes at run time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from salesops.models import User


class AuthenticatedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails
