"""Who sees which opportunity reviews, 1:1s and action items: a rep their own, a manager
those of the people of their teams (sub-teams included) and those they held, a leader
everyone's; and the action-item reads built on it."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Q,
    QuerySet,
)
from django.http import Http404

from coaching.models import (
    ActionItem,
)
from salesops import access
from salesops.models import User

# --- reviews, 1:1s and action items: who sees what ----------------------------------------
# A rep sees the reviews and 1:1s they are coached in; a manager those of their teams'
# people (sub-teams included) and those they held themselves; a leader everyone's.
# (Careful: Q() | Q(x) is Q(x) in Django, so "everyone" is handled before combining.)


def _coached_q(user: User, *, prefix: str = "") -> Q:
    """Reviews or sessions (under `prefix`, e.g. "review__") that `user` may see."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.sees_everything:
        return Q()
    return access.owner_scope_sql_q(user, field=f"{prefix}rep") | Q(**{f"{prefix}manager": user})


def reviews_visible_q(user: User) -> Q:
    return _coached_q(user)


def sessions_visible_q(user: User) -> Q:
    return _coached_q(user)


def action_items_for(user: User) -> QuerySet[ActionItem]:
    """Action items of the reviews and 1:1s `user` may see, and their own; soonest due
    first."""
    qs = ActionItem.objects.select_related(
        "owner", "review__rep", "review__manager", "session__rep", "session__manager"
    ).order_by("due_on", "id")
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    if user.sees_everything:
        return qs
    return qs.filter(
        Q(owner=user)
        | (Q(review__isnull=False) & _coached_q(user, prefix="review__"))
        | (Q(session__isnull=False) & _coached_q(user, prefix="session__"))
    )


def action_item_get_for(user: User, pk: Any) -> ActionItem:
    """One action item (its review or 1:1 and their people loaded); 404 outside `user`'s
    scope."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404("No such action item.") from exc
    item = action_items_for(user).filter(pk=pk).first()
    if item is None:
        raise Http404("No such action item.")
    return item


def open_action_items_set_by(user: User) -> QuerySet[ActionItem]:
    """Open action items `user` set (a manager's follow-ups), soonest due first."""
    return action_items_for(user).filter(created_by=user, done_at__isnull=True)


def my_open_action_items(user: User) -> QuerySet[ActionItem]:
    """Open action items `user` owns, soonest due first."""
    return action_items_for(user).filter(owner=user, done_at__isnull=True)
