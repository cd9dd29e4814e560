"""Every write of proposals. Pages and the API call these; each is keyword-only and atomic,
locks the proposal (or its deal) it changes, and states in its docstring what it refuses.

The workflow:

    draft ──submit──▶ in review ──approve──▶ approved ──mark sent──▶ sent (frozen)
      ▲                  │
      └─changes requested◀┘ (request changes)

Only the deal's owner writes, submits and sends its proposals; only a manager of the
owner (or a leader) reviews them, never their own deal. A sent proposal never changes:
`proposal_new_version` copies it into the next draft. Submitting requires the executive
summary to pass every check of proposals.rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from pipeline.models import Opportunity, OpportunityStatus
from proposals import rules
from proposals import selectors as proposal_selectors
from proposals.models import (
    EDITABLE_STATUSES,
    IN_PROGRESS_STATUSES,
    Proposal,
    ProposalComment,
    ProposalReview,
    ProposalSection,
    ProposalStatus,
    ReviewDecision,
)
from salesops import access, organisation
from salesops.cleaning import clean_amount, clean_currency, clean_date, clean_text
from salesops.exceptions import (
    ApplicationError,
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    Unprocessable,
    ValidationFailed,
)
from salesops.locking import lock_then_get
from salesops.models import Role, User
from salesops.services import audit_record, notification_send

MAX_TITLE = 200
# A summary is read in a minute; 20,000 characters is already ten pages.
MAX_SUMMARY = 20_000
MAX_SECTIONS = 30
MAX_SECTION_BODY = 50_000
MAX_COMMENT = 5_000
FIELDS = frozenset({"title", "executive_summary", "total_value", "currency", "valid_until"})


# --- helpers -----------------------------------------------------------------


def _lock(actor: User, proposal_id: Any) -> Proposal:
    """Lock the proposal, if `actor` may see its deal; else NotFound."""
    try:
        pk = int(proposal_id)
    except (TypeError, ValueError):
        raise NotFound("No such proposal.") from None
    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("opportunity", "opportunity__owner", "opportunity__account")
        .filter(proposal_selectors.visible_q(actor), pk=pk)
        .first()
    )
    if proposal is None:
        raise NotFound("No such proposal.")
    return proposal


def _refuse_unless_owner(actor: User, opp: Opportunity, what: str) -> None:
    if actor.pk != opp.owner_id:
        raise PermissionDenied(f"Only the deal's owner, {opp.owner}, {what}.")


def _refuse_unless_editable(proposal: Proposal) -> None:
    if refusal := _frozen_refusal(proposal):
        raise refusal


def _frozen_refusal(proposal: Proposal) -> ApplicationError | None:
    if proposal.status == ProposalStatus.SENT:
        return Conflict(
            "This proposal was sent to the customer and can no longer change. Create a new"
            " version to change it.",
            code="proposal_sent",
        )
    if proposal.status not in EDITABLE_STATUSES:
        return Conflict(
            f"This proposal is {proposal.get_status_display().lower()}: it can be edited only"
            " as a draft or after changes were requested.",
            code="proposal_not_editable",
        )
    return None


def edit_refusal(actor: User, proposal: Proposal) -> ApplicationError | None:
    """Why `actor` may not edit `proposal` now (None: they may) — what proposal_update
    refuses before looking at the input; pages use it to offer the form or not."""
    opp = proposal.opportunity
    if actor.pk != opp.owner_id:
        return PermissionDenied(f"Only the deal's owner, {opp.owner}, edits its proposals.")
    return _frozen_refusal(proposal)


def create_refusal(actor: User, opp: Opportunity) -> ApplicationError | None:
    """Why `actor` may not start a proposal for `opp` now (None: they may) — what
    proposal_create refuses before looking at the input. A deal in progress names its
    current version in `details["proposal"]`."""
    if actor.pk != opp.owner_id:
        return PermissionDenied(f"Only the deal's owner, {opp.owner}, writes its proposals.")
    if opp.status != OpportunityStatus.OPEN:
        return Conflict("This deal is closed: it needs no new proposal.", code="opportunity_closed")
    open_one = (
        Proposal.objects.filter(opportunity=opp, status__in=IN_PROGRESS_STATUSES)
        .order_by("-number")
        .first()
    )
    if open_one is not None:
        return Conflict(
            f"Version {open_one.number} of this deal's proposal is still"
            f" {open_one.get_status_display().lower()}: continue with it.",
            code="proposal_in_progress",
            details={"proposal": open_one.pk},
        )
    return None


def _clean_sections(errors: dict[str, list[str]], sections: Any) -> list[dict[str, str]]:
    if sections is None:
        return []
    if not isinstance(sections, list | tuple):
        errors.setdefault("sections", []).append("Give a list of sections with heading and body.")
        return []
    if len(sections) > MAX_SECTIONS:
        errors.setdefault("sections", []).append(f"Use at most {MAX_SECTIONS} sections.")
        return []
    cleaned = []
    for index, section in enumerate(sections, start=1):
        if not isinstance(section, dict):
            errors.setdefault("sections", []).append(
                f"Section {index}: give an object with heading and body."
            )
            continue
        unknown = set(section) - {"heading", "body", "id", "order"}
        if unknown:
            errors.setdefault("sections", []).append(
                f"Section {index}: unknown {'field' if len(unknown) == 1 else 'fields'} "
                f"{', '.join(sorted(unknown))}."
            )
        section_errors: dict[str, list[str]] = {}
        heading = clean_text(
            section_errors, "heading", section.get("heading"), required=True, max_length=200
        )
        body = clean_text(
            section_errors, "body", section.get("body"), required=False, max_length=MAX_SECTION_BODY
        )
        for field, messages in section_errors.items():
            errors.setdefault("sections", []).extend(
                f"Section {index} {field}: {m}" for m in messages
            )
        cleaned.append({"heading": heading, "body": body})
    return cleaned


def _clean(data: dict[str, Any], *, partial: bool) -> tuple[dict[str, Any], list | None]:
    """Validated field values (only the given ones when `partial`) and sections (None: not
    given). Raises ValidationFailed with every field's problems at once."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if not partial or "title" in data:
        cleaned["title"] = clean_text(
            errors, "title", data.get("title"), required=True, max_length=MAX_TITLE
        )
    if not partial or "executive_summary" in data:
        cleaned["executive_summary"] = clean_text(
            errors,
            "executive_summary",
            data.get("executive_summary"),
            required=False,
            max_length=MAX_SUMMARY,
        )
    if not partial or "total_value" in data:
        cleaned["total_value"] = clean_amount(errors, "total_value", data.get("total_value"))
    if not partial or "currency" in data:
        cleaned["currency"] = clean_currency(errors, data.get("currency"))
    if not partial or "valid_until" in data:
        cleaned["valid_until"] = clean_date(
            errors, "valid_until", data.get("valid_until"), required=True
        )
    sections = _clean_sections(errors, data["sections"]) if "sections" in data else None
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned, sections


