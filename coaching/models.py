"""Coaching: the skills framework (admin-edited), skill assessments of reps, opportunity
reviews (coaching about one deal), 1:1 coaching sessions, their action items, and the
cadence flags that say when a 1:1 or an action item is overdue.

Who may do what lives in coaching/services/; reads in coaching/selectors.py; the
cadence refresh (set-based SQL) in coaching/cadence.py. These models only hold state and
its invariants.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from coaching import flag_providers

LEVELS = (1, 2, 3, 4, 5)
# Levels 4 and 5 say "does it well without help": a claim that needs what was seen.
EVIDENCE_FROM_LEVEL = 4


class Skill(models.Model):
    """A skill of the framework, with what each level looks like and the manager's
    coaching guide for it."""

    name = models.CharField(max_length=80, unique=True)
    order = models.PositiveSmallIntegerField(default=0)
    description = models.TextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    level_1 = models.TextField("Level 1", help_text="What level 1 (beginner) looks like.")
    level_2 = models.TextField("Level 2")
    level_3 = models.TextField("Level 3", help_text="Level 3: does it reliably, unaided.")
    level_4 = models.TextField("Level 4")
    level_5 = models.TextField("Level 5", help_text="Level 5: could teach it to others.")
    # The coaching guide, shown to the manager while coaching: one point per line.
    questions = models.TextField("Questions to ask", blank=True, default="")
    good_looks_like = models.TextField("What good looks like", blank=True, default="")
    common_mistakes = models.TextField("Common mistakes", blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def descriptor(self, level: int) -> str:
        return getattr(self, f"level_{level}") if level in LEVELS else ""

    @property
    def levels(self) -> list[tuple[int, str]]:
        return [(n, self.descriptor(n)) for n in LEVELS]

    @staticmethod
    def _lines(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip()]

    @property
    def question_list(self) -> list[str]:
        return self._lines(self.questions)

    @property
    def good_list(self) -> list[str]:
        return self._lines(self.good_looks_like)

    @property
    def mistake_list(self) -> list[str]:
        return self._lines(self.common_mistakes)


class SkillAssessment(models.Model):
    """One assessment of one rep on one skill; a later one never rewrites an earlier
    one (the trend compares them)."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="skill_assessments"
    )
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="assessments")
    level = models.PositiveSmallIntegerField()
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assessed_on = models.DateField()
    evidence = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-assessed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level__gte=1) & Q(level__lte=5), name="skill_assessment_level_1_5"
            ),
            models.CheckConstraint(
                condition=Q(level__lt=EVIDENCE_FROM_LEVEL) | ~Q(evidence=""),
                name="skill_assessment_high_level_has_evidence",
            ),
            models.CheckConstraint(
                condition=~Q(rep=F("assessor")), name="skill_assessment_not_self"
            ),
        ]
        indexes = [
            models.Index(
                F("rep"), F("skill"), F("assessed_on").desc(), F("id").desc(),
                name="skill_assessment_latest",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.rep} · {self.skill}: {self.level}"


# --- opportunity reviews ---------------------------------------------------------------
# A review is a coaching conversation about one deal: its agenda is the deal's gaps and it
# ends in findings, coaching points and action items. It deliberately has no forecast
# fields (no amount, category or commit call): numbers belong to forecast meetings.


class ReviewStatus(models.TextChoices):
    OPEN = "open", "In progress"
    COMPLETED = "completed", "Completed"


class OpportunityReview(models.Model):
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="coaching_reviews"
    )
    # The deal's owner when the review started: whose coaching it is, even if the deal
    # changes hands later.
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_received"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_held"
    )
    status = models.CharField(
        max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(rep=F("manager")), name="review_not_of_oneself"),
            models.CheckConstraint(
                condition=(Q(status="completed") & Q(completed_at__isnull=False))
                | (Q(status="open") & Q(completed_at__isnull=True)),
                name="review_completed_at_iff_completed",
            ),
            models.UniqueConstraint(
                fields=["opportunity"],
                condition=Q(status="open"),
                name="one_open_review_per_opportunity",
            ),
        ]
        indexes = [
            models.Index(F("opportunity"), F("started_at").desc(), name="review_latest"),
            models.Index(F("rep"), F("started_at").desc(), name="review_of_rep"),
        ]

    def __str__(self) -> str:
        return f"Review of {self.opportunity_id} ({self.started_at:%d %b %Y})"

    @property
    def is_open(self) -> bool:
        return self.status == ReviewStatus.OPEN


class AgendaSource(models.TextChoices):
    MILESTONE = "milestone", "Unmet milestone"
    QUALIFICATION = "qualification", "Weak qualification"
    FLAG = "flag", "Open flag"
    EXECUTIVE_SUMMARY = "executive_summary", "Executive summary"
    CLOSE_DATE = "close_date", "Close date pushed"
    AMOUNT = "amount", "Amount changed"
    MANAGER = "manager", "Added by the manager"


