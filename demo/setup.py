"""The demo's link on the Setup page (salesops.setup_links)."""

from __future__ import annotations

from django.urls import reverse

from demo.services import demo_present
from salesops import setup_links
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
