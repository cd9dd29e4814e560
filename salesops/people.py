"""Services for people that an import brings in: placeholder users for owners a CRM export
names, and (exchange's people import) users with their teams, their invitations to set a
password, and the undo of such an import.

Writes, like salesops/services.py, kept in their own module by entity.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from salesops import organisation
from salesops.cleaning import name_key
from salesops.exceptions import PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, Notification, Role, Team, User
from salesops.services import audit_record

logger = logging.getLogger(__name__)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", ".", ascii_text.lower()).strip(".")[:120] or "user"


def unique_username(wanted: str) -> str:
    """`wanted`, or `wanted.2`, `wanted.3`… — the first that nobody has."""
    base = wanted[:140]
    taken = set(User.objects.filter(username__istartswith=base).values_list("username", flat=True))
    taken = {name.casefold() for name in taken}
    if base.casefold() not in taken:
        return base
    number = 2
    while f"{base}.{number}".casefold() in taken:
        number += 1
    return f"{base}.{number}"


@transaction.atomic
def user_create_placeholder(*, actor: User, display: str) -> User:
    """An inactive sales rep for a person an import names ("Ana Souza" or
    "ana@acme.com") whom nobody here matches: their deals can be imported and handed over
    later; they cannot sign in until an admin activates and invites them. Refuses actors
    who are neither admins nor sales leaders."""
    if not actor.sees_everything:
        raise PermissionDenied("Only administrators and sales leaders can add people.")
    display = " ".join(display.split())[:150]
    if _EMAIL.match(display):
        email, username, first, last = display, display.split("@")[0], "", ""
    else:
        email = ""
        parts = display.replace(",", " ").split()
        if "," in display and len(parts) >= 2:  # "Souza, Ana"
            first, last = " ".join(parts[1:]), parts[0]
        else:
            first, last = (parts[0] if parts else ""), " ".join(parts[1:])
        username = display
    user = User(
        username=unique_username(_slug(username)),
        email=email,
        first_name=first[:150],
        last_name=last[:150],
        role=Role.REP,
        is_active=False,
    )
    user.set_unusable_password()
    user.save()
    audit_record(actor=actor, action="user.created_by_import", target=user)
    return user


# --- the people import ------------------------------------------------------------------
# exchange.people_import reads a people file and decides what every person and team becomes;
# `people_import_upsert` stores that in one transaction, checking once more what it owns.


@dataclass(frozen=True)
class ImportedTeam:
    """A team as an import leaves it. `parent` and `manager` name a team and a person of the
    same call or already here (by name, by username); None: a top-level team, no manager."""

    name: str
    parent: str | None = None
    manager: str | None = None
    id: int | None = None  # the team here; None: create it


@dataclass(frozen=True)
class ImportedPerson:
    """A person as an import leaves them; `team` names a team of the call or here."""

    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    team: str | None
    started_on: dt.date | None
    is_active: bool
    id: int | None = None  # the user here; None: create them


@dataclass
class PeopleImported:
    created_user_ids: list[int] = field(default_factory=list)
    updated_user_ids: list[int] = field(default_factory=list)
    created_team_ids: list[int] = field(default_factory=list)
    updated_team_ids: list[int] = field(default_factory=list)
    invited: int = 0


PERSON_FIELDS = ("username", "email", "first_name", "last_name", "role", "team",
                 "started_on", "is_active")  # fmt: skip
_USERNAME = UnicodeUsernameValidator()


def people_import_lock() -> None:
    """Wait for any other people import to finish, then hold them off until this
    transaction ends: an import reads the people and teams here, decides, then writes —
    two at once (from two sources) would both create the same new person."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('salesops:people_import'))")


def invitation_due(
    *, created: bool, was_active: bool, is_active: bool, email: str, has_password: bool
) -> bool:
    """Whom an import invites to set a password: a person it creates active, or one it
    activates who has no password yet (a placeholder owner taken over) — with an email."""
    return bool(email) and is_active and not has_password and (created or not was_active)


def _refuse_unless_admin(actor: User) -> None:
    if not actor.is_admin_role:
        raise PermissionDenied("Only administrators can import people.", code="import_not_allowed")


