"""1:1 sessions: the lists, one session, the previous one and its follow-ups, the people
a 1:1 can be held with, and a rep's latest levels shown on the form."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Count,
    Prefetch,
    Q,
    QuerySet,
)
from django.http import Http404

from coaching.models import (
    ActionItem,
    CoachingSession,
)
from coaching.selectors.skills import LevelRow, latest_levels
from coaching.selectors.visibility import sessions_visible_q
from salesops import access
from salesops.models import Role, User

# --- 1:1 sessions ---
# A rep sees their own 1:1s, a manager those of their teams' people (and those they held),
# a leader everyone's (sessions_visible_q). Each read below is already limited so.

SESSION_RELATED = ("rep", "rep__team", "manager", "focus_skill", "second_focus_skill")


def _id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def sessions_for(user: User, filters: dict[str, Any] | None = None) -> QuerySet[CoachingSession]:
    """The 1:1s `user` may see, latest first, with their people and focus skills joined and
    `open_items` (their action items not done yet) counted. Filters (optional, already
    validated): rep, manager, team (sub-teams included), held_after, held_before
    (inclusive dates)."""
    f = filters or {}
    qs = (
        CoachingSession.objects.filter(sessions_visible_q(user))
        .select_related(*SESSION_RELATED)
        .annotate(open_items=Count("action_items", filter=Q(action_items__done_at__isnull=True)))
        .order_by("-held_on", "-id")
    )
    if f.get("rep"):
        qs = qs.filter(rep_id=f["rep"])
    if f.get("manager"):
        qs = qs.filter(manager_id=f["manager"])
    if f.get("team"):
        qs = qs.filter(rep__team_id__in=access.team_subtree(int(f["team"])))
    if f.get("held_after"):
        qs = qs.filter(held_on__gte=f["held_after"])
    if f.get("held_before"):
        qs = qs.filter(held_on__lte=f["held_before"])
    return qs


def session_get_for(user: User, pk: Any) -> CoachingSession:
    """One 1:1 with its action items (and their owners) loaded; 404 outside `user`'s
    scope."""
    pk = _id(pk)
    session = (
        sessions_for(user)
        .prefetch_related(
            Prefetch(
                "action_items",
                queryset=ActionItem.objects.select_related(
                    "owner", "session__rep", "session__manager"
                ).order_by("due_on", "id"),
            )
        )
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if session is None:
        raise Http404("No such 1:1.")
    return session


def previous_session(
    user: User, rep: User | int, *, before: CoachingSession | None = None
) -> CoachingSession | None:
    """The rep's latest 1:1 that `user` may see — held before `before` (same day: the one
    recorded earlier) when given — or None."""
    rep_id = rep if isinstance(rep, int) else rep.pk
    qs = sessions_for(user).filter(rep_id=rep_id)
    if before is not None:
        qs = qs.filter(Q(held_on__lt=before.held_on) | Q(held_on=before.held_on, id__lt=before.pk))
    return qs.first()


def follow_ups(
    user: User, rep: User | int, *, before: CoachingSession | None = None
) -> tuple[CoachingSession | None, list[ActionItem]]:
    """What the next 1:1 opens with: the previous 1:1 (see `previous_session`) and its
    action items that are still open, soonest due first. Two queries."""
    previous = previous_session(user, rep, before=before)
    if previous is None:
        return None, []
    items = list(
        ActionItem.objects.filter(session=previous, done_at__isnull=True)
        .select_related("owner", "session__rep", "session__manager")
        .order_by("due_on", "id")
    )
    return previous, items


def one_on_one_people_for(user: User) -> QuerySet[User]:
    """Whom `user` may hold a 1:1 with: the active reps of the teams they manage (sub-teams
    included), every active rep for a leader/admin, nobody for a rep. Fills the form's
    rep picker; coaching.services.session_create decides."""
    if not (user.is_authenticated and (user.is_manager or user.sees_everything)):
        return User.objects.none()
    qs = User.objects.filter(is_active=True, role=Role.REP).exclude(pk=user.pk)
    if not user.sees_everything:
        qs = qs.filter(team_id__in=access.managed_team_ids_sql(user))
    return qs.select_related("team").order_by("first_name", "last_name", "username")


def session_reps_for(user: User) -> QuerySet[User]:
    """The people whose 1:1s `user` sees (the list page's rep filter): for a rep only
    themselves."""
    if not (user.is_authenticated and user.is_active):
        return User.objects.none()
    return User.objects.filter(
        pk__in=CoachingSession.objects.filter(sessions_visible_q(user)).values("rep_id")
    ).order_by("first_name", "last_name", "username")


def rep_latest_levels(rep: User) -> dict[int, LevelRow]:
    """Skill id → the rep's latest level on it (with previous level, trend and date), for
    the active skills: one query. The caller has checked `rep` is in scope."""
    return {row["skill_id"]: row for row in latest_levels(User.objects.filter(pk=rep.pk))}
