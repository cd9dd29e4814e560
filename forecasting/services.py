"""Forecasting writes. For now: the weekly pipeline snapshot.

`pipeline_snapshot_take` copies every open opportunity's stage, amount, currency,
forecast category and close date (with its owner and the owner's team) into the week's
`PipelineSnapshot` rows with one set-based `INSERT … SELECT`.

Idempotent per week, "first take wins": a row is never updated once taken — a snapshot is
the state at the moment it was taken, so the Monday run stands even when the job runs
again later in the week. A rerun inserts only the deals the week does not have yet (a deal
opened since the first run), with their state at the rerun; `ON CONFLICT DO NOTHING` on
the (week, opportunity) unique constraint makes that hold under any interleaving. Runs are
serialised by a transaction-level advisory lock, so two runs that overlap do the work once
and report exact counts: the second waits, then inserts only what the first did not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from forecasting import rules
from forecasting.models import ForecastMeeting, ForecastSubmission, Quota, SubmissionLevel
from salesops import access, organisation
from salesops.cleaning import clean_amount, clean_currency, clean_int, clean_text, query_int
from salesops.exceptions import (
    Conflict,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from salesops.models import Role, Team, User
from salesops.services import audit_record

MAX_ID = 2**63 - 1

# pg_advisory_xact_lock key of the snapshot ("snap" in ASCII); only this module takes it.
SNAPSHOT_LOCK_KEY = 0x736E6170

# Every open deal that existed by the end of the week; ON CONFLICT skips the deals the
# week has already. Deliberately no NOT EXISTS anti-join against the week's rows: planned
# on an empty or freshly truncated table it became a nested loop whose inner scan reads
# the very heap the statement is filling — quadratic (68,000 rows in 95 s instead of
# 600,000 in 17 s, see bench/README.md). The conflict check is one probe of the unique
# index per deal, whatever the statistics say.
# The count of the week's rows reads the statement's snapshot, taken after the lock was
# granted (a new statement) and blind to this statement's own inserts: the rows earlier
# runs wrote.
TAKE_SQL = """
WITH inserted AS (
INSERT INTO forecasting_pipelinesnapshot
    (week, opportunity_id, owner_id, team_id, stage_id, forecast_category, amount,
     currency, close_date, status)
SELECT %(week)s::date, o.id, o.owner_id, u.team_id, o.stage_id, o.forecast_category,
       o.amount, o.currency, o.close_date, o.status
FROM pipeline_opportunity o
JOIN salesops_user u ON u.id = o.owner_id
WHERE o.status = 'open'
  AND o.created_at < %(week_end)s
ON CONFLICT (week, opportunity_id) DO NOTHING
RETURNING 1
)
SELECT (SELECT count(*) FROM inserted),
       (SELECT count(*) FROM forecasting_pipelinesnapshot WHERE week = %(week)s::date)
"""


@dataclass(frozen=True)
class SnapshotResult:
    week: dt.date
    inserted: int  # rows added by this run
    skipped_existing: int  # rows the week already had from earlier runs, left as they were


def fiscal_calendar() -> rules.FiscalCalendar:
    """The organisation's fiscal calendar (its first month: salesops.organisation)."""
    return rules.FiscalCalendar(organisation.current().fiscal_year_start_month)


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the organisation's timezone (salesops.organisation), whatever timezone the
    current request activated."""
    return organisation.current().today(now)


def pipeline_snapshot_take(
    *, week: dt.date | None = None, now: dt.datetime | None = None
) -> SnapshotResult:
    """Take the week's pipeline snapshot: one row per open opportunity (created before the
    week ended) that the week does not have yet. `week` defaults to the current week in
    the organisation's timezone (its Monday); `now` is the moment taken as "now".

    Refuses (ValidationFailed, nothing written) a `week` that is not a Monday or that lies
    after the current week: a snapshot records the present, it cannot be taken ahead. An
    earlier week is accepted — a run that missed its Monday completes the week it belongs
    to — but it records the deals' state now, and only deals created before that week
    ended."""
    now = now or timezone.now()
    current = rules.week_start(local_today(now))
    if week is None:
        week = current
    elif not isinstance(week, dt.date) or isinstance(week, dt.datetime):
        raise ValidationFailed("The week must be a date.", details={"week": ["Not a date."]})
    elif week.weekday() != 0:
        raise ValidationFailed(
            f"{week.isoformat()} is not the start of a week.",
            details={"week": ["A week starts on a Monday."]},
        )
    elif week > current:
        raise ValidationFailed(
            f"The week of {week.isoformat()} has not begun.",
            details={"week": [f"The current week began on {current.isoformat()}."]},
        )
    week_end = organisation.current().start_of(week + dt.timedelta(days=7))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SNAPSHOT_LOCK_KEY])
        cursor.execute(TAKE_SQL, {"week": week, "week_end": week_end})
        inserted, existing = cursor.fetchone()
    return SnapshotResult(week=week, inserted=inserted, skipped_existing=existing)


# --- quotas ---


def period_from_label(label: Any, *, field: str = "period") -> rules.Period:
    """The fiscal period named by `label` (a `Period` passes through); a bad label is a
    ValidationFailed with the parser's message under `details[field]`."""
    if isinstance(label, rules.Period):
        return label
    try:
        return fiscal_calendar().parse(label)
    except ValueError as exc:
        raise ValidationFailed(str(exc), details={field: [str(exc)]}) from exc


