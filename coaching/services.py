"""Every write of coaching. Pages and the API call these; each is keyword-only and atomic,
and states in its docstring what it refuses.

The skills framework is configuration: only administrators change it. A skill assessment
is written by a manager of the rep (never of themselves) or by a leader/admin; reps read
their own assessments but assess nobody.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from coaching.models import (
    EVIDENCE_FROM_LEVEL,
    LEVELS,
    ActionItem,
    CoachingSession,
    OpportunityReview,
    Skill,
    SkillAssessment,
)
from salesops import access
from salesops.cleaning import (
    MAX_SMALL_INT,
    clean_date,
    clean_int,
    clean_text,
    name_taken,
    refuse_unknown_fields,
    save_unique,
)
from salesops.exceptions import NotFound, PermissionDenied, ValidationFailed
from salesops.models import User
from salesops.services import audit_record, notification_send

MAX_NAME = 80
MAX_TEXT = 10_000
MAX_EVIDENCE = 5_000
LEVEL_FIELDS = tuple(f"level_{n}" for n in LEVELS)
GUIDE_FIELDS = ("questions", "good_looks_like", "common_mistakes")
SKILL_FIELDS = frozenset(
    {"name", "order", "description", "is_active", *LEVEL_FIELDS, *GUIDE_FIELDS}
)


# --- the skills framework (administrators) -------------------------------------------


def _refuse_unless_admin(actor: User) -> None:
    if not actor.is_admin_role:
        raise PermissionDenied("Only an administrator can change the skills framework.")


def _clean_skill(data: dict[str, Any], *, instance: Skill | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(
            errors, "name", data["name"], required=True, max_length=MAX_NAME
        )
        if name_taken(Skill.objects.all(), cleaned["name"], instance=instance):
            errors.setdefault("name", []).append("A skill with this name exists.")
    if "order" in data:
        cleaned["order"] = clean_int(
            errors, "order", data["order"], required=True, maximum=MAX_SMALL_INT
        )
    for field in ("description", *GUIDE_FIELDS):
        if field in data:
            cleaned[field] = clean_text(
                errors, field, data[field], required=False, max_length=MAX_TEXT
            )
    for field in LEVEL_FIELDS:
        if field in data:
            # Every level needs words: assessing against an empty level means nothing.
            cleaned[field] = clean_text(
                errors, field, data[field], required=True, max_length=MAX_TEXT
            )
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def skill_create(*, actor: User, name: str, **fields: Any) -> Skill:
    """Add a skill to the framework, with a descriptor for each of the levels 1–5 and
    (optionally) its coaching guide. Without `order` it goes last.

    Refuses: a non-admin (PermissionDenied); unknown fields; an empty or taken name
    (case-insensitive); a level without a descriptor."""
    _refuse_unless_admin(actor)
    refuse_unknown_fields(fields, allowed=SKILL_FIELDS - {"name"})
    data = {field: "" for field in LEVEL_FIELDS} | fields | {"name": name}
    cleaned = _clean_skill(data, instance=None)
    if "order" not in cleaned:
        last = Skill.objects.aggregate(m=Max("order"))["m"]
        cleaned["order"] = min(MAX_SMALL_INT, 0 if last is None else last + 1)
    skill = Skill(**cleaned)
    save_unique(skill, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="skill.created", target=skill)
    return skill


@transaction.atomic
def skill_update(*, actor: User, skill_id: Any, **changes: Any) -> Skill:
    """Change a skill: rename, reorder, (de)activate, rewrite its levels or its guide.
    Deactivating keeps its assessments; the skill just leaves the matrix and the form.

    Refuses: a non-admin; unknown fields; no such skill (NotFound); an empty or taken
    name; an emptied level descriptor."""
    _refuse_unless_admin(actor)
    refuse_unknown_fields(changes, allowed=SKILL_FIELDS)
    try:
        pk = int(skill_id)
    except (TypeError, ValueError):
        raise NotFound("No such skill.") from None
    skill = Skill.objects.select_for_update().filter(pk=pk).first()
    if skill is None:
        raise NotFound("No such skill.")
    cleaned = _clean_skill(changes, instance=skill)
    for field, value in cleaned.items():
        setattr(skill, field, value)
    if cleaned:
        save_unique(skill, fields=[*cleaned, "updated_at"], field_for_conflict="name")
        audit_record(
            actor=actor, action="skill.updated", target=skill, data={"fields": sorted(cleaned)}
        )
    return skill


# --- assessments ---------------------------------------------------------------------


def can_assess(actor: User) -> bool:
    """Managers, leaders and admins assess skills; reps do not. (Whom: `manages`.)"""
    return actor.is_authenticated and (actor.is_manager or actor.sees_everything)


@transaction.atomic
def skill_assessment_create(
    *,
    actor: User,
    rep_id: Any,
    skill_id: Any,
    level: Any,
    assessed_on: dt.date | str | None = None,
    evidence: str = "",
) -> SkillAssessment:
    """Record the level (1–5) `actor` assessed a rep at on one skill of the framework,
    on `assessed_on` (default: today). The rep is notified.

    Refuses: a rep (PermissionDenied: skills are assessed by managers); a person outside
    the actor's teams (NotFound, as if they did not exist); assessing oneself
    (PermissionDenied); a skill that is not an active skill of the framework; a level
    outside 1–5; a date in the future; no evidence for level 4 or 5; too long evidence.
    Nothing is saved when refused."""
    if not can_assess(actor):
        raise PermissionDenied(
            "Skills are assessed by a manager of the rep (or a sales leader), not by reps."
        )
    try:
        rep_pk = int(rep_id)
    except (TypeError, ValueError):
        rep_pk = None
    rep = (
        User.objects.filter(access.visible_users_q(actor), pk=rep_pk, is_active=True).first()
        if rep_pk is not None
        else None
    )
    if rep is None:
        raise NotFound("No such person in your teams.")
    if rep.pk == actor.pk:
        raise PermissionDenied("You cannot assess yourself: your manager assesses you.")
    if not access.manages(actor, rep):
        raise NotFound("No such person in your teams.")
    errors: dict[str, list[str]] = {}
    try:
        skill = Skill.objects.filter(pk=int(skill_id), is_active=True).first()
    except (TypeError, ValueError):
        skill = None
    if skill is None:
        errors.setdefault("skill", []).append("Choose a skill of the skills framework.")
    level_value = clean_int(errors, "level", level, required=True, minimum=1, maximum=5)
    if assessed_on in (None, ""):
        on = timezone.localdate()
    else:
        on = clean_date(errors, "assessed_on", assessed_on, required=True)
        if on is not None and on > timezone.localdate():
            errors.setdefault("assessed_on", []).append(
                "An assessment records what you saw: the date cannot be in the future."
            )
    text = clean_text(errors, "evidence", evidence, required=False, max_length=MAX_EVIDENCE)
    if level_value is not None and level_value >= EVIDENCE_FROM_LEVEL and not text:
        errors.setdefault("evidence", []).append(
            f"Level {level_value} needs evidence: say what you saw (the deal, call or "
            "document, and when) that shows this level."
        )
    if errors:
        raise ValidationFailed(details=errors)
    assessment = SkillAssessment.objects.create(
        rep=rep,
        skill=skill,
        level=level_value,
        assessor=actor,
        assessed_on=on,
        evidence=text,
    )
    notification_send(
        recipient=rep,
        dedupe_key=f"skill_assessment:{assessment.pk}",
        title=f"{skill.name}: assessed at level {level_value}",
        body=f"{actor} assessed your {skill.name.lower()} on {on:%d %b %Y}.",
        link=reverse("coaching:matrix"),
    )
    audit_record(
        actor=actor,
        action="skill_assessment.created",
        target=assessment,
        data={"rep": rep.pk, "skill": skill.pk, "level": level_value},
    )
    return assessment


# --- action items (shared by opportunity reviews and 1:1 sessions) ------------------------

MAX_ACTION_TITLE = 300
# Far enough for a quarter's plan, near enough that a typo (2062) is caught.
MAX_ACTION_DAYS_AHEAD = 366


def _action_item_link(item: ActionItem) -> str:
    if item.review_id:
        return reverse("coaching:review_detail", args=[item.review_id])
    return reverse("coaching:session_detail", args=[item.session_id])


def _participants(parent: OpportunityReview | CoachingSession) -> tuple[User, User]:
    return parent.rep, parent.manager


def action_item_add(
    *,
    actor: User,
    parent: OpportunityReview | CoachingSession,
    title: Any,
    due_on: Any,
    owner_id: Any = None,
) -> ActionItem:
    """Add an action item to a review or a 1:1 that `actor` may change (the caller —
    review_add_action_item / session_add_action_item — has checked that and locked the
    parent). The owner is the rep or the manager of the review or 1:1 (default: the rep);
    the owner is notified unless they added it themselves.

    Refuses: an empty or too long title; a missing or malformed due date, one in the past
    (action items are created for the future) or more than a year ahead; an owner who is
    not the rep or the manager of it. Nothing is saved when refused."""
    errors: dict[str, list[str]] = {}
    text = clean_text(errors, "title", title, required=True, max_length=MAX_ACTION_TITLE)
    due = clean_date(errors, "due_on", due_on, required=True)
    today = timezone.localdate()
    if due is not None and due < today:
        errors.setdefault("due_on", []).append(
            f"The due date cannot be in the past: choose {today:%d %b %Y} or later."
        )
    elif due is not None and due > today + dt.timedelta(days=MAX_ACTION_DAYS_AHEAD):
        errors.setdefault("due_on", []).append(
            "Choose a due date within a year: action items are next steps, not plans."
        )
    rep, manager = _participants(parent)
    owner = rep
    if owner_id not in (None, ""):
        try:
            owner_pk = int(owner_id)
        except (TypeError, ValueError):
            owner_pk = None
        owner = {rep.pk: rep, manager.pk: manager}.get(owner_pk)
        if owner is None:
            errors.setdefault("owner", []).append(
                f"The owner is {rep} (the rep) or {manager} (the manager)."
            )
    if errors:
        raise ValidationFailed(details=errors)
    item = ActionItem.objects.create(
        review=parent if isinstance(parent, OpportunityReview) else None,
        session=parent if isinstance(parent, CoachingSession) else None,
        owner=owner,
        title=text,
        due_on=due,
        created_by=actor,
    )
    if owner.pk != actor.pk:
        notification_send(
            recipient=owner,
            dedupe_key=f"action_item:{item.pk}",
            title=f"Action item for you: {text}"[:200],
            body=f"{actor} gave you an action item, due {due:%d %b %Y}.",
            link=_action_item_link(item),
        )
    audit_record(
        actor=actor,
        action="action_item.created",
        target=item,
        data={"owner": owner.pk, "due_on": due.isoformat()},
    )
    return item


def can_complete_action_item(actor: User, item: ActionItem) -> bool:
    """The owner, the manager of its review or 1:1, or a leader/admin."""
    if not actor.is_authenticated:
        return False
    parent = item.review or item.session
    return actor.sees_everything or actor.pk in (item.owner_id, parent.manager_id)


@transaction.atomic
def action_item_set_done(*, actor: User, item_id: Any, done: bool) -> ActionItem:
    """Mark an action item done (now) or open again. Marking it done clears its overdue
    flag at the next cadence refresh; doing it twice changes nothing.

    Refuses: an item outside `actor`'s scope (NotFound); someone other than its owner, the
    manager of its review or 1:1, or a leader (PermissionDenied)."""
    from coaching.selectors import action_items_for

    try:
        pk = int(item_id)
    except (TypeError, ValueError):
        raise NotFound("No such action item.") from None
    item = action_items_for(actor).select_for_update(of=("self",)).filter(pk=pk).first()
    if item is None:
        raise NotFound("No such action item.")
    if not can_complete_action_item(actor, item):
        raise PermissionDenied("Only its owner or the manager who set it can change it.")
    if done == item.is_done:
        return item
    item.done_at = timezone.now() if done else None
    item.save(update_fields=["done_at"])
    audit_record(
        actor=actor,
        action="action_item.done" if done else "action_item.reopened",
        target=item,
    )
    return item
