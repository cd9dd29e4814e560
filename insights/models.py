"""What the insights app stores: suggestions for the stage framework, drawn from the gaps
between the top performers and the rest, and what an administrator decided about them.
The figures themselves are computed from the other apps' data when read (selectors)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from pipeline.models import Stage, StageRuleChange


class SuggestionKind(models.TextChoices):
    REQUIRE_MILESTONE = "require_milestone", "Require an existing milestone"
    NEW_MILESTONE = "new_milestone", "Add a required milestone"
    RAISE_MIN_SCORE = "raise_min_score", "Raise the minimum qualification score"


class SuggestionStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"


class Suggestion(models.Model):
    """A change to a stage's exit rules that the study suggests. Accepting it makes the
    change through the pipeline services (a new rules version of the stage, logged as a
    StageRuleChange); dismissing it needs a reason. One open suggestion per behaviour."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=SuggestionKind.choices)
    # The behaviour behind it (insights.behaviours keys, e.g. "milestone:12").
    behaviour = models.CharField(max_length=80)
    title = models.CharField(max_length=300)
    # What accepting does: {"milestone": id} / {"title", "kind"} / {"milestone", "min_score"}.
    proposal = models.JSONField(default=dict)
    # The gap as it was when suggested (sentence, figures, counts), kept for the record.
    evidence = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.OPEN
    )
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dismiss_reason = models.TextField(blank=True, default="")
    rule_change = models.ForeignKey(
        StageRuleChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["behaviour"],
                condition=Q(status="open"),
                name="suggestion_one_open_per_behaviour",
            ),
            models.CheckConstraint(
                condition=Q(status="open", decided_at__isnull=True)
                | (~Q(status="open") & Q(decided_at__isnull=False)),
                name="suggestion_decided_when_closed",
            ),
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(dismiss_reason=""),
                name="suggestion_dismissal_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title
