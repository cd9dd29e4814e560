"""Authentication backend that refuses the demo password outside DEBUG, and the demo
logins the sign-in page offers while it is allowed (the demo app registers them)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from salesops.models import User

DEMO_PASSWORD = "demo"


class DemoAwareModelBackend(ModelBackend):
    """The seeded demo users share the password "demo". That is fine on a laptop and
    dangerous anywhere else, so the password is refused unless DEMO_PASSWORD_ALLOWED
    (DEBUG) is on — even if someone left the demo users in a production database."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if password == DEMO_PASSWORD and not settings.DEMO_PASSWORD_ALLOWED:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


_DEMO_LOGINS: list[str] = []


def register_demo_logins(usernames: list[str] | tuple[str, ...]) -> None:
    """The demo app's people, in the order the sign-in page lists them."""
    _DEMO_LOGINS[:] = list(usernames)


def demo_logins() -> list[User]:
    """The demo people who exist, to sign in as with one click — only while the demo
    password is accepted (DEBUG); otherwise none. One query."""
    if not (settings.DEMO_PASSWORD_ALLOWED and _DEMO_LOGINS):
        return []
    found = {
        u.username: u
        for u in User.objects.filter(username__in=_DEMO_LOGINS, is_active=True).select_related(
            "team"
        )
    }
    return [found[name] for name in _DEMO_LOGINS if name in found]
