"""Every write of coaching. Pages and the API call these; each is keyword-only and atomic,
and states in its docstring what it refuses.

The skills framework is configuration: only administrators change it. A skill assessment
is written by a manager of the rep (never of themselves) or by a leader/admin; reps read
their own assessments but assess nobody.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from coaching.models import (
    EVIDENCE_FROM_LEVEL,
    LEVELS,
    ActionItem,
    AgendaSource,
    CoachingPoint,
    CoachingSession,
    OpportunityReview,
    ReviewAgendaItem,
    ReviewFinding,
    ReviewStatus,
    Skill,
    SkillAssessment,
)
from salesops import access, organisation
from salesops.cleaning import (
    MAX_SMALL_INT,
    clean_date,
    clean_int,
    clean_text,
    name_taken,
    refuse_unknown_fields,
    save_unique,
)
from salesops.exceptions import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from salesops.locking import lock_then_get
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
    rep = coached_person(
        actor, rep_id, yourself="You cannot assess yourself: your manager assesses you."
    )
    errors: dict[str, list[str]] = {}
    try:
        skill = Skill.objects.filter(pk=int(skill_id), is_active=True).first()
    except (TypeError, ValueError):
        skill = None
    if skill is None:
        errors.setdefault("skill", []).append("Choose a skill of the skills framework.")
    level_value = clean_int(errors, "level", level, required=True, minimum=1, maximum=5)
    today = organisation.current().today()
    if assessed_on in (None, ""):
        on = today
    else:
        on = clean_date(errors, "assessed_on", assessed_on, required=True)
        if on is not None and on > today:
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


def action_item_link(item: ActionItem) -> str:
    """The page of the review or 1:1 an action item belongs to."""
    if item.review_id:
        return reverse("coaching:review_detail", args=[item.review_id])
    return reverse("coaching:session_detail", args=[item.session_id])


def _participants(parent: OpportunityReview | CoachingSession) -> tuple[User, User]:
    return parent.rep, parent.manager


def clean_action_item(
    errors: dict[str, list[str]],
    *,
    title: Any,
    due_on: Any,
    owner_id: Any,
    people: tuple[User, User],
) -> tuple[str, dt.date | None, User | None]:
    """The one check of a new action item (title, due date, owner among `people` = (rep,
    manager), default the rep), for action_item_add and for a new 1:1's items checked
    before anything is saved. Problems go to `errors` by field."""
    text = clean_text(errors, "title", title, required=True, max_length=MAX_ACTION_TITLE)
    due = clean_date(errors, "due_on", due_on, required=True)
    today = organisation.current().today()
    if due is not None and due < today:
        errors.setdefault("due_on", []).append(
            f"The due date cannot be in the past: choose {today:%d %b %Y} or later."
        )
    elif due is not None and due > today + dt.timedelta(days=MAX_ACTION_DAYS_AHEAD):
        errors.setdefault("due_on", []).append(
            "Choose a due date within a year: action items are next steps, not plans."
        )
    rep, manager = people
    owner: User | None = rep
    if owner_id not in (None, ""):
        try:
            owner_pk: int | None = int(owner_id)
        except (TypeError, ValueError):
            owner_pk = None
        owner = {rep.pk: rep, manager.pk: manager}.get(owner_pk)
        if owner is None:
            errors.setdefault("owner", []).append(
                f"The owner is {rep} (the rep) or {manager} (the manager)."
            )
    return text, due, owner


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
    text, due, owner = clean_action_item(
        errors, title=title, due_on=due_on, owner_id=owner_id, people=_participants(parent)
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
            link=action_item_link(item),
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
    """Mark an action item done (now) or open again. Its overdue flag follows at once
    (cleared when done, raised again when reopened after its due date: a targeted cadence
    refresh in this transaction); doing it twice changes nothing.

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
    # --- cadence flags --- decide this item's overdue flag now (cleared when done, raised
    # again when reopened past its due date), in this transaction, not at the next run.
    from coaching.cadence import cadence_refresh

    cadence_refresh(action_item_ids=[item.pk])
    return item


