"""Writes of a deal's business issues: create, update, delete."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from pipeline.models import BusinessIssue
from pipeline.services.common import MAX_TEXT, lock_for, refuse_if_closed
from salesops.cleaning import clean_amount, clean_text
from salesops.exceptions import NotFound, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- business issues -----------------------------------------------------------


def _clean_business_issue(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned = {
        "issue": clean_text(errors, "issue", data.get("issue"), required=True, max_length=300),
        "impact": clean_text(
            errors, "impact", data.get("impact"), required=False, max_length=MAX_TEXT
        ),
        "our_value": clean_text(
            errors, "our_value", data.get("our_value"), required=False, max_length=MAX_TEXT
        ),
        "quantified_value": clean_amount(
            errors, "quantified_value", data.get("quantified_value"), required=False
        ),
    }
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def business_issue_create(
    *,
    opportunity_id: int,
    actor: User,
    issue: str,
    impact: str = "",
    our_value: str = "",
    quantified_value: Any = None,
) -> BusinessIssue:
    """Record a customer's business issue and the value we offer against it.

    Refuses: an empty issue, a negative or non-numeric quantified value, a closed opportunity.
    """
    opp = lock_for(actor, opportunity_id)
    refuse_if_closed(opp)
    cleaned = _clean_business_issue(
        {
            "issue": issue,
            "impact": impact,
            "our_value": our_value,
            "quantified_value": quantified_value,
        }
    )
    bi = BusinessIssue.objects.create(opportunity=opp, created_by=actor, **cleaned)
    audit_record(actor=actor, action="business_issue.created", target=opp, data={"id": bi.pk})
    return bi


@transaction.atomic
def business_issue_update(*, business_issue_id: int, actor: User, **data: Any) -> BusinessIssue:
    """Change a business issue (only the fields given) — e.g. map our value to an issue
    recorded without it. The automatic milestone "a business issue is mapped to our value"
    is read from the issues, so the gate follows at once.

    Refuses like create: an empty issue, a negative or non-numeric quantified value, a
    closed opportunity; an issue outside the actor's scope is NotFound.
    """
    bi = BusinessIssue.objects.filter(pk=business_issue_id).first()
    if bi is None:
        raise NotFound("No such business issue.")
    opp = lock_for(actor, bi.opportunity_id)
    refuse_if_closed(opp)
    current = {
        "issue": bi.issue,
        "impact": bi.impact,
        "our_value": bi.our_value,
        "quantified_value": bi.quantified_value,
    }
    current.update({k: v for k, v in data.items() if k in current})
    cleaned = _clean_business_issue(current)
    changed = [field for field, value in cleaned.items() if getattr(bi, field) != value]
    for field in changed:
        setattr(bi, field, cleaned[field])
    if changed:
        bi.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="business_issue.updated",
            target=opp,
            data={"id": bi.pk, "fields": changed},
        )
    return bi


@transaction.atomic
def business_issue_delete(*, business_issue_id: int, actor: User) -> None:
    """Delete a business issue. Refuses a closed opportunity; outside scope is NotFound."""
    bi = BusinessIssue.objects.filter(pk=business_issue_id).first()
    if bi is None:
        raise NotFound("No such business issue.")
    opp = lock_for(actor, bi.opportunity_id)
    refuse_if_closed(opp)
    bi.delete()
    audit_record(
        actor=actor, action="business_issue.deleted", target=opp, data={"id": business_issue_id}
    )