QUOTA_SETTERS = "Only an administrator or a sales leader can set quotas."


def _refuse_unless_quota_admin(actor: User) -> None:
    """Quotas are the sales process's configuration (access.configures_sales_process)."""
    if not access.configures_sales_process(actor):
        raise PermissionDenied(QUOTA_SETTERS)


@transaction.atomic
def quota_set(
    *,
    actor: User,
    period: Any,
    amount: Any,
    currency: Any = None,
    rep_id: Any = None,
    team_id: Any = None,
) -> tuple[Quota, bool]:
    """Set the quota of a rep or of a team for a fiscal month or quarter (`period`: a
    label like "2026-Q3" or "2026-07"), replacing the one it had. Returns the quota and
    whether it was created. `currency` defaults to the organisation's
    default currency.

    Refuses: a rep or a manager (PermissionDenied); a bad period label; neither or both
    of `rep_id` and `team_id`, or no such (active) user / team; a negative, non-numeric or
    too large amount; a currency that is not three letters (ValidationFailed). Nothing is
    written when it refuses."""
    _refuse_unless_quota_admin(actor)
    errors: dict[str, list[str]] = {}
    try:
        the_period = period_from_label(period)
    except ValidationFailed as exc:
        errors.update(exc.details)
        the_period = None
    value = clean_amount(errors, "amount", amount)
    code = clean_currency(errors, currency or organisation.current().default_currency)
    rep = team = None
    if (rep_id in (None, "")) == (team_id in (None, "")):
        errors.setdefault("rep", []).append("Give either a rep or a team.")
    elif rep_id not in (None, ""):
        pk = clean_int(errors, "rep", rep_id, required=True, minimum=1, maximum=MAX_ID)
        rep = User.objects.filter(pk=pk, is_active=True).first() if pk else None
        if pk and rep is None:
            errors.setdefault("rep", []).append("No such active user.")
    else:
        pk = clean_int(errors, "team", team_id, required=True, minimum=1, maximum=MAX_ID)
        team = Team.objects.filter(pk=pk).first() if pk else None
        if pk and team is None:
            errors.setdefault("team", []).append("No such team.")
    if errors:
        raise ValidationFailed(details=errors)
    assert the_period is not None and value is not None
    return _quota_write(
        actor=actor, period=the_period, rep=rep, team=team, amount=value, currency=code
    )


def _quota_write(
    *,
    actor: User,
    period: rules.Period,
    rep: User | None,
    team: Team | None,
    amount: Any,
    currency: str,
) -> tuple[Quota, bool]:
    """Write one cleaned quota, replacing the one of that rep or team and period, audited."""
    the_period, value, code = period, amount, currency
    key = {
        "period_kind": the_period.kind.value,
        "period_start": the_period.start,
        "rep": rep,
        "team": team,
    }
    quota = Quota.objects.select_for_update().filter(**key).first()
    created = quota is None
    previous = None if quota is None else {"amount": str(quota.amount), "currency": quota.currency}
    if quota is None:
        try:
            with transaction.atomic():  # a concurrent first set of the same quota: update it
                quota = Quota.objects.create(**key, amount=value, currency=code)
        except IntegrityError:
            quota = Quota.objects.select_for_update().get(**key)
            created = False
    if not created:
        quota.amount, quota.currency = value, code
        quota.save(update_fields=["amount", "currency", "updated_at"])
    audit_record(
        actor=actor,
        action="quota.set",
        target=quota,
        data={
            "period": the_period.label,
            "rep": rep.pk if rep else None,
            "team": team.pk if team else None,
            "amount": str(value),
            "currency": code,
            "previous": previous,
        },
    )
    return quota, created


# A manager or leader sets a new hire's ramp at their hire: within this many days of it.
RAMP_SET_WINDOW_DAYS = 31


