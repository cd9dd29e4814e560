"""1:1 coaching sessions: recorded by the manager who held one (or a leader/admin) once
held, on one or two focus skills, with notes, a practice assignment and action items.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.urls import reverse

from coaching.models import ActionItem, CoachingSession, Skill
from coaching.services.action_items import action_item_add, clean_action_item
from coaching.services.common import coached_person
from salesops import organisation
from salesops.cleaning import clean_date, clean_text, refuse_unknown_fields
from salesops.exceptions import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from salesops.models import User
from salesops.services import audit_record, notification_send

# A 1:1 is recorded by the manager who held it (or a leader/admin) once it was held; the
# rep reads it. Its action items are added through action_item_add, like a review's.

MAX_SESSION_NOTES = 20_000
MAX_PRACTICE = 5_000
# Recorded when held: a late write-up is fine, a year back catches a typo (2016 for 2026).
MAX_SESSION_AGE_DAYS = 365
# More than this is a plan, not a 1:1's next steps (the form offers 3 rows).
MAX_SESSION_ACTION_ITEMS = 10
SESSION_ITEM_FIELDS = frozenset({"title", "due_on", "owner"})
SESSION_CHANGE_FIELDS = frozenset(
    {"notes", "practice_assignment", "focus_skill_id", "second_focus_skill_id"}
)


def can_hold_one_on_ones(actor: User) -> bool:
    """Managers, leaders and admins record 1:1s; reps do not. (With whom: `manages`.)"""
    return actor.is_authenticated and (actor.is_manager or actor.sees_everything)


def can_change_session(actor: User, session: CoachingSession) -> bool:
    """The manager who held the 1:1, or a leader/admin: another manager of the team did
    not have the conversation, and the rep reads it."""
    return actor.is_authenticated and (actor.sees_everything or actor.pk == session.manager_id)


def session_version(session: CoachingSession) -> int:
    """The 1:1's row version for ETag/If-Match: its last change, in microseconds."""
    return int(session.updated_at.timestamp() * 1_000_000)


def _pk_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _session_rep(actor: User, rep_id: Any) -> User:
    """The rep of a new 1:1, locked so the same 1:1 cannot be recorded twice at once."""
    rep = coached_person(
        actor,
        rep_id,
        yourself="You cannot hold a 1:1 with yourself: your manager holds yours.",
        lock=True,
    )
    if not rep.is_rep:
        raise ValidationFailed(
            details={"rep": [f"1:1 coaching sessions are held with sales reps; {rep} is not one."]}
        )
    return rep


def _clean_held_on(errors: dict[str, Any], held_on: Any) -> dt.date | None:
    today = organisation.current().today()
    if held_on in (None, ""):
        return today
    on = clean_date(errors, "held_on", held_on, required=True)
    if on is None:
        return None
    earliest = today - dt.timedelta(days=MAX_SESSION_AGE_DAYS)
    if on > today:
        errors.setdefault("held_on", []).append(
            "A 1:1 is recorded once it was held: the date cannot be in the future."
        )
    elif on < earliest:
        errors.setdefault("held_on", []).append(
            f"Choose a date within the last year ({earliest:%d %b %Y} or later)."
        )
    return on


def _clean_focus_skills(
    errors: dict[str, Any], first_id: Any, second_id: Any, *, keep: frozenset[int] = frozenset()
) -> tuple[Skill | None, Skill | None]:
    """One or two different active skills of the framework (one query). A skill in `keep`
    (the 1:1's current one) stays valid after it was deactivated."""
    first_pk = _pk_or_none(first_id)
    second_pk = None if second_id in (None, "") else _pk_or_none(second_id)
    found = {
        s.pk: s
        for s in Skill.objects.filter(pk__in=[p for p in (first_pk, second_pk) if p is not None])
        if s.is_active or s.pk in keep
    }
    first = found.get(first_pk) if first_pk is not None else None
    if first is None:
        errors.setdefault("focus_skill", []).append("Choose a skill of the skills framework.")
    second = None
    if second_id not in (None, ""):
        second = found.get(second_pk) if second_pk is not None else None
        if second is None:
            errors.setdefault("second_focus_skill", []).append(
                "Choose a skill of the skills framework (or none)."
            )
        elif first is not None and second.pk == first.pk:
            errors.setdefault("second_focus_skill", []).append(
                "Choose a different second focus skill (or none): this is the first one."
            )
            second = None
    return first, second