def _check_people(
    actor: User,
    people: Sequence[ImportedPerson],
    users: dict[int, User],
    usernames: dict[str, int],
    team_known: set[str],
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for index, person in enumerate(people):
        problems = []
        try:
            _USERNAME(person.username)
            if not 0 < len(person.username) <= 150:
                raise DjangoValidationError("A username of 1-150 characters.")
        except DjangoValidationError as exc:
            problems += exc.messages
        key = person.username.casefold()
        holder = usernames.get(key)
        if (holder is not None and holder != person.id) or key in seen:
            problems.append(f"The username '{person.username}' is taken.")
        seen.setdefault(key, index)
        if person.email:
            try:
                validate_email(person.email)
            except DjangoValidationError:
                problems.append(f"'{person.email}' is not an email address.")
        if not (person.first_name or person.last_name):
            problems.append("A name.")
        if len(person.first_name) > 150 or len(person.last_name) > 150:
            problems.append("Names of at most 150 characters.")
        if person.role not in Role.values:
            problems.append(f"'{person.role}' is not a role.")
        if person.team is not None and name_key(person.team) not in team_known:
            problems.append(f"No team '{person.team}'.")
        if person.id is not None:
            user = users.get(person.id)
            if user is None:
                problems.append("This person is no longer here.")
            elif user.pk == actor.pk and (person.role != user.role or not person.is_active):
                problems.append("An import does not change your own role or deactivate you.")
        if problems:
            errors[f"people[{index}] ({person.username})"] = problems
    return errors


def _check_teams(
    teams: Sequence[ImportedTeam],
    existing: dict[str, Team],
    people_usernames: set[str],
    usernames_here: set[str],
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    parents = {key: name_key(t.parent.name) if t.parent else None for key, t in existing.items()}
    known = set(existing)
    for team in teams:
        known.add(name_key(team.name))
    seen: set[str] = set()
    for index, team in enumerate(teams):
        problems = []
        key = name_key(team.name)
        if not 0 < len(team.name) <= 120:
            problems.append("A team name of 1-120 characters.")
        if key in seen:
            problems.append(f"'{team.name}' is given twice.")
        seen.add(key)
        here = existing.get(key)
        if team.id is None and here is not None:
            problems.append(f"A team named '{here.name}' exists already.")
        if team.id is not None and (here is None or here.pk != team.id):
            problems.append("This team is no longer here under this name.")
        if team.parent is not None and name_key(team.parent) not in known:
            problems.append(f"No team '{team.parent}' to put it under.")
        if team.manager is not None and not (
            team.manager in people_usernames or team.manager in usernames_here
        ):
            problems.append(f"No one with the username '{team.manager}'.")
        if problems:
            errors[f"teams[{index}] ({team.name})"] = problems
        parents[key] = name_key(team.parent) if team.parent else None
    for index, team in enumerate(teams):
        key, walked = name_key(team.name), set()
        current = parents.get(key)
        while current is not None and current not in walked:
            if current == key:
                errors.setdefault(f"teams[{index}] ({team.name})", []).append(
                    "It would be inside itself."
                )
                break
            walked.add(current)
            current = parents.get(current)
    return errors


@transaction.atomic
def people_import_upsert(
    *,
    actor: User,
    teams: Sequence[ImportedTeam],
    people: Sequence[ImportedPerson],
    invite: bool,
    note: str = "",
) -> PeopleImported:
    """Store the teams and people an import decided on, in one transaction: teams created,
    given their parents, users created (no password: they set one through the invitation)
    or updated, teams given their managers; every change audited. With `invite`, each
    person created active with an email — or activated while they have no password — gets
    an invitation to set their password, sent once the transaction commits.

    Refuses (PermissionDenied) anyone but an administrator; and (ValidationFailed, by row,
    nothing stored) a username Django does not accept or that is taken, a malformed email,
    a missing name, an unknown role, a team, parent or manager that is neither in the call
    nor here, a new team whose name is taken, a parent that puts a team inside itself, a
    person no longer here, and a change of the actor's own role or activity."""
    _refuse_unless_admin(actor)
    people_import_lock()
    # Teams are matched by name: no team is created or renamed elsewhere meanwhile.
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {Team._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    # In id order, as the import read them (lookups.team_states): of two teams whose names
    # differ only in case, both take the newer one.
    existing = {name_key(t.name): t for t in Team.objects.select_related("parent").order_by("id")}
    users = {
        u.pk: u
        for u in User.objects.select_for_update().filter(
            pk__in=[p.id for p in people if p.id is not None]
        )
    }
    here = dict(User.objects.values_list("username", "id"))
    usernames = {name.casefold(): pk for name, pk in here.items()}
    team_known = set(existing) | {name_key(t.name) for t in teams}
    errors = _check_people(actor, people, users, usernames, team_known)
    errors |= _check_teams(teams, existing, {p.username for p in people}, set(here))
    if errors:
        raise ValidationFailed("Some people or teams cannot be stored as given.", details=errors)

    result = PeopleImported()
    events: list[AuditEvent] = []
    by_key = dict(existing)
    new_teams = Team.objects.bulk_create(
        [Team(name=t.name) for t in teams if t.id is None], batch_size=1000
    )
    for team in new_teams:
        by_key[name_key(team.name)] = team
        result.created_team_ids.append(team.pk)
    changed_teams: dict[int, list[str]] = {}
    for t in teams:
        team = by_key[name_key(t.name)]
        parent = by_key[name_key(t.parent)] if t.parent else None
        if team.parent_id != (parent.pk if parent else None):
            team.parent = parent
            team.save(update_fields=["parent"])
            changed_teams.setdefault(team.pk, []).append("parent")

    created, updated = _store_people(people, users, by_key)
    by_username = {u.username: u for u in [*created, *(u for u, _ in updated)]}
    for t in teams:
        team = by_key[name_key(t.name)]
        manager = None
        if t.manager is not None:
            manager = by_username.get(t.manager) or User.objects.get(username=t.manager)
        if team.manager_id != (manager.pk if manager else None):
            team.manager = manager
            team.save(update_fields=["manager"])
            changed_teams.setdefault(team.pk, []).append("manager")

    created_ids = set(result.created_team_ids)
    for team in by_key.values():
        if team.pk in created_ids:
            events.append(_event(actor, "team.created_by_import", team, {"note": note}))
        elif team.pk in changed_teams:
            result.updated_team_ids.append(team.pk)
            events.append(_event(actor, "team.updated_by_import", team,
                                 {"fields": changed_teams[team.pk], "note": note}))  # fmt: skip
    invitees: list[int] = []
    for user in created:
        result.created_user_ids.append(user.pk)
        events.append(_event(actor, "user.created_by_import", user,
                             {"role": user.role, "note": note}))  # fmt: skip
        if invitation_due(created=True, was_active=False, is_active=user.is_active,
                          email=user.email, has_password=False):  # fmt: skip
            invitees.append(user.pk)
    for user, (fields, was_active) in updated:
        result.updated_user_ids.append(user.pk)
        events.append(_event(actor, "user.updated_by_import", user,
                             {"fields": fields, "note": note}))  # fmt: skip
        if invitation_due(created=False, was_active=was_active, is_active=user.is_active,
                          email=user.email, has_password=user.has_usable_password()):  # fmt: skip
            invitees.append(user.pk)
    AuditEvent.objects.bulk_create(events, batch_size=1000)
    audit_record(
        actor=actor,
        action="people.imported",
        data={
            "note": note,
            "people_created": len(created),
            "people_updated": len(updated),
            "teams_created": len(result.created_team_ids),
            "teams_updated": len(result.updated_team_ids),
            "invited": len(invitees) if invite else 0,
        },
    )
    if invite and invitees:
        _invite_on_commit(invitees, actor)
        result.invited = len(invitees)
    return result


def _event(actor: User, action: str, target: User | Team, data: dict) -> AuditEvent:
    return AuditEvent(
        actor=actor,
        action=action,
        target_type=target._meta.label_lower,
        target_id=target.pk,
        data=data,
    )


def _store_people(
    people: Sequence[ImportedPerson], users: dict[int, User], teams: dict[str, Team]
) -> tuple[list[User], list[tuple[User, tuple[list[str], bool]]]]:
    """Create the new people (in bulk) and save the changed fields of the others."""
    new_users = []
    for person in people:
        if person.id is not None:
            continue
        user = User(
            username=person.username,
            email=person.email,
            first_name=person.first_name,
            last_name=person.last_name,
            role=person.role,
            team=teams[name_key(person.team)] if person.team else None,
            started_on=person.started_on,
            is_active=person.is_active,
            date_joined=timezone.now(),
        )
        user.set_unusable_password()
        new_users.append(user)
    created = User.objects.bulk_create(new_users, batch_size=1000)
    updated: list[tuple[User, tuple[list[str], bool]]] = []
    for person in people:
        if person.id is None:
            continue
        user = users[person.id]
        was_active = user.is_active
        values = {
            "username": person.username,
            "email": person.email,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "role": person.role,
            "team": teams[name_key(person.team)] if person.team else None,
            "started_on": person.started_on,
            "is_active": person.is_active,
        }
        fields = [name for name, value in values.items() if getattr(user, name) != value]
        if not fields:
            continue
        for name in fields:
            setattr(user, name, values[name])
        user.save(update_fields=fields)
        updated.append((user, (fields, was_active)))
    return created, updated


def user_create_invited(
    *,
    actor: User,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    team: Team | None,
    started_on: dt.date | None,
) -> User:
    """A new person who signs in after setting their password through the invitation sent
    once the caller's transaction commits (no password is ever emailed). For services
    that add people (a hire); the caller checks who may. Refuses (ValidationFailed) an
    invalid email, one an active person has, or an unknown role."""
    errors: dict[str, list[str]] = {}
    email = (email or "").strip()
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = ["An email address is needed to send the invitation."]
    else:
        if User.objects.filter(email__iexact=email, is_active=True).exists():
            errors["email"] = ["Someone here already has this email address."]
    if role not in Role.values:
        errors["role"] = [f"Choose one of: {', '.join(Role.values)}."]
    if errors:
        raise ValidationFailed(details=errors)
    user = User(
        username=unique_username(_slug(email.split("@")[0])),
        first_name=first_name[:150],
        last_name=last_name[:150],
        email=email,
        role=role,
        team=team,
        started_on=started_on,
    )
    user.set_unusable_password()
    user.save()
    audit_record(actor=actor, action="user.created", target=user, data={"invited": True})
    _invite_on_commit([user.pk], actor)
    return user


# --- invitations ------------------------------------------------------------------------


def invitation_link(user: User) -> str:
    """The address where `user` sets their password: Django's password reset confirmation
    with a one-time token (default_token_generator; it stops working once the password is
    set, or after PASSWORD_RESET_TIMEOUT)."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{settings.SITE_URL}{path}"


def _invitation(user: User, inviter: User | None) -> EmailMessage:
    context = {
        "user": user,
        "inviter": inviter,
        "organisation": organisation.current().name,
        "link": invitation_link(user),
        "site_url": settings.SITE_URL,
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    subject = " ".join(render_to_string("registration/invitation_subject.txt", context).split())
    body = render_to_string("registration/invitation_email.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def invitations_send(*, user_ids: Sequence[int], inviter_id: int | None) -> int:
    """Email each of the users (active, with an email) a link to set their password;
    returns how many were sent. A failed transport is logged, not raised: the people are
    stored, and an administrator can invite them again (`people_invite`)."""
    users = list(User.objects.filter(pk__in=list(user_ids), is_active=True).exclude(email=""))
    inviter = User.objects.filter(pk=inviter_id).first() if inviter_id else None
    if not users:
        return 0
    try:
        with get_connection() as mail:
            return mail.send_messages([_invitation(user, inviter) for user in users]) or 0
    except Exception:
        logger.exception("Invitations to %d people not sent", len(users))
        return 0


def _invite_on_commit(user_ids: list[int], actor: User) -> None:
    ids, inviter = list(user_ids), actor.pk
    # After the commit: a rolled-back import sends nothing, and the link's token is made
    # from the stored user.
    transaction.on_commit(lambda: invitations_send(user_ids=ids, inviter_id=inviter))


@transaction.atomic
def people_invite(*, actor: User, user_ids: Sequence[int]) -> int:
    """Send (again) an invitation to set a password to each of these people, once the
    transaction commits; returns how many will be sent. Refuses (PermissionDenied) anyone
    but an administrator, and (ValidationFailed, nothing sent) someone unknown, inactive,
    without an email address, or who has a password already."""
    _refuse_unless_admin(actor)
    users = {u.pk: u for u in User.objects.filter(pk__in=list(user_ids))}
    errors: dict[str, list[str]] = {}
    for pk in user_ids:
        user = users.get(pk)
        if user is None:
            errors[str(pk)] = ["No such person."]
        elif not user.is_active:
            errors[str(pk)] = [f"{user} is deactivated."]
        elif not user.email:
            errors[str(pk)] = [f"{user} has no email address."]
        elif user.has_usable_password():
            errors[str(pk)] = [f"{user} has a password already."]
    if errors:
        raise ValidationFailed(details=errors)
    for user in users.values():
        audit_record(actor=actor, action="user.invited", target=user)
    _invite_on_commit(list(users), actor)
    return len(users)


# --- undo -------------------------------------------------------------------------------


def _would_also_delete(
    objects: Sequence[User] | Sequence[Team], own: tuple[type, ...]
) -> list[str]:
    """What deleting `objects` would take with it besides `own` models (cascades), in words;
    raises ValidationFailed when something protects them."""
    collector = Collector(using="default")
    try:
        collector.collect(list(objects))
    except (ProtectedError, RestrictedError) as exc:
        kinds = (
            sorted({str(o._meta.verbose_name_plural) for o in exc.protected_objects})
            if isinstance(exc, ProtectedError)
            else sorted({str(o._meta.verbose_name_plural) for o in exc.restricted_objects})
        )
        raise ValidationFailed(
            "The import cannot be undone: what it created is used since.",
            details={"records": [f"In use by {', '.join(map(str, kinds))}."]},
        ) from exc
    found = [
        f"{len(objs)} {model._meta.verbose_name_plural}"
        for model, objs in collector.data.items()
        if model not in own and objs
    ]
    found += [
        f"{qs.model._meta.verbose_name_plural}"
        for qs in collector.fast_deletes
        if qs.model not in own and qs.exists()
    ]
    return found


@transaction.atomic
def people_import_undo(
    *, actor: User, user_ids: Sequence[int], team_ids: Sequence[int]
) -> dict[str, int]:
    """Undo of a people import that only created records: delete the people and teams it
    created. Refuses (PermissionDenied) anyone but an administrator; and (ValidationFailed,
    nothing deleted) when any of those people signed in since or has records of their own
    (deals, 1:1s, API keys…), or any of those teams has people or sub-teams the import did
    not create, or records of its own (quotas…)."""
    _refuse_unless_admin(actor)
    users = list(User.objects.select_for_update().filter(pk__in=list(user_ids)))
    teams = list(Team.objects.select_for_update().filter(pk__in=list(team_ids)))
    problems: list[str] = []
    signed_in = [str(u) for u in users if u.last_login is not None]
    if signed_in:
        problems.append(f"Signed in since: {', '.join(signed_in[:10])}.")
    outsiders = User.objects.filter(team__in=teams).exclude(pk__in=list(user_ids)).count()
    if outsiders:
        problems.append(f"{outsiders} other people are in the teams it created.")
    if Team.objects.filter(parent__in=teams).exclude(pk__in=list(team_ids)).exists():
        problems.append("Other teams are under the teams it created.")
    if problems:
        raise ValidationFailed(
            "The import cannot be undone: what it created changed since.",
            details={"records": problems},
        )
    from_users = _would_also_delete(users, (User,))
    # The teams go after their people: their parents and managers are among them.
    Team.objects.filter(pk__in=[t.pk for t in teams]).update(parent=None, manager=None)
    from_teams = _would_also_delete(teams, (Team,))
    if from_users or from_teams:
        raise ValidationFailed(
            "The import cannot be undone: what it created has records of its own since.",
            details={"records": [f"It would also delete {', '.join(from_users + from_teams)}."]},
        )
    deleted_users = User.objects.filter(pk__in=[u.pk for u in users]).delete()[1]
    deleted_teams = Team.objects.filter(pk__in=[t.pk for t in teams]).delete()[1]
    counts = {
        "people": deleted_users.get(User._meta.label, 0),
        "teams": deleted_teams.get(Team._meta.label, 0),
    }
    audit_record(actor=actor, action="people.import_undone", data=counts)
    return counts


@transaction.atomic
def placeholders_delete(*, actor: User, user_ids: Sequence[int]) -> dict[str, int]:
    """Delete the inactive reps a deal import created for owners nobody matched
    (`user_create_placeholder`), when that import is undone: only those still inactive,
    never signed in and without records of their own (their deals went with the import).
    Refuses actors who are neither admins nor sales leaders; one that has records since is
    kept (ValidationFailed: nothing is deleted)."""
    if not actor.sees_everything:
        raise PermissionDenied("Only administrators and sales leaders can remove people.")
    users = list(
        User.objects.select_for_update().filter(
            pk__in=list(user_ids), is_active=False, last_login__isnull=True
        )
    )
    # Their notifications (flags of their imported deals) go with them; anything else stays.
    if also := _would_also_delete(users, (User, Notification)):
        raise ValidationFailed(
            "The import cannot be undone: the owners it created have records since.",
            details={"records": [f"It would also delete {', '.join(also)}."]},
        )
    deleted = User.objects.filter(pk__in=[u.pk for u in users]).delete()[1]
    count = deleted.get(User._meta.label, 0)
    audit_record(actor=actor, action="people.placeholders_deleted", data={"people": count})
    return {"people": count}
