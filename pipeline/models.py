"""Pipelines, stages, milestones, accounts and opportunities — fields and constraints only.

Workflows (advancing, closing, history) live in pipeline/services/.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Lower
from django.utils import timezone


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
    framework = models.ForeignKey(
        "QualificationFramework",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pipelines",
        help_text="The qualification framework deals in this pipeline are assessed with.",
    )

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
    # Blank: the organisation default (settings.QUALIFICATION_VALIDITY_DAYS).
    qualification_validity_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How long a qualification stays valid in this stage."
    )
    # Blank: the organisation default (settings.NO_ACTIVITY_DAYS).
    no_activity_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days without customer activity before a deal is flagged."
    )
    # The version of the stage's exit rules (required milestones, qualification minimums):
    # each change to them once the pipeline holds deals is a StageRuleChange with the new
    # version — an experiment the insights app measures.
    rules_version = models.PositiveIntegerField(default=1)

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
    QUALIFICATION = "qualification", "A valid qualification meets the minimum levels"
    PROPOSAL_APPROVED = "proposal_approved", "A proposal is approved by a manager"


class MilestoneCompleter(models.TextChoices):
    """Who may tick a milestone the system does not check (an automatic one: nobody)."""

    OWNER = "owner", "The deal's owner (or their manager)"
    MANAGER = "manager", "The owner's manager only"


class Milestone(models.Model):
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=MilestoneKind.choices)
    required = models.BooleanField(default=True)
    requires_evidence = models.BooleanField(default=False)
    auto_check = models.CharField(max_length=32, choices=AutoCheck.choices, blank=True, default="")
    # A milestone that states someone else's act ("terms approved internally") is ticked by
    # that person only; an automatic one by nobody (it stays "owner", the default).
    completable_by = models.CharField(
        max_length=10, choices=MilestoneCompleter.choices, default=MilestoneCompleter.OWNER
    )
    # For auto_check="qualification": the minimum weighted score, in %; element minimums
    # are MilestoneElementLevel rows.
    min_qualification_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["stage_id", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_qualification_score__isnull=True)
                | Q(min_qualification_score__lte=100),
                name="milestone_min_score_le_100",
            ),
            models.CheckConstraint(
                condition=Q(completable_by__in=["owner", "manager"])
                & (Q(auto_check="") | Q(completable_by="owner")),
                name="milestone_completable_by_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Account(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    country = models.CharField(max_length=100, blank=True, default="")
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


class Product(models.Model):
    """What a deal sells (optional on an opportunity): results break down by it."""

    name = models.CharField(max_length=200)
    family = models.CharField(max_length=100, blank=True, default="")
    list_price = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(max_length=3, blank=True, default="")
    is_active = models.BooleanField(default=True)
    source = models.CharField(max_length=40, blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="product_name_unique_ci"),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="product_source_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(list_price__isnull=True) | Q(list_price__gte=0),
                name="product_list_price_gte_0",
            ),
        ]

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
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities"
    )
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
    # The newest qualification by (assessed_at, id), kept by database triggers (migration
    # 0008) whatever the path: lists show its score and the flag refresh reads it through
    # one join instead of searching the history.
    latest_qualification = models.ForeignKey(
        "Qualification", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    # When it came in through an import of a CRM export (created_at is then the CRM's
    # created date): it reached its stage without the gate, and its stage history before
    # the import is unknown.
    imported_at = models.DateTimeField(null=True, blank=True)
    # Fields an import filled by a rule because the export left them blank (close_date,
    # account, amount): the deal is flagged until its owner sets them.
    import_gaps = ArrayField(
        models.CharField(max_length=20),
        default=list,
        blank=True,
        # Also in the database: raw INSERTs (benchmarks' seeders, SQL scripts) need no value.
        db_default=Value([], output_field=ArrayField(models.CharField(max_length=20))),
    )
    created_at = models.DateTimeField(default=timezone.now)
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
            # Closed deals by when they closed, with what the forecast sums: closed won of
            # a period, accuracy's actuals and week-over-week's wins and losses are read
            # from the index alone.
            models.Index(
                fields=["closed_at"],
                include=["owner", "status", "amount", "currency", "close_date"],
                condition=Q(closed_at__isnull=False),
                name="opportunity_closed_at_idx",
            ),
            # The board's counts and totals per stage and currency of the open deals a user
            # sees (owners resolved first), read from the index alone.
            models.Index(
                fields=["pipeline", "owner", "stage", "currency"],
                include=["amount"],
                condition=Q(status="open"),
                name="opportunity_open_board_idx",
            ),
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


class StageRuleChange(models.Model):
    """Append-only log of changes to a stage's exit rules — which milestones are required,
    the qualification minimums — made once its pipeline holds deals (setting up an unused
    pipeline is not an experiment). Written by the milestone services whatever the path;
    `changes` lists each difference ({"milestone", "title", "what", "before", "after"})."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="rule_changes")
    version = models.PositiveIntegerField()
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=300)
    changes = models.JSONField(default=list)
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "version"], name="stage_rule_change_version")
        ]
        indexes = [models.Index(fields=["changed_at"], name="stage_rule_change_at_idx")]

    def __str__(self) -> str:
        return f"{self.stage} v{self.version}: {self.summary}"


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
    # Unbounded: an override across several stages lists every milestone it skipped.
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["opportunity", "field", "changed_at"]),
            # Stage history in each deal's order, with what its readers need (the stage
            # moved from and to, overrides): the insights' stage flow, exits and experiments
            # read it from the index alone, already ordered for their window functions —
            # about 200 MB at a million deals instead of the 1 GB heap (bench/README.md).
            models.Index(
                fields=["opportunity", "changed_at", "id"],
                include=["old_value", "new_value", "override_reason"],
                condition=Q(field="stage"),
                name="opportunitychange_stage_idx",
            ),
        ]

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