def _clean_session_items(
    errors: dict[str, Any], items: Any, *, rep: User, manager: User
) -> list[dict[str, Any]]:
    """Check every action item of a new 1:1 before anything is saved, with action_item_add's
    rules, so a bad third item leaves no 1:1 behind. Errors go to errors["action_items"]:
    one dict per item, in order ({} for a good one)."""
    if items in (None, ""):
        return []
    if not isinstance(items, list | tuple):
        errors["action_items"] = ["Give a list of action items ({title, due_on, owner})."]
        return []
    if len(items) > MAX_SESSION_ACTION_ITEMS:
        errors["action_items"] = [
            f"Give at most {MAX_SESSION_ACTION_ITEMS} action items; add more on the 1:1's page."
        ]
        return []
    cleaned: list[dict[str, Any]] = []
    per_item: list[dict[str, list[str]]] = []
    for item in items:
        item_errors: dict[str, list[str]] = {}
        if not isinstance(item, Mapping):
            per_item.append({"title": ["Give an action item as {title, due_on, owner}."]})
            continue
        for unknown in sorted(set(item) - SESSION_ITEM_FIELDS, key=str):
            item_errors[str(unknown)] = ["Unknown field. Writable fields: due_on, owner, title."]
        title, due, _ = clean_action_item(
            item_errors,
            title=item.get("title"),
            due_on=item.get("due_on"),
            owner_id=item.get("owner"),
            people=(rep, manager),
        )
        per_item.append(item_errors)
        cleaned.append({"title": title, "due_on": due, "owner_id": item.get("owner")})
    if any(per_item):
        errors["action_items"] = per_item
    return cleaned


def _cadence_refresh_on_commit(rep_id: int) -> None:
    """A 1:1 restarts the rep's cadence clock: clear the manager's "1:1 overdue" flag
    once the 1:1 is committed, not at the next scheduled refresh. After the commit, so
    the refresh's global lock is not held through the 1:1's own transaction; robust, so
    a failing refresh (the scheduled one retries) never turns a saved 1:1 into an error."""
    from coaching.cadence import cadence_refresh

    transaction.on_commit(lambda: cadence_refresh(rep_ids=[rep_id]), robust=True)


@transaction.atomic
def session_create(
    *,
    actor: User,
    rep_id: Any,
    held_on: dt.date | str | None = None,
    focus_skill_id: Any,
    second_focus_skill_id: Any = None,
    notes: Any = "",
    practice_assignment: Any = "",
    action_items: Any = None,
) -> CoachingSession:
    """Record a 1:1 `actor` held with a rep on `held_on` (default: today) on one or two
    focus skills, with notes, a practice assignment and (optionally) action items
    ({title, due_on, owner: the rep (default) or the manager}). The rep is notified (and
    each action item's owner), and the rep's "1:1 overdue" flag clears.

    Refuses: a rep (PermissionDenied: 1:1s are recorded by managers); a person outside the
    actor's teams or inactive (NotFound); oneself (PermissionDenied); someone who is not a
    rep; a focus skill that is not an active skill of the framework, or the same one twice;
    a date in the future or more than a year back; too long notes or practice assignment;
    a 1:1 with the same rep on the same day by the same manager (Conflict: a double
    submit); more than 10 action items, or any bad one (errors per item in
    details["action_items"]). All fields are checked together; nothing is saved when
    refused."""
    if not can_hold_one_on_ones(actor):
        raise PermissionDenied(
            "1:1s are recorded by the rep's manager (or a sales leader), not by reps."
        )
    rep = _session_rep(actor, rep_id)
    errors: dict[str, Any] = {}
    on = _clean_held_on(errors, held_on)
    first, second = _clean_focus_skills(errors, focus_skill_id, second_focus_skill_id)
    notes_text = clean_text(errors, "notes", notes, required=False, max_length=MAX_SESSION_NOTES)
    practice = clean_text(
        errors, "practice_assignment", practice_assignment, required=False,
        max_length=MAX_PRACTICE,
    )  # fmt: skip
    items = _clean_session_items(errors, action_items, rep=rep, manager=actor)
    if errors:
        raise ValidationFailed(details=errors)
    # Each is None only with its error recorded above (raised just now).
    assert on is not None and first is not None
    if CoachingSession.objects.filter(rep=rep, manager=actor, held_on=on).exists():
        raise Conflict(
            f"You already recorded a 1:1 with {rep} on {on:%d %b %Y}.",
            code="duplicate_session",
            details={"held_on": [f"You already recorded a 1:1 with {rep} on this day."]},
        )
    session = CoachingSession.objects.create(
        manager=actor,
        rep=rep,
        held_on=on,
        focus_skill=first,
        second_focus_skill=second,
        notes=notes_text,
        practice_assignment=practice,
    )
    for index, item in enumerate(items):
        try:
            action_item_add(actor=actor, parent=session, **item)
        except ValidationFailed as exc:
            # The checks above mirror action_item_add's; should they ever disagree, the
            # error still names the item and the transaction keeps nothing.
            raise ValidationFailed(
                details={
                    "action_items": [exc.details if i == index else {} for i in range(len(items))]
                }
            ) from exc
    skills = " and ".join(s.name for s in session.focus_skills)
    notification_send(
        recipient=rep,
        dedupe_key=f"coaching_session:{session.pk}",
        title=f"1:1 with {actor} on {on:%d %b}: {skills}",
        body=(
            f"{actor} recorded your 1:1 of {on:%d %b %Y}"
            + (" with a practice assignment." if practice else ".")
        ),
        link=reverse("coaching:session_detail", args=[session.pk]),
    )
    audit_record(
        actor=actor,
        action="coaching_session.created",
        target=session,
        data={
            "rep": rep.pk,
            "held_on": on.isoformat(),
            "focus_skills": [s.pk for s in session.focus_skills],
            "action_items": len(items),
        },
    )
    _cadence_refresh_on_commit(rep.pk)
    return session