@transaction.atomic
def quota_ramp_set(
    *,
    actor: User,
    rep_id: Any,
    full_amount: Any,
    currency: Any = None,
    percents: list[int] | None = None,
) -> list[Quota]:
    """A new hire's ramped quotas: monthly quotas from the fiscal month of their start
    date, at `percents` (settings.NEW_HIRE_RAMP_PERCENTS, e.g. 25/50/75/100) of
    `full_amount`, a fully ramped rep's monthly quota (forecasting.rules.ramp_quotas).

    Who: an administrator or a sales leader (they set quotas), replacing what those
    months had; or — when they hire them — the rep's manager, while the start date is at
    most RAMP_SET_WINDOW_DAYS ago and only into months with no quota yet (a quota set
    stands).

    Refuses: anyone else (PermissionDenied); no such active rep, or one without a start
    date; a bad amount or currency (ValidationFailed); a manager's month that has a quota
    (Conflict). Nothing is written then."""
    errors: dict[str, list[str]] = {}
    value = clean_amount(errors, "full_quota", full_amount)
    code = clean_currency(errors, currency or organisation.current().default_currency)
    pk = clean_int(errors, "rep", rep_id, required=True, minimum=1, maximum=MAX_ID)
    rep = User.objects.filter(pk=pk, is_active=True).first() if pk else None
    if pk and rep is None:
        errors.setdefault("rep", []).append("No such active user.")
    elif rep is not None and rep.started_on is None:
        errors.setdefault("rep", []).append("Their start date is not set: the ramp counts from it.")
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied(QUOTA_SETTERS)
    at_hire = (
        rep is not None
        and rep.started_on is not None
        and actor.role in (Role.MANAGER, Role.LEADER)
        and access.manages(actor, rep)
        and rep.started_on >= local_today() - dt.timedelta(days=RAMP_SET_WINDOW_DAYS)
    )
    sets_quotas = access.configures_sales_process(actor)
    if not (sets_quotas or at_hire):
        raise PermissionDenied(
            "Only an administrator, a sales leader, or the new hire's manager when hiring "
            "them, sets a ramp."
        )
    if errors:
        raise ValidationFailed(details=errors)
    assert rep is not None and value is not None
    months = rules.ramp_quotas(
        value, percents or settings.NEW_HIRE_RAMP_PERCENTS, rep.started_on, fiscal_calendar()
    )
    if not sets_quotas:
        taken = Quota.objects.filter(
            rep=rep,
            period_kind=rules.PeriodKind.MONTH.value,
            period_start__in=[period.start for period, _ in months],
        ).exists()
        if taken:
            raise Conflict(
                "They have quotas for those months already: an administrator or a sales "
                "leader changes them.",
                code="quota_exists",
            )
    return [
        _quota_write(actor=actor, period=period, rep=rep, team=None, amount=amount, currency=code)[
            0
        ]
        for period, amount in months
    ]


@transaction.atomic
def quota_update(*, actor: User, quota_id: int, amount: Any = None, currency: Any = None) -> Quota:
    """Change a quota's amount and/or currency; its period and rep or team stay.

    Refuses: a rep or a manager (PermissionDenied); no such quota (NotFound); a negative,
    non-numeric or too large amount, a currency that is not three letters
    (ValidationFailed, nothing written)."""
    _refuse_unless_quota_admin(actor)
    quota = Quota.objects.select_for_update().filter(pk=quota_id).first()
    if quota is None:
        raise NotFound("No such quota.")
    errors: dict[str, list[str]] = {}
    value = quota.amount if amount is None else clean_amount(errors, "amount", amount)
    code = clean_currency(errors, currency or quota.currency)
    if errors:
        raise ValidationFailed(details=errors)
    previous = {"amount": str(quota.amount), "currency": quota.currency}
    quota.amount, quota.currency = value, code
    quota.save(update_fields=["amount", "currency", "updated_at"])
    audit_record(
        actor=actor,
        action="quota.set",
        target=quota,
        data={"amount": str(value), "currency": code, "previous": previous},
    )
    return quota


@transaction.atomic
def quota_delete(*, actor: User, quota_id: int) -> None:
    """Delete a quota: a team's falls back to the sum of its reps' quotas.

    Refuses a rep or a manager (PermissionDenied); no such quota is a NotFound."""
    _refuse_unless_quota_admin(actor)
    quota = Quota.objects.select_for_update().filter(pk=quota_id).first()
    if quota is None:
        raise NotFound("No such quota.")
    audit_record(
        actor=actor,
        action="quota.deleted",
        target=quota,
        data={
            "period_kind": quota.period_kind,
            "period_start": quota.period_start.isoformat(),
            "rep": quota.rep_id,
            "team": quota.team_id,
            "amount": str(quota.amount),
            "currency": quota.currency,
        },
    )
    quota.delete()