# --- opportunity reviews ---
# A manager reviews one deal with its rep: the agenda is generated from the deal's gaps at
# that moment (coaching.rules.review_agenda over coaching.selectors.deal_snapshot). Only the
# manager holding it (or a leader/admin) changes a review; the rep reads it; a completed
# review is frozen. A review holds no forecast numbers and no commit call, by design.

MAX_AGENDA_DETAIL = 5_000


def can_start_review(actor: User) -> bool:
    """Managers, leaders and admins hold reviews (of deals in their teams); reps do not."""
    return actor.is_authenticated and (actor.is_manager or actor.sees_everything)


def can_change_review(actor: User, review: OpportunityReview) -> bool:
    """The manager holding the review, or a leader/admin, while it is in progress."""
    return (
        actor.is_authenticated
        and review.is_open
        and (actor.sees_everything or actor.pk == review.manager_id)
    )


def _review_link(review: OpportunityReview) -> str:
    return reverse("coaching:review_detail", args=[review.pk])


def _lock_review(actor: User, review_id: Any) -> OpportunityReview:
    """The review, locked for the change `actor` is making. Refuses: a review outside their
    scope (NotFound); someone other than its manager or a leader (PermissionDenied); a
    completed review (Conflict review_completed)."""
    from coaching.selectors import reviews_visible_q

    try:
        pk = int(review_id)
    except (TypeError, ValueError):
        raise NotFound("No such review.") from None
    review = (
        OpportunityReview.objects.select_for_update()
        .filter(reviews_visible_q(actor), pk=pk)
        .first()
    )
    if review is None:
        raise NotFound("No such review.")
    if not (actor.sees_everything or actor.pk == review.manager_id):
        raise PermissionDenied(
            "Only the manager holding this review (or a sales leader) changes it; the rep reads it."
        )
    if not review.is_open:
        raise Conflict(
            "This review is completed: it stays as it was. Start a new review to discuss "
            "the deal again.",
            code="review_completed",
        )
    return review


@transaction.atomic
def review_start(*, actor: User, opportunity_id: Any) -> OpportunityReview:
    """Start a coaching review of one open deal with its owner: the agenda is generated from
    the deal's gaps now (flags, unmet milestones of the current and next stage, weak
    qualification, the executive summary, close-date and amount changes since the last
    review). The rep is notified.

    Refuses: a rep (PermissionDenied); a deal outside the actor's teams (NotFound); the
    actor's own deal (PermissionDenied: their manager reviews it); a closed deal (Conflict
    opportunity_closed); a deal with a review in progress (Conflict review_in_progress,
    details {"review": id}). Nothing is saved when refused."""
    from coaching import rules
    from coaching.selectors import deal_snapshot, last_review_of, open_review_of, review_since
    from pipeline.models import Opportunity, OpportunityStatus

    if not can_start_review(actor):
        raise PermissionDenied(
            "Reviews are held by a manager of the rep (or a sales leader); reps cannot start one."
        )
    try:
        pk = int(opportunity_id)
    except (TypeError, ValueError):
        raise NotFound("No such opportunity in your teams.") from None
    # The lock serialises two managers starting a review of the same deal at once; the
    # one-open-review constraint backs it. Locked by primary key, then read with its joins
    # (salesops.locking): a deal moved meanwhile is seen as moved, not lost.
    opp = lock_then_get(
        Opportunity.objects.filter(access.owner_scope_q(actor)).select_related(
            "owner", "stage", "pipeline"
        ),
        pk,
    )
    if opp is None:
        raise NotFound("No such opportunity in your teams.")
    if opp.owner_id == actor.pk:
        raise PermissionDenied("You cannot review your own deal: your manager reviews it.")
    if opp.status != OpportunityStatus.OPEN:
        raise Conflict(
            f"This deal is {opp.get_status_display().lower()}: reviews coach open deals.",
            code="opportunity_closed",
        )
    current = open_review_of(opp.pk)
    if current is not None:
        raise Conflict(
            f"A review of this deal is already in progress (started by {current.manager}).",
            code="review_in_progress",
            details={"review": current.pk},
        )
    points = rules.review_agenda(deal_snapshot(opp, review_since(last_review_of(opp.pk))))
    review = OpportunityReview.objects.create(
        opportunity=opp, rep=opp.owner, manager=actor, started_at=timezone.now()
    )
    ReviewAgendaItem.objects.bulk_create(
        ReviewAgendaItem(
            review=review,
            source=p.source,
            title=p.title[:MAX_ACTION_TITLE],
            detail=p.detail,
            order=i,
        )
        for i, p in enumerate(points)
    )
    notification_send(
        recipient=opp.owner,
        dedupe_key=f"review:{review.pk}",
        title=f"Coaching review of {opp.name}",
        body=f"{actor} started a coaching review of {opp.name} with "
        f"{len(points)} agenda point{'s' if len(points) != 1 else ''}.",
        link=_review_link(review),
    )
    audit_record(
        actor=actor,
        action="review.started",
        target=review,
        data={"opportunity": opp.pk, "rep": opp.owner_id, "agenda_items": len(points)},
    )
    return review