def _store_sections(proposal: Proposal, sections: list[dict[str, str]]) -> None:
    """Replace the proposal's sections (their comments go with them)."""
    proposal.sections.all().delete()
    ProposalSection.objects.bulk_create(
        ProposalSection(proposal=proposal, order=order, heading=s["heading"], body=s["body"])
        for order, s in enumerate(sections, start=1)
    )


def _link(proposal: Proposal) -> str:
    return reverse("proposals:detail", args=[proposal.pk])


def _reviewers_of(owner: User) -> list[User]:
    """Who is asked to review: the managers of the owner's team and of its parent teams,
    nearest first; with none, the leaders."""
    team = owner.team
    seen: set[int] = set()
    managers: list[User] = []
    while team is not None and team.pk not in seen:
        seen.add(team.pk)
        if team.manager_id and team.manager_id != owner.pk:
            manager = team.manager
            assert manager is not None  # manager_id is set
            managers.append(manager)
        team = team.parent
    if managers:
        return managers[:1]
    return list(User.objects.filter(role=Role.LEADER, is_active=True).order_by("id"))


# --- checks ------------------------------------------------------------------


def summary_checks(*, opportunity: Opportunity, text: str) -> list[rules.SummaryCheck]:
    """The executive summary checks for `text` on `opportunity` — what the live checklist
    shows and what submitting requires. Reads only; refuses nothing."""
    return rules.check_summary(
        text, proposal_selectors.summary_context(opportunity=opportunity, text=text)
    )


def _check_details(checks: list[rules.SummaryCheck]) -> dict[str, Any]:
    return {
        "checks": [
            {"code": c.code, "label": c.label, "passed": c.passed, "message": c.message}
            for c in checks
        ],
        "failed": [c.code for c in rules.failed_checks(checks)],
    }


# --- writes ------------------------------------------------------------------