@dataclass(frozen=True)
class QuotaChange:
    """One cell of the quota page's grid: the quota of a rep or of a team for the grid's
    period, and what the page showed for it when it was loaded."""

    rep_id: int | None
    team_id: int | None
    amount: Decimal | None  # None: no quota (the one there is goes)
    currency: str  # "": the organisation's default currency
    previous: tuple[Decimal, str] | None  # (amount, currency) shown; None: none shown

    @property
    def key(self) -> str:
        return f"rep-{self.rep_id}" if self.rep_id is not None else f"team-{self.team_id}"


@dataclass(frozen=True)
class QuotaChangesResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


@transaction.atomic
def quota_set_many(*, actor: User, period: Any, changes: list[QuotaChange]) -> QuotaChangesResult:
    """Save the changed cells of the quota grid of one fiscal month or quarter together:
    a cell with an amount sets that quota (`quota_set`), an emptied cell deletes it
    (`quota_delete`). All or nothing: when any cell is refused, none is saved.

    A cell whose quota changed since the page showed it (`previous` differs from what is
    stored: someone else saved it meanwhile) is refused instead of overwritten.

    Refuses (ValidationFailed, nothing written): a rep or a manager (PermissionDenied);
    a bad period (`details["period"]`); any cell `quota_set` refuses, or a stale one —
    `details["cells"]` maps each refused cell's key ("rep-12", "team-3") to its fields'
    messages."""
    _refuse_unless_quota_admin(actor)
    the_period = period_from_label(period)
    stored = {
        (q.rep_id, q.team_id): q
        for q in Quota.objects.select_for_update().filter(
            period_kind=the_period.kind.value, period_start=the_period.start
        )
    }
    default_currency = organisation.current().default_currency
    counts = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    refused: dict[str, dict[str, list[str]]] = {}
    for change in changes:
        quota = stored.get((change.rep_id, change.team_id))
        now = (quota.amount, quota.currency) if quota is not None else None
        if now != change.previous:
            shown = "none" if now is None else f"{now[0]:,.2f} {now[1]}"
            refused[change.key] = {
                "amount": [f"Changed by someone else meanwhile (now: {shown}). Reload the page."]
            }
            continue
        wanted = (
            None
            if change.amount is None
            else (change.amount, (change.currency or default_currency).strip().upper())
        )
        if wanted == now:
            counts["unchanged"] += 1
        elif wanted is None:
            assert quota is not None
            quota_delete(actor=actor, quota_id=quota.pk)
            counts["deleted"] += 1
        else:
            try:
                _, created = quota_set(
                    actor=actor,
                    period=the_period,
                    amount=change.amount,
                    currency=change.currency or None,
                    rep_id=change.rep_id,
                    team_id=change.team_id,
                )
            except ValidationFailed as exc:
                refused[change.key] = exc.details
                continue
            counts["created" if created else "updated"] += 1
    if refused:
        # Rolls back the cells saved before the refused ones: all or nothing.
        raise ValidationFailed(
            f"{len(refused)} quota{'' if len(refused) == 1 else 's'} could not be saved, "
            "so none was: correct the marked cells and save again.",
            details={"cells": refused},
        )
    return QuotaChangesResult(**counts)


# --- submissions ---
# Forecast submissions: immutable calls (commit / best case) of a rep for themselves or of
# a manager (or leader) for a team. See forecasting.models.ForecastSubmission.

SUBMISSION_NOTE_MAX = 4000
# pg_advisory_xact_lock(class, key): the two-int form, a key space apart from the
# snapshot's one-bigint lock. Serialises the submissions of one chain.
SUBMISSION_LOCK_CLASS = 0x66637374  # "fcst"
FIGURE_FIELDS = (
    "closed_won", "commit", "best_case", "pipeline", "commit_cumulative",
    "best_case_cumulative", "pipeline_cumulative", "open_pipeline", "weighted_pipeline",
    "quota", "attainment_percent", "remaining", "coverage",
)  # fmt: skip


def figures_json(figures: rules.ForecastFigures, currency: str) -> dict[str, Any]:
    """forecast_summary totals as JSON: every number a string (Decimal, exact), None kept;
    amounts and coverage to the cent, attainment to 0.1 (as rules computes it)."""
    values: dict[str, Any] = {"currency": currency}
    for name in FIGURE_FIELDS:
        value = getattr(figures, name)
        if value is not None and name != "attainment_percent":
            value = Decimal(value).quantize(Decimal("0.01"))
        values[name] = None if value is None else str(value)
    return values


def latest_submissions_q() -> Exists:
    """Keeps the submissions nothing supersedes — the latest of each chain (an anti-join on
    the unique index of `supersedes`)."""
    return ~Exists(ForecastSubmission.objects.filter(supersedes_id=OuterRef("pk")))


