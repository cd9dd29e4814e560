"""What every page's navbar shows: open flags in the user's scope, unread notifications and
proposals waiting for the user's review; and whether the user sets up the sales process
(the Setup link)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from django.http import HttpRequest

from pipeline import selectors
from salesops import access

if TYPE_CHECKING:
    from pipeline.selectors.attention import NavbarCounts


class NavCounts:
    """Lazy: a page (or an htmx partial) that never shows the counts costs no query; one
    that shows both costs one (`selectors.navbar_counts_for`)."""

    def __init__(self, user) -> None:
        self._user = user

    @cached_property
    def _counts(self) -> NavbarCounts:
        return selectors.navbar_counts_for(self._user)

    @property
    def flags(self) -> int:
        return self._counts["flags"]

    @property
    def unread(self) -> int:
        return self._counts["unread"]

    @property
    def reviews(self) -> int:
        return self._counts["reviews"]


def navbar(request: HttpRequest) -> dict[str, NavCounts | bool]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_counts": NavCounts(user),
        "configures_sales_process": access.configures_sales_process(user),
    }