@transaction.atomic
def proposal_create(*, actor: User, opportunity_id: Any, **data: Any) -> Proposal:
    """Start the next version of the deal's proposal, as a draft.

    Refuses: a deal outside the actor's scope (NotFound); anyone but the deal's owner
    (PermissionDenied); a closed deal; a deal that already has a proposal in progress
    (draft, in review, changes requested — edit that one); unknown fields; invalid values
    (every field's problem at once). The summary need not pass its checks yet."""
    unknown = set(data) - FIELDS - {"sections"}
    if unknown:
        raise ValidationFailed(
            details={field: ["Unknown field."] for field in sorted(unknown)},
        )
    try:
        opp_pk = int(opportunity_id)
    except (TypeError, ValueError):
        raise NotFound("No such opportunity.") from None
    # Locked by primary key, then read with the owner (salesops.locking): a deal handed
    # over meanwhile is seen with its new owner, not lost.
    opp = lock_then_get(
        Opportunity.objects.select_related("owner").filter(access.owner_scope_q(actor)), opp_pk
    )
    if opp is None:
        raise NotFound("No such opportunity.")
    if refusal := create_refusal(actor, opp):
        raise refusal
    cleaned, sections = _clean(
        {"currency": opp.currency, "total_value": opp.amount, **data}, partial=False
    )
    number = (Proposal.objects.filter(opportunity=opp).aggregate(n=Max("number"))["n"] or 0) + 1
    proposal = Proposal.objects.create(opportunity=opp, number=number, created_by=actor, **cleaned)
    _store_sections(proposal, sections or [])
    audit_record(actor=actor, action="proposal.created", target=proposal, data={"number": number})
    return proposal


@transaction.atomic
def proposal_update(
    *, actor: User, proposal_id: Any, expected_revision: int | None = None, **changes: Any
) -> Proposal:
    """Change a draft (or a proposal sent back with requested changes).

    Refuses: outside scope (NotFound); anyone but the deal's owner; a proposal in review,
    approved or sent (Conflict — a sent one needs a new version); a stale revision
    (StaleVersion); unknown fields; invalid values. `sections`, when given, replaces all."""
    proposal = _lock(actor, proposal_id)
    if refusal := edit_refusal(actor, proposal):
        raise refusal
    if expected_revision is not None and expected_revision != proposal.revision:
        raise StaleVersion()
    unknown = set(changes) - FIELDS - {"sections"}
    if unknown:
        raise ValidationFailed(details={field: ["Unknown field."] for field in sorted(unknown)})
    cleaned, sections = _clean(changes, partial=True)
    for field, value in cleaned.items():
        setattr(proposal, field, value)
    proposal.revision += 1
    proposal.save(update_fields=[*cleaned, "revision", "updated_at"])
    if sections is not None:
        _store_sections(proposal, sections)
    audit_record(
        actor=actor,
        action="proposal.updated",
        target=proposal,
        data={"fields": sorted([*cleaned, *(["sections"] if sections is not None else [])])},
    )
    return proposal


@transaction.atomic
def proposal_submit(*, actor: User, proposal_id: Any) -> Proposal:
    """Send a draft to the owner's manager for review; the manager is notified.

    Refuses: outside scope; anyone but the deal's owner; a proposal not in draft or
    changes requested (Conflict); a validity date in the past, no sections (422); an
    executive summary failing any check (422 `summary_checks_failed`, the checks in
    `details`)."""
    proposal = _lock(actor, proposal_id)
    opp = proposal.opportunity
    _refuse_unless_owner(actor, opp, "submits its proposals")
    _refuse_unless_editable(proposal)
    problems: dict[str, list[str]] = {}
    if proposal.valid_until < organisation.current().today():
        problems["valid_until"] = ["The validity date has passed: choose a date ahead."]
    if not proposal.sections.exists():
        problems["sections"] = ["Add at least one section (scope, pricing, next steps, …)."]
    if problems:
        raise Unprocessable("Complete the proposal before submitting it.", details=problems)
    checks = summary_checks(opportunity=opp, text=proposal.executive_summary)
    if failed := rules.failed_checks(checks):
        raise Unprocessable(
            "The executive summary does not pass its checks: "
            + " ".join(c.message for c in failed),
            code="summary_checks_failed",
            details=_check_details(checks),
        )
    now = timezone.now()
    proposal.status = ProposalStatus.IN_REVIEW
    proposal.submitted_at = now
    proposal.revision += 1
    proposal.save(update_fields=["status", "submitted_at", "revision", "updated_at"])
    for reviewer in _reviewers_of(opp.owner):
        notification_send(
            recipient=reviewer,
            dedupe_key=f"proposal:{proposal.pk}:submitted:{proposal.revision}",
            title=f"Proposal to review: {proposal.title}",
            body=f"{opp.owner} submitted version {proposal.number} for {opp.name}.",
            link=_link(proposal),
        )
    audit_record(actor=actor, action="proposal.submitted", target=proposal)
    return proposal


