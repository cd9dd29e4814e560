"""What the insights app stores: suggestions for the stage framework, drawn from the gaps
between the top performers and the rest, and what an administrator decided about them.
The figures are computed from the other apps' data: the results when read (selectors), the
behaviours from per-deal facts kept up to date as deals close and change (insights.facts)."""

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


# --- the behaviour facts (insights.facts) -------------------------------------------------


class DealFact(models.Model):
    """One closed deal's contribution to one behaviour value: `n` exits, gates, stays or
    proposals had `value`, and `deals` (0 or 1) says whether the deal counts among the
    deals behind that behaviour. Written and replaced only by insights.facts; no foreign
    key, so a deleted deal's facts stay until the refresh has taken them out of the
    monthly sums."""

    pk = models.CompositePrimaryKey("opportunity_id", "key", "value")
    opportunity_id = models.BigIntegerField()
    owner_id = models.BigIntegerField()
    closed_at = models.DateTimeField()
    key = models.CharField(max_length=40)
    value = models.FloatField()
    n = models.IntegerField()
    deals = models.SmallIntegerField()

    class Meta:
        indexes = [models.Index(fields=["closed_at", "owner_id"], name="dealfact_closed_idx")]

    def __str__(self) -> str:
        return f"deal {self.opportunity_id} {self.key}={self.value} ×{self.n}"


class MonthFact(models.Model):
    """DealFact summed per calendar month (UTC) of closing and owner: a year's study reads
    twelve months of these instead of every deal's facts."""

    pk = models.CompositePrimaryKey("month", "owner_id", "key", "value")
    month = models.DateField()
    owner_id = models.BigIntegerField()
    key = models.CharField(max_length=40)
    value = models.FloatField()
    n = models.BigIntegerField()
    deals = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} owner {self.owner_id} {self.key}={self.value} ×{self.n}"


class StayOutcome(models.TextChoices):
    ADVANCED = "advanced", "Advanced"  # to a later open stage, or won
    LOST = "lost", "Lost"
    BACK = "back", "Moved back"
    IN = "in", "Still in the stage"


class StageStay(models.Model):
    """One stay of a deal (open or closed) in an open stage, from its stage history: when it
    entered and left, and where it went next — with the deal's owner, status and dates, so
    the stage flow of a range and the experiments read stays with no window over the
    history. Entries made at or before a deal's import are not stays. Kept by
    insights.facts with the facts."""

    pk = models.CompositePrimaryKey("opportunity_id", "change_id")
    opportunity_id = models.BigIntegerField()
    change_id = models.BigIntegerField()  # the history row of the entry
    owner_id = models.BigIntegerField()
    created_at = models.DateTimeField()  # the deal's
    closed_at = models.DateTimeField(null=True)  # the deal's
    status = models.CharField(max_length=8)  # the deal's
    stage_id = models.BigIntegerField()
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True)  # null while still in
    days = models.FloatField(null=True)  # left_at − entered_at, for the median without a cast
    outcome = models.CharField(max_length=8, choices=StayOutcome.choices)

    class Meta:
        indexes = [models.Index(fields=["stage_id", "entered_at"], name="stagestay_entered_idx")]

    def __str__(self) -> str:
        return f"deal {self.opportunity_id} in stage {self.stage_id}: {self.outcome}"


class StaleDeal(models.Model):
    """A deal whose facts or stays must be computed again: queued by database triggers on
    every table they are read from, emptied by insights.facts.refresh."""

    opportunity_id = models.BigIntegerField(primary_key=True)
    queued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"deal {self.opportunity_id}"