def team_reps_calls(team: Team, period: rules.Period) -> list[dict[str, Any]]:
    """The active reps currently in `team` or its sub-teams (by name), each with their
    latest rep-level submission for `period` (None fields: none yet). Three queries."""
    teams = access.team_subtree(team.pk)
    reps = sorted(
        User.objects.filter(is_active=True, role=Role.REP, team_id__in=teams),
        key=lambda u: (str(u).lower(), u.pk),
    )
    latest = {
        s.submitter_id: s
        for s in ForecastSubmission.objects.filter(
            latest_submissions_q(),
            level=SubmissionLevel.REP,
            period_kind=period.kind.value,
            period_start=period.start,
            submitter_id__in=[u.pk for u in reps],
        )
    }
    calls = []
    for rep in reps:
        s = latest.get(rep.pk)
        calls.append(
            {
                "rep": rep.pk,
                "name": str(rep),
                "team": rep.team_id,
                "submission": s.pk if s else None,
                "commit": str(s.commit) if s else None,
                "best_case": str(s.best_case) if s else None,
                "currency": s.currency if s else None,
                "submitted_at": s.submitted_at.isoformat() if s else None,
            }
        )
    return calls


def reps_calls_sum(calls: list[dict[str, Any]], currency: str) -> tuple[Decimal, Decimal]:
    """Σ commit and Σ best case of the calls in `currency` (calls in another currency and
    reps without a call add nothing: amounts of different currencies are never summed)."""
    commit = best = Decimal("0.00")
    for call in calls:
        if call["submission"] is not None and call["currency"] == currency:
            commit += Decimal(call["commit"])
            best += Decimal(call["best_case"])
    return commit, best


