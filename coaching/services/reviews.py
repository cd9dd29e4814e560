"""Opportunity reviews: a manager reviews one deal with its rep, from an agenda generated
from the deal's gaps, records findings, coaching points and action items, then completes
it (frozen from then on).
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from coaching.models import (
    ActionItem,
    AgendaSource,
    CoachingPoint,
    OpportunityReview,
    ReviewAgendaItem,
    ReviewFinding,
    ReviewStatus,
    Skill,
)
from coaching.services.action_items import MAX_ACTION_TITLE, action_item_add
from coaching.services.common import MAX_TEXT
from pipeline.models import Opportunity, OpportunityStatus
from salesops import access
from salesops.cleaning import MAX_SMALL_INT, clean_text
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.locking import lock_then_get
from salesops.models import User
from salesops.services import audit_record, notification_send

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
    assert skill is not None  # else its error was recorded above (raised just now)
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


class UndiscussedPoint(TypedDict):
    """An agenda point not ticked as discussed, as review_complete's Conflict lists it."""

    id: int
    title: str


def _undiscussed_points(review: OpportunityReview) -> list[UndiscussedPoint]:
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