def _locked_session(actor: User, session_id: Any) -> CoachingSession:
    from coaching.selectors import sessions_visible_q

    pk = _pk_or_none(session_id)
    session = (
        CoachingSession.objects.filter(sessions_visible_q(actor), pk=pk)
        .select_for_update(of=("self",))
        .select_related("rep", "manager")
        .first()
        if pk is not None
        else None
    )
    if session is None:
        raise NotFound("No such 1:1.")
    return session


@transaction.atomic
def session_update(
    *, actor: User, session_id: Any, expected_version: int | None = None, **changes: Any
) -> CoachingSession:
    """Change a 1:1's notes, practice assignment or focus skills (focus_skill_id,
    second_focus_skill_id; None or "" removes the second). A focus skill deactivated since
    may be kept, not chosen anew. Changing nothing saves nothing.

    Refuses: unknown fields; a 1:1 outside `actor`'s scope (NotFound); anyone but the
    manager who held it or a leader/admin (PermissionDenied); a stale `expected_version`
    (StaleVersion); the focus skill rules of session_create; too long texts."""
    refuse_unknown_fields(changes, allowed=SESSION_CHANGE_FIELDS)
    session = _locked_session(actor, session_id)
    if not can_change_session(actor, session):
        raise PermissionDenied(
            "Only the manager who held this 1:1 (or a sales leader) can change it."
        )
    if expected_version is not None and expected_version != session_version(session):
        raise StaleVersion()
    errors: dict[str, Any] = {}
    cleaned: dict[str, Any] = {}
    if "notes" in changes:
        cleaned["notes"] = clean_text(
            errors, "notes", changes["notes"], required=False, max_length=MAX_SESSION_NOTES
        )
    if "practice_assignment" in changes:
        cleaned["practice_assignment"] = clean_text(
            errors, "practice_assignment", changes["practice_assignment"], required=False,
            max_length=MAX_PRACTICE,
        )  # fmt: skip
    if {"focus_skill_id", "second_focus_skill_id"} & set(changes):
        first, second = _clean_focus_skills(
            errors,
            changes.get("focus_skill_id", session.focus_skill_id),
            changes.get("second_focus_skill_id", session.second_focus_skill_id),
            keep=frozenset(
                pk
                for pk in (session.focus_skill_id, session.second_focus_skill_id)
                if pk is not None
            ),
        )
        cleaned["focus_skill"], cleaned["second_focus_skill"] = first, second
    if errors:
        raise ValidationFailed(details=errors)
    changed = [
        field
        for field, value in cleaned.items()
        if getattr(session, f"{field}_id" if field.endswith("skill") else field)
        != (value.pk if isinstance(value, Skill) else value)
    ]
    if not changed:
        return session
    for field in changed:
        setattr(session, field, cleaned[field])
    session.save(update_fields=[*changed, "updated_at"])
    audit_record(
        actor=actor, action="coaching_session.updated", target=session, data={"fields": changed}
    )
    return session


@transaction.atomic
def session_add_action_item(
    *, actor: User, session_id: Any, title: Any, due_on: Any, owner_id: Any = None
) -> ActionItem:
    """Add an action item to a 1:1 (see action_item_add: owner the rep by default, or the
    manager; due today or later, within a year).

    Refuses: a 1:1 outside `actor`'s scope (NotFound); anyone but the manager who held it
    or a leader/admin (PermissionDenied); the rules of action_item_add. Nothing is saved
    when refused."""
    session = _locked_session(actor, session_id)
    if not can_change_session(actor, session):
        raise PermissionDenied(
            "Only the manager who held this 1:1 (or a sales leader) adds its action items."
        )
    return action_item_add(
        actor=actor, parent=session, title=title, due_on=due_on, owner_id=owner_id
    )