@transaction.atomic
def forecast_submit(
    *,
    actor: User,
    period: Any,
    commit: Any,
    best_case: Any,
    notes: Any = "",
    team_id: Any = None,
    adjustment_note: Any = "",
    currency: Any = None,
    now: dt.datetime | None = None,
) -> ForecastSubmission:
    """Record a forecast call for a fiscal month or quarter (`period`, a label). Without
    `team_id`: a rep's own call (level rep). With `team_id`: a call for that team (level
    team) by its manager (the teams they manage and their sub-teams) or a leader/admin (any
    team). Returns the new ForecastSubmission; it supersedes the latest submission of the
    same chain (submitter, level, team, period), which stays as it was. `currency`
    defaults to the organisation's default currency; `now` is the moment taken as "now".

    Stored with it: `figures`, forecast_summary's totals for the scope (the rep, or the
    team with its sub-teams) in the call's currency at that moment; and for a team call
    `reps_calls`, each current active rep of the team (sub-teams included) with their
    latest rep-level call in the period (or none).

    Adjustment note: a team call must carry a non-blank `adjustment_note` when its commit
    or best case differs from the sum of its reps' latest calls in the call's currency
    (reps without a call, and calls in another currency, add 0). So with no rep call yet,
    any team call other than 0 / 0 needs a note.

    Refuses, nothing written: an inactive or anonymous actor, a rep giving `team_id`
    (PermissionDenied); no such team or one the manager does not manage (NotFound); a
    manager, leader or admin without `team_id` (ValidationFailed — they call for teams);
    then, all at once (ValidationFailed): a bad period label, a missing, negative,
    non-numeric or too large commit or best case, best case below commit, a bad currency,
    notes over 4000 characters, a missing adjustment note; finally a period that has
    ended (its last day before today, organisation's timezone): Conflict `period_closed`
    (409). Current and future periods are accepted."""
    from forecasting import selectors as forecasting_selectors  # it imports this module

    now = now or timezone.now()
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied("Sign in to submit a forecast.")
    team: Team | None = None
    errors: dict[str, list[str]] = {}
    if team_id not in (None, ""):
        if actor.role == Role.REP and not actor.is_superuser:
            raise PermissionDenied("A rep submits their own forecast, not a team's.")
        pk = clean_int(errors, "team", team_id, required=True, minimum=1, maximum=MAX_ID)
        if errors:
            raise ValidationFailed(details=errors)
        team = Team.objects.filter(pk=pk).first()
        if team is None or not (actor.sees_everything or pk in access.managed_team_ids(actor)):
            raise NotFound("No such team.")
    elif actor.role != Role.REP or actor.is_superuser:
        errors["team"] = ["Give the team you submit the forecast for."]

    try:
        the_period = period_from_label(period)
    except ValidationFailed as exc:
        errors.update(exc.details)
        the_period = None
    commit_value = clean_amount(errors, "commit", commit)
    best_value = clean_amount(errors, "best_case", best_case)
    if commit_value is not None and best_value is not None and best_value < commit_value:
        errors.setdefault("best_case", []).append("Best case cannot be below commit.")
    code = clean_currency(errors, currency or organisation.current().default_currency)
    notes_text = clean_text(errors, "notes", notes, required=False, max_length=SUBMISSION_NOTE_MAX)
    adjustment = clean_text(
        errors, "adjustment_note", adjustment_note, required=False, max_length=SUBMISSION_NOTE_MAX
    )
    if team is None and adjustment:
        errors.setdefault("adjustment_note", []).append("Only a team forecast is adjusted.")

    calls: list[dict[str, Any]] = []
    if team is not None and the_period is not None:
        calls = team_reps_calls(team, the_period)
        if commit_value is not None and best_value is not None and not adjustment:
            sum_commit, sum_best = reps_calls_sum(calls, code)
            if (commit_value, best_value) != (sum_commit, sum_best):
                errors.setdefault("adjustment_note", []).append(
                    f"The reps' calls add up to {sum_commit} commit and {sum_best} best "
                    f"case ({code}): say why the team's call differs."
                )
    if errors:
        raise ValidationFailed(details=errors)
    assert the_period is not None and commit_value is not None and best_value is not None
    today = local_today(now)
    if the_period.end <= today:
        raise Conflict(
            f"{the_period.label} is over: forecasts are submitted for current and future "
            "periods only.",
            code="period_closed",
            details={"period": [f"{the_period.label} ended on {the_period.last_day}."]},
        )

    level = SubmissionLevel.TEAM if team is not None else SubmissionLevel.REP
    key = {
        "submitter": actor,
        "level": level,
        "team": team,
        "period_kind": the_period.kind.value,
        "period_start": the_period.start,
    }
    chain = f"{actor.pk}:{level}:{team.pk if team else ''}:{the_period.kind}:{the_period.start}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [SUBMISSION_LOCK_CLASS, chain]
        )
    previous = ForecastSubmission.objects.filter(latest_submissions_q(), **key).first()
    summary = forecasting_selectors.forecast_summary(
        actor,
        the_period,
        team.pk if team else None,
        None if team else actor.pk,
        currency=code,
    )
    submission = ForecastSubmission.objects.create(
        **key,
        commit=commit_value,
        best_case=best_value,
        currency=code,
        notes=notes_text,
        adjustment_note=adjustment,
        figures=figures_json(summary.totals, code),
        reps_calls=calls,
        submitted_at=now,
        supersedes=previous,
    )
    audit_record(
        actor=actor,
        action="forecast.submitted",
        target=submission,
        data={
            "period": the_period.label,
            "level": level.value,
            "team": team.pk if team else None,
            "commit": str(commit_value),
            "best_case": str(best_value),
            "currency": code,
            "supersedes": previous.pk if previous else None,
        },
    )
    return submission


# --- forecast meetings ---
# A team's forecast meeting: the numbers frozen when it is recorded (figures, risks,
# changes since the previous meeting; see forecasting.selectors.meeting_numbers), then
# only its notes, attendees and date change, each change bumping its version. No delete
# (a meeting is the record of what was said about the numbers); the Django admin can.

MEETING_NOTES_MAX = 20_000
MEETING_MAX_AGE_DAYS = 365
MEETING_MAX_ATTENDEES = 200


