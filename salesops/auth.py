"""Authentication backend that refuses the demo password outside DEBUG."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

DEMO_PASSWORD = "demo"


class DemoAwareModelBackend(ModelBackend):
    """The seeded demo users share the password "demo". That is fine on a laptop and
    dangerous anywhere else, so the password is refused unless DEMO_PASSWORD_ALLOWED
    (DEBUG) is on — even if someone left the demo users in a production database."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if password == DEMO_PASSWORD and not settings.DEMO_PASSWORD_ALLOWED:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
