"""Reads of the shared kernel, scoped to the user."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.db.models.lookups import GreaterThanOrEqual

from salesops import access, organisation
from salesops.cleaning import person_key
from salesops.exceptions import PermissionDenied
from salesops.models import ApiKey, AuditEvent, Notification, Organisation, Team, User


def api_key_list_for(user: User) -> QuerySet[ApiKey]:
    """A user's own API keys, newest first; nobody lists anyone else's keys."""
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-id")


def notification_list_for(user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first; nobody ever lists anyone else's."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_notification_count(user: User) -> int:
    return notification_list_for(user).filter(read_at__isnull=True).count()


def people_lookup() -> dict[str, int | None]:
    """Every user by the ways a CRM export names a person: email and username (casefolded)
    and full name (cleaning.person_key, "Last, First" too). A key two people share maps to
    None: the import must ask which one is meant."""
    index: dict[str, int | None] = {}
    for pk, username, email, first, last in User.objects.values_list(
        "id", "username", "email", "first_name", "last_name"
    ):
        keys = {username.casefold(), email.casefold(), person_key(f"{first} {last}")} - {""}
        for key in keys:
            index[key] = pk if index.get(key, pk) == pk else None
    return index


def team_list_for(user: User) -> QuerySet[Team]:
    """The teams `user` may filter by: every team for a leader or an admin, the teams a
    manager manages with their sub-teams, none for a rep."""
    if not (user.is_authenticated and user.is_active) or user.is_rep:
        return Team.objects.none()
    if user.sees_everything:
        return Team.objects.order_by("name", "id")
    # The managed teams resolved inside the query: no query of its own before the page's.
    return Team.objects.filter(pk__in=access.managed_team_ids_sql(user)).order_by("name", "id")


# --- people ---------------------------------------------------------------------------


def can_list_people(user: User) -> bool:
    """Leaders and admins list everyone, managers their teams; reps list nobody."""
    return user.is_authenticated and user.is_active and not user.is_rep


def people_list_for(user: User, filters: dict[str, Any] | None = None) -> QuerySet[User]:
    """The people `user` may list — everyone for a leader or an admin; a manager
    themselves and the members of their teams, sub-teams included (access.visible_users_q)
    — with their team, its parent and its manager joined, by username.

    Filters (optional): team (sub-teams included), role, search (in the name, username or
    email). Refuses a rep (PermissionDenied): people are listed by those who lead them."""
    if not can_list_people(user):
        raise PermissionDenied("People are listed by managers, leaders and administrators.")
    qs = (
        User.objects.filter(access.visible_users_q(user))
        .select_related("team", "team__parent", "team__manager")
        .order_by("username", "id")
    )
    f = filters or {}
    if f.get("team"):
        qs = qs.filter(team_id__in=access.team_subtree(int(f["team"])))
    if f.get("role"):
        qs = qs.filter(role=f["role"])
    if f.get("search"):
        term = str(f["search"]).strip()
        qs = qs.filter(
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(username__icontains=term)
            | Q(email__icontains=term)
        )
    return qs


def can_read_audit_trail(user: User) -> bool:
    """The audit trail says what everyone did, by which path: administrators read it."""
    return user.is_authenticated and user.is_active and user.is_admin_role


def audit_event_list_for(user: User) -> QuerySet[AuditEvent]:
    """Every audit event, newest first, with the actor and the API key joined (a page of
    them is one query). Refuses anyone but an administrator (PermissionDenied)."""
    if not can_read_audit_trail(user):
        raise PermissionDenied("The audit trail is read by administrators.")
    return AuditEvent.objects.select_related("actor", "api_key").order_by("-created_at", "-id")


def users_exist() -> bool:
    """Whether anyone has an account yet (an empty install has none: the first-run page)."""
    return User.objects.exists()


def organisation_saved() -> Organisation | None:
    """The saved organisation row with who saved it last; None until an administrator saves
    the settings (they are the environment's until then). For the setup page only: the
    values everyone reads come from salesops.organisation."""
    return Organisation.objects.select_related("updated_by").filter(pk=1).first()


def since_started_q(field: str, owner: str = "owner") -> Q:
    """Rows whose `field` (a timestamp) falls on or after its owner's start date, in the
    organisation's time zone; an owner without a start date counts everything."""
    day = TruncDate(field, tzinfo=organisation.current().tz())
    return Q(**{f"{owner}__started_on__isnull": True}) | Q(
        GreaterThanOrEqual(day, F(f"{owner}__started_on"))
    )