class _Unset:
    """An argument that was not given (None and "" are values: they clear a field)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def can_hold_forecast_meeting(actor: User, team_id: int) -> bool:
    """A manager of the team (the teams they manage and their sub-teams) or a leader /
    admin records a forecast meeting and changes it; reps never (they read the meetings
    they attended)."""
    if not (actor.is_authenticated and actor.is_active):
        return False
    if actor.sees_everything:
        return True
    return actor.is_manager and team_id in access.managed_team_ids(actor)


def _clean_meeting_held_on(errors: dict[str, list[str]], held_on: Any, today: dt.date) -> dt.date:
    if held_on in (None, ""):
        return today
    try:
        day = held_on if isinstance(held_on, dt.date) else dt.date.fromisoformat(str(held_on))
    except ValueError:
        errors.setdefault("held_on", []).append("Enter a date as YYYY-MM-DD.")
        return today
    if isinstance(day, dt.datetime):
        day = day.date()
    earliest = today - dt.timedelta(days=MEETING_MAX_AGE_DAYS)
    if day > today:
        errors.setdefault("held_on", []).append(
            "A meeting is recorded once it was held: the date cannot be in the future."
        )
    elif day < earliest:
        errors.setdefault("held_on", []).append(
            f"Choose a date within the last year ({earliest:%d %b %Y} or later)."
        )
    return day


def _clean_attendees(errors: dict[str, list[str]], attendee_ids: Any, team: Team) -> list[User]:
    """The attendees: at least one, each an active member of the team or its sub-teams,
    a manager of the team (or of one above or below it) or a sales leader."""
    from forecasting import selectors as forecasting_selectors  # it imports this module

    if attendee_ids in (None, ""):
        attendee_ids = []
    if isinstance(attendee_ids, str | bytes) or not isinstance(attendee_ids, list | tuple | set):
        errors.setdefault("attendees", []).append("Give a list of user ids.")
        return []
    wanted: list[int] = []
    for value in attendee_ids:
        pk = query_int(value)
        if pk is None:
            errors.setdefault("attendees", []).append(f"{str(value)[:30]!r} is not a user id.")
            return []
        if pk not in wanted:
            wanted.append(pk)
    if not wanted:
        errors.setdefault("attendees", []).append("Choose who attended (at least one person).")
        return []
    if len(wanted) > MEETING_MAX_ATTENDEES:
        errors.setdefault("attendees", []).append(
            f"Choose at most {MEETING_MAX_ATTENDEES} attendees."
        )
        return []
    candidates = {u.pk: u for u in forecasting_selectors.meeting_attendee_candidates(team.pk)}
    outside = [pk for pk in wanted if pk not in candidates]
    if outside:
        names = {u.pk: str(u) for u in User.objects.filter(pk__in=outside)}
        for pk in outside:
            who = names.get(pk, f"User {pk}")
            errors.setdefault("attendees", []).append(
                f"{who} cannot attend: not an active member of {team.name} or its sub-teams, "
                "one of its managers or a sales leader."
            )
        return []
    return [candidates[pk] for pk in wanted]


def _refuse_duplicate_meeting(
    team: Team, period: rules.Period, day: dt.date, *, exclude: int | None = None
) -> None:
    others = ForecastMeeting.objects.filter(
        team=team, period_kind=period.kind.value, period_start=period.start, held_on=day
    )
    if exclude is not None:
        others = others.exclude(pk=exclude)
    if others.exists():
        raise Conflict(
            f"{team.name} already has a forecast meeting about {period.label} on {day:%d %b %Y}.",
            code="duplicate_meeting",
            details={"held_on": ["There is already a meeting of this team on this day."]},
        )


def _meeting_team(actor: User, team_id: Any) -> Team:
    """The team of a meeting `actor` records, locked so that two meetings of the team are
    recorded one after the other (the previous meeting and the day check stay true)."""
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied("Sign in to record a forecast meeting.")
    if not (actor.is_manager or actor.sees_everything):
        raise PermissionDenied(
            "Forecast meetings are recorded by the team's manager or a sales leader."
        )
    errors: dict[str, list[str]] = {}
    pk = clean_int(errors, "team", team_id, required=True, minimum=1, maximum=MAX_ID)
    if errors:
        raise ValidationFailed(details=errors)
    if not can_hold_forecast_meeting(actor, pk):
        raise NotFound("No such team.")
    team = Team.objects.select_for_update().filter(pk=pk).first()
    if team is None:
        raise NotFound("No such team.")
    return team


@transaction.atomic
def meeting_create(
    *,
    actor: User,
    period: Any,
    team_id: Any,
    held_on: Any = None,
    attendee_ids: Any = None,
    notes: Any = "",
    now: dt.datetime | None = None,
) -> ForecastMeeting:
    """Record a forecast meeting of a team about a fiscal month or quarter (`period`, a
    label) held on `held_on` (default today, organisation's timezone), with its attendees
    and notes. Freezes the numbers of that moment (forecasting.selectors.meeting_numbers):
    the team's figures in the organisation's default currency, the deals at risk and the changes
    since the previous meeting of the same team and period.

    Refuses, nothing written: an inactive or anonymous actor, a rep (PermissionDenied);
    a bad team id (ValidationFailed); a team that does not exist or that a manager does
    not manage (NotFound); then, all at once (ValidationFailed): a bad period label, a
    date in the future or more than a year back, no attendees or someone who may not
    attend (an inactive user, or neither a member of the team or its sub-teams, one of
    its managers nor a sales leader), notes over 20,000 characters; finally a second
    meeting of the team about the period on the same day (Conflict `duplicate_meeting`,
    409: a double submit)."""
    from forecasting import selectors as forecasting_selectors  # it imports this module

    now = now or timezone.now()
    team = _meeting_team(actor, team_id)
    errors: dict[str, list[str]] = {}
    try:
        the_period = period_from_label(period)
    except ValidationFailed as exc:
        errors.update(exc.details)
        the_period = None
    day = _clean_meeting_held_on(errors, held_on, local_today(now))
    attendees = _clean_attendees(errors, attendee_ids, team)
    notes_text = clean_text(errors, "notes", notes, required=False, max_length=MEETING_NOTES_MAX)
    if errors:
        raise ValidationFailed(details=errors)
    assert the_period is not None
    _refuse_duplicate_meeting(team, the_period, day)
    numbers = forecasting_selectors.meeting_numbers(
        actor, the_period, team.pk, held_on=day, now=now
    )
    try:
        with transaction.atomic():  # the unique (team, period, day) under a race
            meeting = ForecastMeeting.objects.create(
                period_kind=the_period.kind.value,
                period_start=the_period.start,
                team=team,
                held_on=day,
                notes=notes_text,
                figures=numbers.figures,
                risks=numbers.risks,
                changes=numbers.changes,
                created_by=actor,
            )
    except IntegrityError:
        _refuse_duplicate_meeting(team, the_period, day)
        raise
    meeting.attendees.set(attendees)
    audit_record(
        actor=actor,
        action="forecast_meeting.created",
        target=meeting,
        data={
            "team": team.pk,
            "period": the_period.label,
            "held_on": day.isoformat(),
            "attendees": [u.pk for u in attendees],
            "previous_meeting": numbers.previous.pk if numbers.previous else None,
            "risks": len(numbers.risks),
        },
    )
    return meeting


@transaction.atomic
def meeting_update(
    *,
    actor: User,
    meeting_id: Any,
    expected_version: int | None = None,
    notes: Any = UNSET,
    attendee_ids: Any = UNSET,
    held_on: Any = UNSET,
    now: dt.datetime | None = None,
) -> ForecastMeeting:
    """Change a meeting's notes, attendees and/or date (only what is given). The frozen
    numbers never change: they stay those of the moment the meeting was recorded, and
    its changes keep naming the meeting they were compared with. Changing nothing saves
    nothing; a change bumps `version`.

    Refuses, nothing written: a meeting outside `actor`'s scope (NotFound); anyone but a
    manager of the team or a leader/admin, e.g. a rep who attended (PermissionDenied); a
    stale `expected_version` (StaleVersion, 412); the date, attendee and notes rules of
    meeting_create (ValidationFailed); a date another meeting of the team about the
    period already has (Conflict `duplicate_meeting`)."""
    from forecasting import selectors as forecasting_selectors  # it imports this module

    pk = clean_int({}, "id", meeting_id, required=False, minimum=1, maximum=MAX_ID)
    visible = forecasting_selectors.meetings_for(actor).filter(pk=pk).values("pk")
    meeting = (
        ForecastMeeting.objects.select_for_update(of=("self",))
        .select_related("team")
        .filter(pk__in=visible)
        .first()
        if pk is not None
        else None
    )
    if meeting is None:
        raise NotFound("No such forecast meeting.")
    if not can_hold_forecast_meeting(actor, meeting.team_id):
        raise PermissionDenied(
            "Only a manager of the team (or a sales leader) can change its forecast meetings."
        )
    if expected_version is not None and expected_version != meeting.version:
        raise StaleVersion()
    errors: dict[str, list[str]] = {}
    changed: list[str] = []
    if notes is not UNSET:
        text = clean_text(errors, "notes", notes, required=False, max_length=MEETING_NOTES_MAX)
        if text != meeting.notes:
            meeting.notes = text
            changed.append("notes")
    day = meeting.held_on
    if held_on is not UNSET:
        day = _clean_meeting_held_on(errors, held_on, local_today(now))
    attendees = None
    if attendee_ids is not UNSET:
        attendees = _clean_attendees(errors, attendee_ids, meeting.team)
    if errors:
        raise ValidationFailed(details=errors)
    if day != meeting.held_on:
        period = fiscal_calendar().period_of(meeting.period_start, meeting.period_kind)
        _refuse_duplicate_meeting(meeting.team, period, day, exclude=meeting.pk)
        meeting.held_on = day
        changed.append("held_on")
    if attendees is not None:
        current = set(meeting.attendees.values_list("pk", flat=True))
        if current != {u.pk for u in attendees}:
            meeting.attendees.set(attendees)
            changed.append("attendees")
    if not changed:
        return meeting
    meeting.version += 1
    meeting.save(update_fields=[f for f in changed if f != "attendees"] + ["version", "updated_at"])
    audit_record(
        actor=actor,
        action="forecast_meeting.updated",
        target=meeting,
        data={
            "fields": changed,
            "held_on": meeting.held_on.isoformat(),
            "attendees": [u.pk for u in attendees] if attendees is not None else None,
        },
    )
    return meeting