def _review(
    *,
    actor: User,
    proposal_id: Any,
    decision: str,
    comment: str,
    checked_items: list[Any] | None,
) -> Proposal:
    proposal = _lock(actor, proposal_id)
    opp = proposal.opportunity
    if actor.pk == opp.owner_id:
        raise PermissionDenied("You cannot review a proposal for your own deal.")
    if not access.manages(actor, opp.owner):
        raise PermissionDenied(f"Only a manager of {opp.owner} or a sales leader reviews it.")
    if proposal.status != ProposalStatus.IN_REVIEW:
        raise Conflict(
            f"This proposal is {proposal.get_status_display().lower()}, not in review.",
            code="proposal_not_in_review",
        )
    errors: dict[str, list[str]] = {}
    comment = clean_text(
        errors,
        "comment",
        comment,
        required=decision == ReviewDecision.CHANGES_REQUESTED,
        max_length=MAX_COMMENT,
    )
    items = list(proposal_selectors.checklist_items())
    try:
        checked = {int(i) for i in (checked_items or [])}
    except (TypeError, ValueError):
        errors.setdefault("checklist", []).append("Give the ids of the checked items.")
        checked = set()
    if unknown := checked - {i.pk for i in items}:
        errors.setdefault("checklist", []).append(
            f"Unknown checklist {'item' if len(unknown) == 1 else 'items'}: "
            f"{', '.join(str(i) for i in sorted(unknown))}."
        )
    unchecked = [i.text for i in items if i.pk not in checked]
    if decision == ReviewDecision.APPROVED and unchecked and not errors:
        errors.setdefault("checklist", []).append(
            "Confirm every item before approving; not confirmed: " + "; ".join(unchecked)
        )
    if errors:
        raise ValidationFailed(details=errors)
    now = timezone.now()
    review = ProposalReview.objects.create(
        proposal=proposal,
        reviewer=actor,
        decision=decision,
        comment=comment,
        checklist=[{"item": i.text, "checked": i.pk in checked} for i in items],
        decided_at=now,
    )
    if decision == ReviewDecision.APPROVED:
        proposal.status = ProposalStatus.APPROVED
        proposal.approved_at = now
        proposal.approved_by = actor
        fields = ["status", "approved_at", "approved_by"]
        title = f"Proposal approved: {proposal.title}"
    else:
        proposal.status = ProposalStatus.CHANGES_REQUESTED
        fields = ["status"]
        title = f"Changes requested: {proposal.title}"
    proposal.revision += 1
    proposal.save(update_fields=[*fields, "revision", "updated_at"])
    notification_send(
        recipient=opp.owner,
        dedupe_key=f"proposal:{proposal.pk}:review:{review.pk}",
        title=title,
        body=comment or f"{actor} approved version {proposal.number} for {opp.name}.",
        link=_link(proposal),
    )
    audit_record(
        actor=actor, action=f"proposal.{decision}", target=proposal, data={"review": review.pk}
    )
    return proposal


@transaction.atomic
def proposal_approve(
    *, actor: User, proposal_id: Any, comment: str = "", checked_items: list[Any] | None = None
) -> Proposal:
    """Approve a proposal in review; the owner is notified.

    Refuses: outside scope (NotFound); the deal's owner (a rep never approves their own);
    anyone who does not manage the owner (a leader may); a proposal not in review
    (Conflict); a checklist item not confirmed or unknown (400)."""
    return _review(
        actor=actor,
        proposal_id=proposal_id,
        decision=ReviewDecision.APPROVED,
        comment=comment,
        checked_items=checked_items,
    )


@transaction.atomic
def proposal_request_changes(
    *, actor: User, proposal_id: Any, comment: str, checked_items: list[Any] | None = None
) -> Proposal:
    """Send a proposal in review back to its owner with a comment; the owner is notified.

    Refuses like approve, and an empty comment (400)."""
    return _review(
        actor=actor,
        proposal_id=proposal_id,
        decision=ReviewDecision.CHANGES_REQUESTED,
        comment=comment,
        checked_items=checked_items,
    )


