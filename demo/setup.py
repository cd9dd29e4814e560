"""The demo's link on the Setup page (salesops.setup_links) and its people on the sign-in
page while the demo password is accepted (salesops.auth)."""

from __future__ import annotations

from django.urls import reverse

from demo.company.cast import DEMO_USERNAMES
from demo.services import demo_present
from salesops import auth, setup_links
from salesops.models import User


def remove_link(user: User) -> setup_links.SetupLink | None:
    if not (user.is_admin_role and demo_present()):
        return None
    return setup_links.SetupLink(
        title="Remove the demo company",
        description="Delete the demo's people and everything theirs; keep your own.",
        url=reverse("demo:remove"),
        danger=True,
    )


def register() -> None:
    setup_links.register(remove_link)
    auth.register_demo_logins(DEMO_USERNAMES)
