"""Reads for the people import: every person and team as an import compares them with a file.

Selectors in the sense of the architecture (reads only), for callers that already checked
that the user may import people (exchange.services): not scoped to a user, because a
people file is matched against the whole company. The users and teams tables are small (a
company's sales team), so they are read whole, in one query each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX

from salesops.models import Team, User


@dataclass(frozen=True)
class PersonState:
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    role: str
    team_id: int | None
    started_on: dt.date | None
    is_active: bool
    # Whether they can sign in with a password (an invited person has none until they set it).
    has_password: bool
    has_signed_in: bool

    @property
    def is_placeholder(self) -> bool:
        """A stand-in a deal import made for an owner it did not know
        (salesops.people.user_create_placeholder): no email, inactive, never signed in."""
        return not (self.email or self.is_active or self.has_password or self.has_signed_in)


@dataclass(frozen=True)
class TeamState:
    id: int
    name: str
    parent_id: int | None
    manager_id: int | None


def people_states() -> list[PersonState]:
    rows = User.objects.order_by("id").values_list(
        "id", "username", "email", "first_name", "last_name", "role", "team_id", "started_on",
        "is_active", "password", "last_login",
    )  # fmt: skip
    return [
        PersonState(
            *row[:9],
            has_password=bool(row[9]) and not row[9].startswith(UNUSABLE_PASSWORD_PREFIX),
            has_signed_in=row[10] is not None,
        )
        for row in rows
    ]


def team_states() -> list[TeamState]:
    return [
        TeamState(*row)
        for row in Team.objects.order_by("id").values_list("id", "name", "parent_id", "manager_id")
    ]
