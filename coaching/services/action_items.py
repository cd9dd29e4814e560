"""Action items, shared by opportunity reviews and 1:1 sessions: the one check of a new
item, adding one to a review or 1:1, and ticking one done.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coaching.models import ActionItem, CoachingSession, OpportunityReview
from salesops import organisation
from salesops.cleaning import clean_date, clean_text
from salesops.exceptions import NotFound, PermissionDenied, ValidationFailed
from salesops.models import User
from salesops.services import audit_record, notification_send

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
        by_pk: dict[int | None, User] = {rep.pk: rep, manager.pk: manager}
        owner = by_pk.get(owner_pk)
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
    # clean_action_item gives None only with an error recorded (raised just now).
    assert owner is not None and due is not None
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
    assert parent is not None  # an item belongs to a review or a 1:1 (a CheckConstraint)
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
