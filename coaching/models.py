"""Coaching: the skills framework (admin-edited) and skill assessments of reps.

Who may assess whom lives in coaching/services.py; the matrix is read in
coaching/selectors.py. These models only hold state and its invariants.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

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