# --- qualification ----------------------------------------------------------------


class QualificationFramework(models.Model):
    """MEDDICC, BANT, … — data that admins edit."""

    name = models.CharField(max_length=60, unique=True)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class QualificationElement(models.Model):
    framework = models.ForeignKey(
        QualificationFramework, on_delete=models.CASCADE, related_name="elements"
    )
    name = models.CharField(max_length=80)
    guidance = models.TextField(blank=True, default="", help_text='What "validated" looks like.')
    weight = models.PositiveSmallIntegerField(default=1)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["framework_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "name"], name="element_name_unique"),
            models.CheckConstraint(
                condition=Q(weight__gte=1) & Q(weight__lte=100), name="element_weight_1_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MilestoneElementLevel(models.Model):
    """A named element's minimum level for an automatic qualification milestone."""

    milestone = models.ForeignKey(
        Milestone, on_delete=models.CASCADE, related_name="element_levels"
    )
    element = models.ForeignKey(QualificationElement, on_delete=models.CASCADE, related_name="+")
    min_level = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["milestone_id", "element__order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["milestone", "element"], name="one_level_per_element"),
            models.CheckConstraint(
                condition=Q(min_level__gte=1) & Q(min_level__lte=3), name="element_level_1_3"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.element} ≥ {self.min_level}"


class EvidenceSource(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "Email"
    DOCUMENT = "document", "Document"


class Qualification(models.Model):
    """One assessment of an opportunity; kept as history, the latest one counts."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="qualifications"
    )
    framework = models.ForeignKey(
        QualificationFramework, on_delete=models.PROTECT, related_name="+"
    )
    score_pct = models.DecimalField(max_digits=5, decimal_places=2)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    assessed_at = models.DateTimeField()
    note = models.TextField(blank=True, default="")
    # Set when a change to the deal voids it early (close date pushed, amount, stage back).
    invalidated_at = models.DateTimeField(null=True, blank=True)
    invalidated_reason = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["-assessed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score_pct__gte=0) & Q(score_pct__lte=100),
                name="qualification_pct_0_100",
            ),
        ]
        indexes = [models.Index(fields=["opportunity", "-assessed_at", "-id"])]

    def __str__(self) -> str:
        return f"{self.score_pct} % on {self.opportunity_id}"


class QualificationScore(models.Model):
    qualification = models.ForeignKey(
        Qualification, on_delete=models.CASCADE, related_name="scores"
    )
    element = models.ForeignKey(QualificationElement, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField()
    evidence = models.TextField(blank=True, default="")
    source = models.CharField(max_length=10, choices=EvidenceSource.choices, blank=True, default="")

    class Meta:
        ordering = ["qualification_id", "element__order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["qualification", "element"], name="one_score_per_element"
            ),
            models.CheckConstraint(condition=Q(score__lte=3), name="score_0_3"),
            models.CheckConstraint(
                condition=Q(score__lt=2) | (~Q(evidence="") & ~Q(source="")),
                name="score_ge_2_has_evidence_and_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.element_id}: {self.score}"


# --- attention flags ----------------------------------------------------------------


class FlagKind(models.TextChoices):
    REQUALIFY_DUE = "requalify_due", "Re-qualification due"
    STUCK_IN_STAGE = "stuck_in_stage", "Stuck in stage"
    PAST_CLOSE_DATE = "past_close_date", "Close date passed"
    NO_ACTIVITY = "no_activity", "No customer activity"
    NEXT_STEP_OVERDUE = "next_step_overdue", "Next step overdue"
    # An imported deal with fields filled by a rule or milestones it skipped the gate for.
    IMPORT_INCOMPLETE = "import_incomplete", "Complete the imported deal"


class FlagSeverity(models.TextChoices):
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class OpportunityFlag(models.Model):
    """Raised and cleared by pipeline.flags.flags_refresh (set-based SQL); never by hand."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=24, choices=FlagKind.choices)
    severity = models.CharField(max_length=10, choices=FlagSeverity.choices)
    explanation = models.CharField(max_length=300)
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "kind"],
                condition=Q(cleared_at__isnull=True),
                name="one_open_flag_per_kind",
            ),
        ]
        # No index of its own on (kind, …): the partial unique index above serves every
        # lookup of open flags (by deal, and the attention list joins deals to it), and
        # each extra index costs ~1 s per million flags raised (bench/README.md). The
        # foreign key keeps its index: cascading deletes and a deal's cleared flags.

    def __str__(self) -> str:
        return f"{self.kind} on {self.opportunity_id}"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None


class FlagSchedule(models.Model):
    """When the flag refresh must look at a deal again — one row per opportunity.

    Written by the database and by pipeline.flags only: a trigger adds the row with
    each new opportunity, and triggers set `due_at` to -infinity (look now) and bump
    `version` whenever anything a flag rule reads changes — the deal's dates, stage or
    status, its qualifications, its stage's limits, its pipeline's framework — whatever
    the path (services, import, admin, a raw UPDATE); for an imported deal also what it
    was imported without — its `import_gaps`, its milestone completions, the milestones
    and stage order of its pipeline (migration 0014). The refresh sets `due_at` to the
    next moment a threshold is reached (rules.flags_change_at), NULL for a closed
    deal. So the hourly run reads only the due rows, and a run that finds a row's
    version changed since its snapshot leaves that deal alone (see pipeline/flags.py).
    No index on due_at: the hourly run reads this narrow table whole (tens of ms at a
    million deals), and without one the refresh's updates stay HOT (fillfactor 50,
    migration 0008) — cheap, no index writes.
    """

    opportunity = models.OneToOneField(
        Opportunity, on_delete=models.CASCADE, primary_key=True, related_name="flag_schedule"
    )
    # -infinity: look now; NULL: nothing will change by itself (a closed deal).
    due_at = models.DateTimeField(null=True, blank=True)
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"flags of {self.opportunity_id} due {self.due_at}"


class FlagRefreshState(models.Model):
    """One row (id 1): what the last global refresh ran with. When the rules' settings
    (timezone, default limits, pipeline.flags.RULES_VERSION) differ from the last run's,
    the next run re-checks every deal instead of the due ones."""

    rules_fingerprint = models.CharField(max_length=64)
    last_run_at = models.DateTimeField()
    last_full_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"flags refreshed at {self.last_run_at}"
