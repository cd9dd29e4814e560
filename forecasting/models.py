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


class PipelineSnapshotTotal(models.Model):
    """The weekly snapshots summed per week, owner, team, close month, forecast category
    and currency — what the trend of a period reads instead of every deal of every week.

    Kept exact by statement triggers of migration 0006_snapshot_totals on the snapshot
    table (whatever writes it): inserted rows add their sums, deleted rows add negated
    sums, an update does both; so a key may have several rows and readers sum them.
    Fiscal periods start on the 1st of a month, so "close month in the period" is
    "close date in the period". Owner and team are plain ids (the snapshot keeps the
    foreign keys): the triggers follow a SET NULL on the snapshot."""

    week = models.DateField()
    owner_id = models.BigIntegerField(null=True)
    team_id = models.BigIntegerField(null=True)
    close_month = models.DateField(help_text="The first day of the close date's month.")
    forecast_category = models.CharField(max_length=16, choices=ForecastCategory.choices)
    currency = models.CharField(max_length=3)
    deals = models.IntegerField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        indexes = [
            models.Index(fields=["close_month", "week"], name="snapshot_total_month_week_idx")
        ]

    def __str__(self) -> str:
        return f"{self.week}: {self.deals} deals, {self.amount} {self.currency}"


class ForecastDataVersion(models.Model):
    """One row whose `version` goes up when a transaction that changed anything the
    forecast numbers read commits — deals, stages, quotas, calls, snapshots, people's teams,
    teams — whatever the path (services, import, admin, raw SQL): deferred constraint
    triggers of migration 0005_data_version bump it once per transaction, at commit.

    The dashboard cache keys its entries by it (forecasting.freshness): a reader reads the
    version BEFORE the data, so whatever it computes is at least as new as the version it
    files it under; a change makes every older entry unreachable at once."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=1)
    changed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="data_version_one_row")]

    def __str__(self) -> str:
        return f"forecast data version {self.version}"


# --- quotas ---


class QuotaPeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class Quota(models.Model):
    """The quota of one rep or one team for one fiscal month or quarter, written only by
    `forecasting.services.quota_set` / `quota_delete` (administrators and sales leaders).

    The period is stored as its kind and first day (the `Period.start` of the fiscal
    calendar), not as its label: the label depends on the fiscal calendar's first month
    and is derived when read. A team without a quota of its own for a period is read as
    the sum of the quotas of the reps currently in it and its sub-teams (see
    `forecasting.selectors.forecast_summary`)."""

    period_kind = models.CharField(max_length=8, choices=QuotaPeriodKind.choices)
    period_start = models.DateField(help_text="The first day of the fiscal month or quarter.")
    # Exactly one of rep / team. A quota goes with the person or team it belongs to.
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quotas",
        db_index=False,  # led by the unique (rep, period_kind, period_start) below
    )
    team = models.ForeignKey(
        "salesops.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="quotas",
        db_index=False,  # led by the unique (team, period_kind, period_start) below
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start", "period_kind", "team_id", "rep_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rep__isnull=False, team__isnull=True)
                | Q(rep__isnull=True, team__isnull=False),
                name="quota_rep_xor_team",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0")), name="quota_amount_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="quota_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(period_start__day=1), name="quota_period_starts_on_1st"
            ),
            models.UniqueConstraint(
                fields=["rep", "period_kind", "period_start"],
                condition=Q(rep__isnull=False),
                name="quota_one_per_rep_and_period",
            ),
            models.UniqueConstraint(
                fields=["team", "period_kind", "period_start"],
                condition=Q(team__isnull=False),
                name="quota_one_per_team_and_period",
            ),
        ]
        indexes = [
            models.Index(fields=["period_kind", "period_start"], name="quota_period_idx"),
        ]

    def __str__(self) -> str:
        whose = f"rep {self.rep_id}" if self.rep_id else f"team {self.team_id}"
        return f"{whose}: {self.amount} {self.currency} ({self.period_kind} of {self.period_start})"


# --- submissions ---


class SubmissionLevel(models.TextChoices):
    REP = "rep", "Rep"
    TEAM = "team", "Team"


class ForecastSubmission(models.Model):
    """A forecast call — commit and best case for a fiscal month or quarter — as submitted
    by a rep for themselves (level rep) or by a manager or leader for a team (level team),
    written only by `forecasting.services.forecast_submit`.

    Immutable: a snapshot of the call and of the system's numbers (`figures`) at that
    moment. A PostgreSQL trigger (migration 0003_submissions) refuses every UPDATE and
    DELETE of a row, whatever the path (ORM, queryset, raw SQL, admin). A later call
    supersedes the previous one of the same chain (submitter, level, team, period) by
    pointing at it through `supersedes`; nothing is ever edited. `supersedes` is unique, so
    a submission is superseded at most once and each chain is a line: the latest of a
    chain is the one nothing supersedes (an anti-join on that unique index), and two
    partial unique constraints allow one chain head (supersedes NULL) per chain.

    Deleting what a submission points at is refused (PROTECT): a submitter, a team, a
    superseded submission. `team` is the submitting team at that moment; a rep's later
    move to another team does not rewrite their past calls.
    """

    period_kind = models.CharField(max_length=8, choices=QuotaPeriodKind.choices)
    period_start = models.DateField(help_text="The first day of the fiscal month or quarter.")
    submitter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="forecast_submissions",
        db_index=False,  # led by submission_submitter_idx
    )
    level = models.CharField(max_length=8, choices=SubmissionLevel.choices)
    team = models.ForeignKey(
        "salesops.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="forecast_submissions",
        db_index=False,  # led by submission_team_idx
    )
    commit = models.DecimalField(max_digits=14, decimal_places=2)
    best_case = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    notes = models.TextField(blank=True, default="")
    adjustment_note = models.TextField(blank=True, default="")
    # The system's totals for the scope at that moment (forecast_summary().totals), with
    # Decimals as strings and the currency: {"currency": "EUR", "closed_won": "1000.00", …}.
    figures = models.JSONField(default=dict)
    # Team level: each rep's latest call in the period at that moment (see the service).
    reps_calls = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField()
    supersedes = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level=SubmissionLevel.REP, team__isnull=True)
                | Q(level=SubmissionLevel.TEAM, team__isnull=False),
                name="submission_team_iff_team_level",
            ),
            models.CheckConstraint(
                condition=Q(commit__gte=Decimal("0")), name="submission_commit_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(best_case__gte=models.F("commit")),
                name="submission_best_case_gte_commit",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="submission_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(period_start__day=1), name="submission_period_starts_on_1st"
            ),
            models.CheckConstraint(
                condition=~Q(supersedes=models.F("id")), name="submission_not_superseding_itself"
            ),
            models.UniqueConstraint(
                fields=["submitter", "period_kind", "period_start"],
                condition=Q(supersedes__isnull=True, level=SubmissionLevel.REP),
                name="submission_one_rep_chain_head",
            ),
            models.UniqueConstraint(
                fields=["submitter", "team", "period_kind", "period_start"],
                condition=Q(supersedes__isnull=True, level=SubmissionLevel.TEAM),
                name="submission_one_team_chain_head",
            ),
        ]
        indexes = [
            models.Index(
                fields=["submitter", "period_kind", "period_start", "submitted_at"],
                name="submission_submitter_idx",
            ),
            models.Index(
                fields=["team", "period_kind", "period_start", "submitted_at"],
                name="submission_team_idx",
            ),
            models.Index(fields=["period_kind", "period_start"], name="submission_period_idx"),
        ]

    def __str__(self) -> str:
        whose = f"team {self.team_id}" if self.team_id else "self"
        return (
            f"{self.submitter_id} for {whose}: {self.commit}/{self.best_case} {self.currency} "
            f"({self.period_kind} of {self.period_start})"
        )


# --- forecast meetings ---


class ForecastMeeting(models.Model):
    """A team's forecast meeting for a fiscal month or quarter, written only by
    `forecasting.services.meeting_create` / `meeting_update`.

    The numbers are frozen when the meeting is recorded: `figures` (the team's
    forecast_summary totals and by-owner rows), `risks` (the period's commit and best-case
    deals at risk, with the reasons in words) and `changes` (against the previous meeting
    of the same team and period). Only the notes, the attendees and the date change later,
    each change bumping `version` (optimistic locking: a stale version is refused).

    No coaching fields: coaching belongs to opportunity reviews. No delete through the
    app (a meeting is a record of what was said about the numbers); the Django admin
    may delete one. Deleting a team or a creator that meetings point at is refused
    (PROTECT); a deleted attendee leaves the meetings they attended.
    """

    period_kind = models.CharField(max_length=8, choices=QuotaPeriodKind.choices)
    period_start = models.DateField(help_text="The first day of the fiscal month or quarter.")
    team = models.ForeignKey(
        "salesops.Team",
        on_delete=models.PROTECT,
        related_name="forecast_meetings",
        db_index=False,  # led by the unique (team, period_kind, period_start, held_on)
    )
    held_on = models.DateField()
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="forecast_meetings_attended", blank=True
    )
    notes = models.TextField(blank=True, default="")
    # Frozen at creation (see the services): Decimals as strings, with their currency.
    figures = models.JSONField(default=dict)
    risks = models.JSONField(default=list)
    changes = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-held_on", "-id"]
        constraints = [
            # One meeting of a team about a period per day: a second is a double submit.
            models.UniqueConstraint(
                fields=["team", "period_kind", "period_start", "held_on"],
                name="meeting_one_per_team_period_and_day",
            ),
            models.CheckConstraint(
                condition=Q(period_start__day=1), name="meeting_period_starts_on_1st"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="meeting_version_gte_1"),
        ]
        indexes = [
            # The list in a period (every role filters by it) and "latest first".
            models.Index(
                fields=["period_kind", "period_start", "-held_on"], name="meeting_period_idx"
            ),
            models.Index(fields=["-held_on", "-id"], name="meeting_latest_idx"),
        ]

    def __str__(self) -> str:
        return f"Forecast meeting of team {self.team_id} on {self.held_on} ({self.period_start})"