class ReviewAgendaItem(models.Model):
    """One point to discuss: generated from the deal's gaps when the review starts
    (coaching.rules.review_agenda), or added by the manager."""

    review = models.ForeignKey(
        OpportunityReview, on_delete=models.CASCADE, related_name="agenda_items"
    )
    source = models.CharField(max_length=20, choices=AgendaSource.choices)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True, default="")
    order = models.PositiveSmallIntegerField(default=0)
    discussed = models.BooleanField(default=False)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source="manager") | Q(added_by__isnull=False),
                name="agenda_item_added_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ReviewFinding(models.Model):
    """What the review found about the deal (its strategy, its real state)."""

    review = models.ForeignKey(OpportunityReview, on_delete=models.CASCADE, related_name="findings")
    text = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="review_finding_not_empty"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class CoachingPoint(models.Model):
    """What the rep should do differently, tied to a skill of the framework so coaching
    adds up per skill across deals."""

    review = models.ForeignKey(
        OpportunityReview, on_delete=models.CASCADE, related_name="coaching_points"
    )
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="coaching_points")
    text = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="coaching_point_not_empty"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


# --- 1:1 coaching sessions -------------------------------------------------------------


class CoachingSession(models.Model):
    """A 1:1 between a manager and a rep on one or two focus skills. Two FKs rather than a
    many-to-many so "one or two, and not the same twice" is a database constraint."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions_held"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sessions_received"
    )
    held_on = models.DateField()
    focus_skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+")
    second_focus_skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True, default="")
    practice_assignment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-held_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(rep=F("manager")), name="session_not_with_oneself"),
            models.CheckConstraint(
                condition=~Q(second_focus_skill=F("focus_skill")),
                name="session_two_different_focus_skills",
            ),
        ]
        indexes = [
            models.Index(F("rep"), F("held_on").desc(), F("id").desc(), name="session_latest"),
        ]

    def __str__(self) -> str:
        return f"1:1 {self.rep_id} on {self.held_on}"

    @property
    def focus_skills(self) -> list[Skill]:
        return [s for s in (self.focus_skill, self.second_focus_skill) if s is not None]


# --- action items (of a review or of a 1:1) --------------------------------------------


class ActionItem(models.Model):
    review = models.ForeignKey(
        OpportunityReview,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="action_items",
    )
    session = models.ForeignKey(
        CoachingSession,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="action_items",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items"
    )
    title = models.CharField(max_length=300)
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(review__isnull=False) & Q(session__isnull=True))
                | (Q(review__isnull=True) & Q(session__isnull=False)),
                name="action_item_of_a_review_or_a_session",
            ),
            models.CheckConstraint(condition=~Q(title=""), name="action_item_has_title"),
        ]
        indexes = [
            # The cadence refresh and "my open action items" read open items by due date.
            models.Index(
                fields=["due_on", "owner"],
                condition=Q(done_at__isnull=True),
                name="action_item_open_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


# --- cadence flags ---------------------------------------------------------------------


class CoachingFlagKind(models.TextChoices):
    ONE_ON_ONE_OVERDUE = "one_on_one_overdue", "1:1 overdue"
    ACTION_ITEM_OVERDUE = "action_item_overdue", "Action item overdue"


def flag_kind_choices() -> list[tuple[str, str]]:
    """Coaching's own flag kinds, then those other apps registered (flag_providers)."""
    return [
        *CoachingFlagKind.choices,
        *((p.kind, p.label) for p in flag_providers.providers()),
    ]


class CoachingFlag(models.Model):
    """Raised and cleared by coaching.cadence.cadence_refresh (set-based SQL); never by
    hand. An overdue 1:1 is the manager's flag (about a rep); an overdue action item is
    its owner's. A registered provider's flag (coaching.flag_providers: an overdue
    onboarding task) names its subject by `subject_id`, the person it is about by `rep`,
    and where to act by `link`."""

    kind = models.CharField(max_length=24, choices=flag_kind_choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coaching_flags"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    action_item = models.ForeignKey(
        ActionItem, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    # A provider's own id of the subject (no foreign key: coaching does not know it).
    subject_id = models.BigIntegerField(null=True, blank=True)
    link = models.CharField(max_length=200, blank=True, default="")
    explanation = models.CharField(max_length=300)
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="one_on_one_overdue")
                    & Q(rep__isnull=False)
                    & Q(action_item__isnull=True)
                    & Q(subject_id__isnull=True)
                )
                | (
                    Q(kind="action_item_overdue")
                    & Q(action_item__isnull=False)
                    & Q(rep__isnull=True)
                    & Q(subject_id__isnull=True)
                )
                | (
                    ~Q(kind__in=["one_on_one_overdue", "action_item_overdue"])
                    & Q(subject_id__isnull=False)
                    & Q(action_item__isnull=True)
                ),
                name="coaching_flag_subject_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["kind", "subject_id"],
                condition=Q(cleared_at__isnull=True, subject_id__isnull=False),
                name="one_open_flag_per_provided_subject",
            ),
            models.UniqueConstraint(
                fields=["rep"],
                condition=Q(cleared_at__isnull=True, kind="one_on_one_overdue"),
                name="one_open_one_on_one_flag_per_rep",
            ),
            models.UniqueConstraint(
                fields=["action_item"],
                condition=Q(cleared_at__isnull=True, kind="action_item_overdue"),
                name="one_open_flag_per_action_item",
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient"],
                condition=Q(cleared_at__isnull=True),
                name="coaching_flag_open_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.explanation}"

    @property
    def kind_label(self) -> str:
        return dict(flag_kind_choices()).get(self.kind, self.kind)
