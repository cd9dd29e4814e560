"""Structured hiring: positions with a scorecard template of attributes, candidates moving
through stages, interviews with focus attributes, and each interviewer's scorecard —
every focus attribute rated on a 5-point scale with evidence, and an overall
recommendation. Workflows live in hiring.services; who sees what in hiring.selectors."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from coaching.models import Skill
from salesops.models import Team


class AttributeCategory(models.TextChoices):
    APTITUDE = "aptitude", "Aptitude"
    ATTITUDE = "attitude", "Attitude"
    CULTURE_FIT = "culture_fit", "Culture fit"
    SELLING_SKILL = "selling_skill", "Selling skill"
    TRACK_RECORD = "track_record", "Track record"


class ScorecardTemplate(models.Model):
    """The attributes a role is hired on, reused by its positions."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateAttribute(models.Model):
    """One attribute of a template: what to look for (guidance) and how to ask about it
    (suggested questions, one per line). A selling-skill attribute may name the coaching
    skill it is, so a new hire's weakest ones become their first coaching focus."""

    template = models.ForeignKey(
        ScorecardTemplate, on_delete=models.CASCADE, related_name="attributes"
    )
    category = models.CharField(max_length=16, choices=AttributeCategory.choices)
    name = models.CharField(max_length=120)
    guidance = models.TextField(blank=True, default="")
    questions = models.TextField(blank=True, default="")
    skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["template_id", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "name"], name="template_attribute_unique_name"
            ),
            models.CheckConstraint(
                condition=Q(skill__isnull=True) | Q(category="selling_skill"),
                name="template_attribute_skill_only_for_selling_skill",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def question_list(self) -> list[str]:
        return [line.strip() for line in self.questions.splitlines() if line.strip()]


class PositionStatus(models.TextChoices):
    OPEN = "open", "Open"
    ON_HOLD = "on_hold", "On hold"
    FILLED = "filled", "Filled"
    CLOSED = "closed", "Closed"


class Position(models.Model):
    title = models.CharField(max_length=120)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    hiring_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="positions_managed"
    )
    template = models.ForeignKey(
        ScorecardTemplate, on_delete=models.PROTECT, related_name="positions"
    )
    status = models.CharField(
        max_length=10, choices=PositionStatus.choices, default=PositionStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "title", "id"]

    def __str__(self) -> str:
        return self.title


class CandidateStage(models.TextChoices):
    APPLIED = "applied", "Applied"
    SCREEN = "screen", "Screen"
    INTERVIEWS = "interviews", "Interviews"
    OFFER = "offer", "Offer"
    HIRED = "hired", "Hired"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Stages a candidate leaves only by a decision (hired, rejected, withdrawn).
FINAL_STAGES = (CandidateStage.HIRED, CandidateStage.REJECTED, CandidateStage.WITHDRAWN)


