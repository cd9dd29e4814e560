"""Proposals: versioned per opportunity, reviewed by the owner's manager, frozen when sent.

The workflow lives in proposals/services.py; the executive-summary checks in
proposals/rules.py. These models only hold state and its invariants.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from pipeline.models import Opportunity


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    SENT = "sent", "Sent"


# A rep may edit a proposal only in these states; the others belong to the reviewer or,
# once sent, to history (a change then means a new version).
EDITABLE_STATUSES = (ProposalStatus.DRAFT, ProposalStatus.CHANGES_REQUESTED)
# A deal has at most one proposal on its way to the customer at a time.
IN_PROGRESS_STATUSES = (*EDITABLE_STATUSES, ProposalStatus.IN_REVIEW)


class Proposal(models.Model):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="proposals")
    number = models.PositiveIntegerField(help_text="Version of the proposal for its deal: 1, 2, …")
    title = models.CharField(max_length=200)
    executive_summary = models.TextField(blank=True, default="")
    total_value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(max_length=3, default="EUR")
    valid_until = models.DateField()
    status = models.CharField(
        max_length=20, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    # Optimistic locking for the API (ETag / If-Match) and the edit form.
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["opportunity_id", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "number"], name="proposal_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(total_value__gte=0), name="proposal_total_value_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ProposalStatus]),
                name="proposal_status_valid",
            ),
            # Sent means approved first, and the moments are kept.
            models.CheckConstraint(
                condition=~Q(status=ProposalStatus.SENT)
                | (Q(sent_at__isnull=False) & Q(approved_at__isnull=False)),
                name="proposal_sent_was_approved",
            ),
            models.CheckConstraint(
                condition=~Q(status=ProposalStatus.APPROVED) | Q(approved_at__isnull=False),
                name="proposal_approved_has_moment",
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.title} (v{self.number})"

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class ProposalSection(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="sections")
    order = models.PositiveSmallIntegerField()
    heading = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["proposal_id", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "order"], name="proposal_section_order_unique"
            )
        ]

    def __str__(self) -> str:
        return self.heading


class ReviewChecklistItem(models.Model):
    """What a reviewer confirms before approving ("Pricing approved", …) — admin-edited."""

    text = models.CharField(max_length=200, unique=True)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.text


class ReviewDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


class ProposalReview(models.Model):
    """One reviewer decision; a proposal reviewed twice keeps both."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=20, choices=ReviewDecision.choices)
    comment = models.TextField(blank=True, default="")
    # The checklist as the reviewer saw it: [{"item": text, "checked": bool}, …].
    checklist = models.JSONField(default=list)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["proposal_id", "decided_at", "id"]
        constraints = [
            # Asking for changes needs words; approving may be silent.
            models.CheckConstraint(
                condition=~Q(decision=ReviewDecision.CHANGES_REQUESTED) | ~Q(comment=""),
                name="proposal_review_changes_need_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} on {self.proposal_id}"


class ProposalComment(models.Model):
    """A reviewer's (or the rep's) comment on a section, or on the summary (no section)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="comments")
    section = models.ForeignKey(
        ProposalSection, null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal_id", "created_at", "id"]

    def __str__(self) -> str:
        return self.body[:40]
