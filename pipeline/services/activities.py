"""Logging an activity on a deal."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from pipeline.flags import flags_refresh
from pipeline.models import CUSTOMER_ACTIVITY_KINDS, Activity, ActivityKind
from pipeline.services.common import MAX_TEXT, lock_for
from salesops.cleaning import clean_text
from salesops.exceptions import ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- activities ----------------------------------------------------------------


@transaction.atomic
def activity_log(
    *,
    opportunity_id: int,
    actor: User,
    kind: str,
    subject: str,
    body: str = "",
    occurred_at: dt.datetime | None = None,
) -> Activity:
    """Log a call, meeting, email or note. Customer-facing kinds move `last_activity_at`.

    Refuses: an unknown kind, an empty subject, a time more than 5 minutes in the future.
    Activities may be logged on closed opportunities (follow-ups happen).
    """
    opp = lock_for(actor, opportunity_id)
    errors: dict[str, list[str]] = {}
    if kind not in ActivityKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(ActivityKind.values)}."]
    subject = clean_text(errors, "subject", subject, required=True, max_length=200)
    body = clean_text(errors, "body", body, required=False, max_length=MAX_TEXT)
    now = timezone.now()
    occurred_at = occurred_at or now
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at)
    if occurred_at > now + dt.timedelta(minutes=5):
        errors["occurred_at"] = ["An activity that happened cannot be in the future."]
    if errors:
        raise ValidationFailed(details=errors)
    activity = Activity.objects.create(
        opportunity=opp,
        kind=kind,
        subject=subject,
        body=body,
        occurred_at=occurred_at,
        logged_by=actor,
    )
    if kind in CUSTOMER_ACTIVITY_KINDS and (
        opp.last_activity_at is None or occurred_at > opp.last_activity_at
    ):
        opp.last_activity_at = occurred_at
        opp.save(update_fields=["last_activity_at"])
        flags_refresh(now=now, opportunity_ids=[opp.pk])  # no_activity clears at once
    audit_record(
        actor=actor,
        action="activity.logged",
        target=opp,
        data={"activity": activity.pk, "kind": kind},
    )
    return activity