class Candidate(models.Model):
    """A person applying for a position. Personal data: seen only by the hiring manager,
    recruiters and the candidate's own interviewers (hiring.selectors), every view
    audited."""

    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="candidates")
    name = models.CharField(max_length=150)
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    source = models.CharField(max_length=80, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    cv_url = models.URLField("CV link", max_length=500, blank=True, default="")
    stage = models.CharField(
        max_length=10, choices=CandidateStage.choices, default=CandidateStage.APPLIED
    )
    # Why the candidate was rejected or withdrew, or why they were hired.
    stage_reason = models.TextField(blank=True, default="")
    stage_changed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The account hiring created for them.
    hired_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hired_as",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    # When their personal data was removed (retention period or a request); the stage and
    # the ratings stay, for the statistics.
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-stage_changed_at", "-id"]
        indexes = [
            models.Index(
                fields=["stage_changed_at"],
                condition=Q(stage__in=["rejected", "withdrawn"], anonymised_at__isnull=True),
                name="candidate_to_anonymise_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(stage__in=["rejected", "withdrawn"]) | ~Q(stage_reason=""),
                name="candidate_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_final(self) -> bool:
        return self.stage in FINAL_STAGES


class InterviewKind(models.TextChoices):
    SCREEN = "screen", "Phone screen"
    HIRING_MANAGER = "hiring_manager", "Hiring manager interview"
    ROLE_PLAY = "role_play", "Role play (discovery call)"
    PANEL = "panel", "Panel"
    CULTURE = "culture", "Culture and values"


class Interview(models.Model):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="interviews")
    interviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="interviews_given"
    )
    kind = models.CharField(max_length=16, choices=InterviewKind.choices)
    scheduled_at = models.DateTimeField()
    focus = models.ManyToManyField(TemplateAttribute, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scheduled_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} with {self.candidate}"


class Rating(models.IntegerChoices):
    DEFINITELY_NOT = 1, "Definitely not"
    NO = 2, "No"
    MIXED = 3, "Mixed"
    YES = 4, "Yes"
    STRONG_YES = 5, "Strong yes"


class Recommendation(models.IntegerChoices):
    """The overall call: no "Mixed" — an interviewer has to lean one way."""

    DEFINITELY_NOT = 1, "Definitely not"
    NO = 2, "No"
    YES = 4, "Yes"
    STRONG_YES = 5, "Strong yes"


class Scorecard(models.Model):
    """One interviewer's scorecard for one interview: a draft until submitted, then
    frozen. Others see it only once they have submitted their own (hiring.selectors)."""

    interview = models.OneToOneField(Interview, on_delete=models.CASCADE, related_name="scorecard")
    recommendation = models.PositiveSmallIntegerField(
        choices=Recommendation.choices, null=True, blank=True
    )
    summary = models.TextField(blank=True, default="")
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(submitted_at__isnull=True) | Q(recommendation__isnull=False),
                name="scorecard_submitted_has_recommendation",
            ),
            models.CheckConstraint(
                condition=Q(recommendation__isnull=True) | Q(recommendation__in=[1, 2, 4, 5]),
                name="scorecard_recommendation_on_scale",
            ),
        ]

    def __str__(self) -> str:
        return f"Scorecard for {self.interview}"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None


class AttributeRating(models.Model):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="ratings")
    attribute = models.ForeignKey(TemplateAttribute, on_delete=models.PROTECT, related_name="+")
    rating = models.PositiveSmallIntegerField(choices=Rating.choices)
    evidence = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["attribute__order", "attribute_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "attribute"], name="rating_one_per_attribute"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="rating_on_scale"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attribute}: {self.get_rating_display()}"


# --- onboarding ---------------------------------------------------------------------------


class OnboardingTaskKind(models.TextChoices):
    PRODUCT = "product", "Product training"
    HOW_WE_SELL = "how_we_sell", "How we sell here"
    SHADOW = "shadow", "Shadowing"
    COACHING = "coaching", "Coaching"
    OTHER = "other", "Other"


class OnboardingTemplate(models.Model):
    """A 30/60/90-day plan for new hires: tasks due at day offsets from the start."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, default="")
    # The one a new hire's plan is copied from; with none, the first by name.
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="onboarding_template_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OnboardingTemplateTask(models.Model):
    template = models.ForeignKey(OnboardingTemplate, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=12, choices=OnboardingTaskKind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    due_day = models.PositiveSmallIntegerField(help_text="Days after the start date.")
    # Done when the manager signs it off (a shadowed review), not when the rep ticks it.
    manager_signs_off = models.BooleanField(default=False)

    class Meta:
        ordering = ["template_id", "due_day", "id"]

    def __str__(self) -> str:
        return self.title


class OnboardingPlan(models.Model):
    """A new hire's plan, copied from a template when they are hired."""

    rep = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="onboarding_plan"
    )
    template = models.ForeignKey(
        OnboardingTemplate, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_on = models.DateField()
    # The weakest selling skills on their scorecards: what their first 1:1s focus on.
    focus_skills = models.ManyToManyField(Skill, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Onboarding of {self.rep}"


class OnboardingTask(models.Model):
    plan = models.ForeignKey(OnboardingPlan, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=12, choices=OnboardingTaskKind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    due_on = models.DateField()
    manager_signs_off = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title
