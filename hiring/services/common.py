"""What every hiring service shares: who runs hiring, finding a row by id, the text limit."""

from __future__ import annotations

from typing import Any

from hiring.rules import runs_hiring
from salesops.cleaning import (
    query_int,
)
from salesops.exceptions import NotFound, PermissionDenied
from salesops.models import User

MAX_TEXT = 10_000


def refuse_unless_recruiter(actor: User, what: str) -> None:
    if not runs_hiring(actor):
        raise PermissionDenied(f"Only a recruiter or an administrator can {what}.")


def by_id(queryset: Any, pk: Any, label: str, *, lock: bool = False) -> Any:
    number = query_int(pk)
    found = None
    if number is not None:
        rows = queryset.select_for_update() if lock else queryset
        found = rows.filter(pk=number).first()
    if found is None:
        raise NotFound(f"No such {label}.")
    return found
