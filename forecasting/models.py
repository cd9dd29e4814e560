"""Forecasting data — fields and constraints only. Workflows live in forecasting/services.py."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from pipeline.models import ForecastCategory, OpportunityStatus


class PipelineSnapshot(models.Model):
    """One open opportunity as it stood when its week's snapshot was taken — the basis of
    trends and week-over-week change. Rows are history: written once by
    `pipeline_snapshot_take` (first take of a week wins) and never updated.

    Narrow on purpose (a million-deal CRM adds ~600,000 rows a week): ids, the amount, two
    dates and three short codes; names are read through the foreign keys. Four indexes:
    the unique (week, opportunity), (week, owner), (week, team) for the reads by week, and
    the opportunity's (a deleted deal's rows are found at once). Owner, team and stage
    have no index of their own: they are only looked up by id when a user, team or stage
    is deleted — rare, and a scan is acceptable then — while every index costs each week's
    insert of every open deal.

    What a historical row does when what it points at is deleted:
      opportunity  CASCADE — a deleted deal takes its history with it, like its change
                   history (deleting demo data deletes its snapshots);
      owner, team  SET_NULL — deleting a user or a team (possible only once they own no
                   deal, since Opportunity.owner is PROTECT) keeps last quarter's weekly
                   totals intact; only "whose" is lost;
      stage        PROTECT, like Opportunity.stage: a stage that a past snapshot shows a
                   deal in is part of that history. Deleting a pipeline with its deals
                   (what the demo reset does) deletes their snapshots first, so it is not
                   blocked.
    """

    week = models.DateField(help_text="The Monday of the week the snapshot belongs to.")
    opportunity = models.ForeignKey(
        "pipeline.Opportunity", on_delete=models.CASCADE, related_name="snapshots"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # The owner's team at snapshot time (a rep who moves team later keeps this history).
    team = models.ForeignKey(
        "salesops.Team", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    stage = models.ForeignKey(
        "pipeline.Stage", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    forecast_category = models.CharField(max_length=16, choices=ForecastCategory.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    close_date = models.DateField()
    # "open" for every row the weekly job takes; a later slice may record deals closed
    # during the week (won / lost of week-over-week) in the same table.
    status = models.CharField(max_length=8, choices=OpportunityStatus.choices)

    class Meta:
        ordering = ["-week", "opportunity_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["week", "opportunity"], name="snapshot_one_row_per_week_and_deal"
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0")), name="snapshot_amount_gte_0"
            ),
            # Weeks are ISO weeks: the week column is always a Monday (ISODOW 1).
            models.CheckConstraint(
                condition=Q(week__iso_week_day=1), name="snapshot_week_is_a_monday"
            ),
        ]
        indexes = [
            models.Index(fields=["week", "owner"], name="snapshot_week_owner_idx"),
            models.Index(fields=["week", "team"], name="snapshot_week_team_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id} in the week of {self.week.isoformat()}"
