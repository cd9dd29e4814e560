"""What several of coaching's services share: the bound of long texts (skill descriptors,
review findings and coaching points) and `coached_person`, the rep an actor may assess or
hold a 1:1 with.
"""

from __future__ import annotations

from typing import Any

from salesops import access
from salesops.exceptions import NotFound, PermissionDenied
from salesops.models import User

MAX_TEXT = 10_000


def coached_person(actor: User, person_id: Any, *, yourself: str, lock: bool = False) -> User:
    """The active person `person_id` whom `actor` coaches: a member of the teams they
    manage (sub-teams included), anyone for a leader. Someone else is a NotFound, as if
    they did not exist; `actor` themselves a PermissionDenied saying `yourself`. `lock`
    locks the row (one 1:1 at a time per rep)."""
    try:
        pk = int(person_id)
    except (TypeError, ValueError):
        raise NotFound("No such person in your teams.") from None
    people = User.objects.filter(access.visible_users_q(actor), pk=pk, is_active=True)
    person = (people.select_for_update() if lock else people).first()
    if person is None:
        raise NotFound("No such person in your teams.")
    if person.pk == actor.pk:
        raise PermissionDenied(yourself)
    if not access.manages(actor, person):
        raise NotFound("No such person in your teams.")
    return person
