"""Pipelines, stages, milestones, accounts and opportunities — fields and constraints only.

Workflows (advancing, closing, history) live in pipeline/services.py.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"
    CLOSED = "closed", "Closed"
    OMITTED = "omitted", "Omitted"


class Pipeline(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=80)
    order = models.PositiveSmallIntegerField()
    probability = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(100)], help_text="Default win probability, %"
    )
    forecast_category = models.CharField(
        max_length=16, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    guidance = models.TextField(blank=True, help_text="What you should know and do here.")
    expected_days = models.PositiveIntegerField(null=True, blank=True)
    warn_days = models.PositiveIntegerField(null=True, blank=True)
    rot_days = models.PositiveIntegerField(null=True, blank=True)
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)

    class Meta:
        ordering = ["pipeline_id", "order"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "order"], name="stage_order_unique"),
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_unique"),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="stage_probability_le_100"
            ),
            models.CheckConstraint(
                condition=~(Q(is_won=True) & Q(is_lost=True)), name="stage_not_won_and_lost"
            ),
            models.CheckConstraint(
                condition=Q(warn_days__isnull=True)
                | Q(rot_days__isnull=True)
                | Q(warn_days__lte=F("rot_days")),
                name="stage_warn_before_rot",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class MilestoneKind(models.TextChoices):
    SELLER_ACTION = "seller_action", "Seller action"
    BUYER_COMMITMENT = "buyer_commitment", "Buyer commitment"


class AutoCheck(models.TextChoices):
    """Milestones the system checks itself instead of a rep ticking them."""

    NONE = "", "Ticked by the seller"
    BUSINESS_ISSUE_MAPPED = "business_issue_mapped", "A business issue is mapped to our value"


class Milestone(models.Model):
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=MilestoneKind.choices)
    required = models.BooleanField(default=True)
    requires_evidence = models.BooleanField(default=False)
    auto_check = models.CharField(max_length=32, choices=AutoCheck.choices, blank=True, default="")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["stage_id", "order", "id"]

    def __str__(self) -> str:
        return self.title


class Account(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=40, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="account_source_external_id_unique",
            ),
        ]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name


class OpportunityStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Opportunity(models.Model):
    name = models.CharField(max_length=200)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="opportunities")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities"
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities")
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(max_length=3, default="EUR")
    close_date = models.DateField()
    forecast_category = models.CharField(max_length=16, choices=ForecastCategory.choices)
    # Non-empty when the rep chose a category other than the stage's default.
    forecast_category_override_reason = models.TextField(blank=True, default="")
    next_step = models.CharField(max_length=300, blank=True, default="")
    next_step_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=8, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN
    )
    loss_reason = models.TextField(blank=True, default="")
    source = models.CharField(max_length=40, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")
    stage_entered_at = models.DateTimeField()
    last_activity_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["close_date", "id"]
        verbose_name_plural = "opportunities"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_gte_0"),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="opportunity_source_external_id_unique",
            ),
            models.CheckConstraint(
                condition=~Q(status="lost") | ~Q(loss_reason=""),
                name="opportunity_lost_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status__in=["won", "lost"], closed_at__isnull=False),
                name="opportunity_closed_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "close_date"]),
            models.Index(fields=["stage", "close_date", "id"]),
            models.Index(fields=["status", "close_date", "id"]),
            models.Index(fields=["close_date", "id"]),
        ]

    def __str__(self) -> str:
        return self.name


class MilestoneCompletion(models.Model):
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="milestone_completions"
    )
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="completions")
    evidence = models.TextField(blank=True, default="")
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    completed_at = models.DateTimeField()

    class Meta:
        ordering = ["completed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "milestone"], name="one_completion_per_milestone"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.milestone_id} on {self.opportunity_id}"


class BusinessIssue(models.Model):
    """A business issue of the customer, mapped to the value we offer against it."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="business_issues"
    )
    issue = models.CharField(max_length=300)
    impact = models.TextField(blank=True, default="")
    our_value = models.TextField(blank=True, default="")
    quantified_value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantified_value__isnull=True) | Q(quantified_value__gte=0),
                name="business_issue_value_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return self.issue


class ChangeField(models.TextChoices):
    STAGE = "stage", "Stage"
    AMOUNT = "amount", "Amount"
    CLOSE_DATE = "close_date", "Close date"
    FORECAST_CATEGORY = "forecast_category", "Forecast category"
    STATUS = "status", "Status"
    OWNER = "owner", "Owner"


class OpportunityChange(models.Model):
    """Append-only history. A database trigger refuses UPDATE (see migration 0003)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=24, choices=ChangeField.choices)
    old_value = models.CharField(max_length=200, blank=True, default="")
    new_value = models.CharField(max_length=200, blank=True, default="")
    # Human-readable labels at the time of the change (stage names etc.).
    old_display = models.CharField(max_length=200, blank=True, default="")
    new_display = models.CharField(max_length=200, blank=True, default="")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    changed_at = models.DateTimeField()
    override_reason = models.TextField(blank=True, default="")
    note = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["opportunity", "field", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_display} → {self.new_display}"


class ActivityKind(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "Email"
    NOTE = "note", "Note"


# Kinds that are contact with the customer; a note is not, so it does not reset staleness.
CUSTOMER_ACTIVITY_KINDS = (ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL)


class Activity(models.Model):
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(max_length=10, choices=ActivityKind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    occurred_at = models.DateTimeField()
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["opportunity", "-occurred_at"])]

    def __str__(self) -> str:
        return self.subject