@transaction.atomic
def proposal_mark_sent(*, actor: User, proposal_id: Any) -> Proposal:
    """Record that the approved proposal went to the customer; from now on it never changes.

    Refuses: outside scope; anyone but the deal's owner; a proposal that is not approved
    (Conflict; a sent one: already sent)."""
    proposal = _lock(actor, proposal_id)
    _refuse_unless_owner(actor, proposal.opportunity, "marks its proposals as sent")
    if proposal.status != ProposalStatus.APPROVED:
        raise Conflict(
            "Only an approved proposal can be sent."
            if proposal.status != ProposalStatus.SENT
            else "This proposal was already sent.",
            code="proposal_not_approved",
        )
    proposal.status = ProposalStatus.SENT
    proposal.sent_at = timezone.now()
    proposal.revision += 1
    proposal.save(update_fields=["status", "sent_at", "revision", "updated_at"])
    audit_record(actor=actor, action="proposal.sent", target=proposal)
    return proposal


@transaction.atomic
def proposal_new_version(*, actor: User, proposal_id: Any) -> Proposal:
    """Copy an approved or sent proposal into the deal's next version, as a draft — how a
    sent proposal is changed.

    Refuses: outside scope; anyone but the deal's owner; a proposal still in progress
    (edit it instead); a closed deal; a deal with another proposal in progress."""
    source = _lock(actor, proposal_id)
    if source.status not in (ProposalStatus.APPROVED, ProposalStatus.SENT):
        raise Conflict(
            "This proposal is still in progress: edit it instead of copying it.",
            code="proposal_in_progress",
        )
    copy = proposal_create(
        actor=actor,
        opportunity_id=source.opportunity_id,
        title=source.title,
        executive_summary=source.executive_summary,
        total_value=source.total_value,
        currency=source.currency,
        valid_until=max(source.valid_until, organisation.current().today() + dt.timedelta(days=30)),
        sections=[{"heading": s.heading, "body": s.body} for s in source.sections.all()],
    )
    return copy


@transaction.atomic
def proposal_delete(*, actor: User, proposal_id: Any) -> None:
    """Delete a draft that was never submitted.

    Refuses: outside scope; anyone but the deal's owner; a proposal that was submitted
    once (its review history stays)."""
    proposal = _lock(actor, proposal_id)
    _refuse_unless_owner(actor, proposal.opportunity, "deletes its proposals")
    if proposal.status != ProposalStatus.DRAFT or proposal.submitted_at is not None:
        raise Conflict(
            "Only a draft that was never submitted can be deleted.", code="proposal_not_draft"
        )
    audit_record(
        actor=actor,
        action="proposal.deleted",
        target=proposal.opportunity,
        data={"proposal": proposal.pk, "number": proposal.number},
    )
    proposal.delete()


@transaction.atomic
def proposal_comment_add(
    *, actor: User, proposal_id: Any, body: str, section_id: Any = None
) -> ProposalComment:
    """Comment on a section (or on the proposal as a whole): the owner or a reviewer.

    Refuses: outside scope; anyone else who may see it (PermissionDenied); an empty or
    too long comment; a section of another proposal."""
    proposal = _lock(actor, proposal_id)
    opp = proposal.opportunity
    if actor.pk != opp.owner_id and not access.manages(actor, opp.owner):
        raise PermissionDenied("Only the deal's owner and their managers comment here.")
    errors: dict[str, list[str]] = {}
    text = clean_text(errors, "body", body, required=True, max_length=MAX_COMMENT)
    section = None
    if section_id not in (None, ""):
        try:
            section = proposal.sections.filter(pk=int(section_id)).first()
        except (TypeError, ValueError):
            section = None
        if section is None:
            errors.setdefault("section", []).append("No such section in this proposal.")
    if errors:
        raise ValidationFailed(details=errors)
    comment = ProposalComment.objects.create(
        proposal=proposal, section=section, author=actor, body=text
    )
    audit_record(
        actor=actor,
        action="proposal.comment_added",
        target=proposal,
        data={"comment": comment.pk, "section": section.pk if section else None},
    )
    if actor.pk != opp.owner_id:
        notification_send(
            recipient=opp.owner,
            dedupe_key=f"proposal:{proposal.pk}:comment:{comment.pk}",
            title=f"Comment on {proposal.title}",
            body=text[:500],
            link=_link(proposal),
        )
    return comment
