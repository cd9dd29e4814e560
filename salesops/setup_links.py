"""Links on the Setup page that higher apps contribute (the architecture's provider
registry: salesops cannot import them). A provider gets the user and returns a link to
show, or None."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from salesops.models import User


@dataclass(frozen=True)
class SetupLink:
    title: str
    description: str
    url: str
    danger: bool = False


Provider = Callable[[User], "SetupLink | None"]
_providers: list[Provider] = []


def register(provider: Provider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def links_for(user: User) -> list[SetupLink]:
    return [link for provider in _providers if (link := provider(user)) is not None]