@transaction.atomic
def agenda_item_add(
    *, actor: User, review_id: Any, title: Any, detail: Any = ""
) -> ReviewAgendaItem:
    """Add a point of the manager's own to the agenda, after the others.

    Refuses: see _lock_review (outside scope, not its manager, completed); an empty or too
    long title (300) or detail (5,000). Nothing is saved when refused."""
    review = _lock_review(actor, review_id)
    errors: dict[str, list[str]] = {}
    text = clean_text(errors, "title", title, required=True, max_length=MAX_ACTION_TITLE)
    more = clean_text(errors, "detail", detail, required=False, max_length=MAX_AGENDA_DETAIL)
    if errors:
        raise ValidationFailed(details=errors)
    last = review.agenda_items.aggregate(m=Max("order"))["m"]
    item = ReviewAgendaItem.objects.create(
        review=review,
        source=AgendaSource.MANAGER,
        title=text,
        detail=more,
        order=min(MAX_SMALL_INT, 0 if last is None else last + 1),
        added_by=actor,
    )
    audit_record(actor=actor, action="review.agenda_item_added", target=item)
    return item


@transaction.atomic
def agenda_item_set_discussed(*, actor: User, item_id: Any, discussed: bool) -> ReviewAgendaItem:
    """Tick an agenda point as discussed (or not). Doing it twice changes nothing.

    Refuses: a point outside the actor's scope (NotFound); see _lock_review."""
    from coaching.selectors import reviews_visible_q

    try:
        pk = int(item_id)
    except (TypeError, ValueError):
        raise NotFound("No such agenda item.") from None
    review_pk = (
        ReviewAgendaItem.objects.filter(pk=pk)
        .filter(review__in=OpportunityReview.objects.filter(reviews_visible_q(actor)))
        .values_list("review_id", flat=True)
        .first()
    )
    if review_pk is None:
        raise NotFound("No such agenda item.")
    review = _lock_review(actor, review_pk)
    item = review.agenda_items.get(pk=pk)
    if item.discussed != bool(discussed):
        item.discussed = bool(discussed)
        item.save(update_fields=["discussed"])
        audit_record(
            actor=actor, action="review.agenda_item_discussed", target=item,
            data={"discussed": item.discussed},
        )  # fmt: skip
    return item


@transaction.atomic
def review_finding_add(*, actor: User, review_id: Any, text: Any) -> ReviewFinding:
    """Record what the review found about the deal.

    Refuses: see _lock_review; an empty or too long text (10,000)."""
    review = _lock_review(actor, review_id)
    errors: dict[str, list[str]] = {}
    body = clean_text(errors, "text", text, required=True, max_length=MAX_TEXT)
    if errors:
        raise ValidationFailed(details=errors)
    finding = ReviewFinding.objects.create(review=review, text=body, created_by=actor)
    audit_record(actor=actor, action="review.finding_added", target=finding)
    return finding


@transaction.atomic
def review_coaching_point_add(
    *, actor: User, review_id: Any, skill_id: Any, text: Any
) -> CoachingPoint:
    """Record what the rep should do differently, tied to a skill of the framework.

    Refuses: see _lock_review; a skill that is not an active skill of the framework (field
    "skill"); an empty or too long text (10,000). Nothing is saved when refused."""
    review = _lock_review(actor, review_id)
    errors: dict[str, list[str]] = {}
    try:
        skill = Skill.objects.filter(pk=int(skill_id), is_active=True).first()
    except (TypeError, ValueError):
        skill = None
    if skill is None:
        errors.setdefault("skill", []).append("Choose a skill of the skills framework.")
    body = clean_text(errors, "text", text, required=True, max_length=MAX_TEXT)
    if errors:
        raise ValidationFailed(details=errors)
    point = CoachingPoint.objects.create(review=review, skill=skill, text=body, created_by=actor)
    audit_record(
        actor=actor, action="review.coaching_point_added", target=point, data={"skill": skill.pk}
    )
    return point


@transaction.atomic
def review_action_item_add(
    *, actor: User, review_id: Any, title: Any, due_on: Any, owner_id: Any = None
) -> ActionItem:
    """Give the rep (default) or the manager an action item of this review.

    Refuses: see _lock_review; see action_item_add (title, a due date in the past or more
    than a year ahead, an owner who is not the rep or the manager). Nothing is saved when
    refused."""
    review = _lock_review(actor, review_id)
    return action_item_add(
        actor=actor, parent=review, title=title, due_on=due_on, owner_id=owner_id
    )


def _undiscussed_points(review: OpportunityReview) -> list[dict[str, Any]]:
    """The agenda points not ticked as discussed, in agenda order."""
    return list(
        review.agenda_items.filter(discussed=False).order_by("order", "id").values("id", "title")
    )


@transaction.atomic
def review_complete(*, actor: User, review_id: Any, confirm: bool = False) -> OpportunityReview:
    """Close the review; from now on it is frozen. The rep is notified with the action
    items.

    Refuses: see _lock_review (a completed review: Conflict review_completed); agenda points
    not ticked as discussed, unless `confirm` (Conflict undiscussed_points, details
    {"undiscussed": [{"id", "title"}, …]} in agenda order): completing freezes them
    undiscussed, so the manager says so first. Nothing is saved when refused."""
    review = _lock_review(actor, review_id)
    undiscussed = _undiscussed_points(review)
    if undiscussed and not confirm:
        n = len(undiscussed)
        raise Conflict(
            f"{n} agenda point{'s were' if n != 1 else ' was'} not discussed. Tick what you "
            f"discussed, or confirm to complete the review with {'them' if n != 1 else 'it'} "
            "undiscussed: a completed review cannot be changed.",
            code="undiscussed_points",
            details={"undiscussed": undiscussed},
        )
    review.status = ReviewStatus.COMPLETED
    review.completed_at = timezone.now()
    review.save(update_fields=["status", "completed_at"])
    items = list(review.action_items.select_related("owner").order_by("due_on", "id"))
    lines = [f"• {i.title} — {i.owner}, due {i.due_on:%d %b %Y}" for i in items]
    opp_name = review.opportunity.name
    notification_send(
        recipient=review.rep,
        dedupe_key=f"review_completed:{review.pk}",
        title=f"Coaching review of {opp_name} completed",
        body=(
            f"{actor} completed the review of {opp_name}. Action items:\n" + "\n".join(lines)
            if lines
            else f"{actor} completed the review of {opp_name}, with no action items."
        ),
        link=_review_link(review),
    )
    audit_record(
        actor=actor,
        action="review.completed",
        target=review,
        data={"action_items": len(items), "undiscussed_points": len(undiscussed)},
    )
    return review


# --- 1:1 sessions ---
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
            keep=frozenset({session.focus_skill_id, session.second_focus_skill_id} - {None}),
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
