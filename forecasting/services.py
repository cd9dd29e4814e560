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
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from forecasting import rules
from forecasting.models import Quota
from salesops.cleaning import clean_amount, clean_currency, clean_int
from salesops.exceptions import NotFound, PermissionDenied, ValidationFailed
from salesops.models import Team, User
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
    """The organisation's fiscal calendar (settings.FISCAL_YEAR_START_MONTH)."""
    return rules.FiscalCalendar(settings.FISCAL_YEAR_START_MONTH)


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the organisation's timezone (settings.TIME_ZONE), whatever timezone the
    current request activated."""
    return timezone.localtime(now or timezone.now(), timezone.get_default_timezone()).date()


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
    week_end = dt.datetime.combine(
        week + dt.timedelta(days=7), dt.time.min, tzinfo=timezone.get_default_timezone()
    )
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


def _refuse_unless_quota_admin(actor: User) -> None:
    if not (actor.is_authenticated and actor.is_active and actor.is_admin_role):
        raise PermissionDenied("Only an administrator can set quotas.")


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
    whether it was created. `currency` defaults to settings.DEFAULT_CURRENCY.

    Refuses: a non-administrator (PermissionDenied); a bad period label; neither or both
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
    code = clean_currency(errors, currency or settings.DEFAULT_CURRENCY)
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


@transaction.atomic
def quota_update(*, actor: User, quota_id: int, amount: Any = None, currency: Any = None) -> Quota:
    """Change a quota's amount and/or currency; its period and rep or team stay.

    Refuses: a non-administrator (PermissionDenied); no such quota (NotFound); a negative,
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

    Refuses a non-administrator (PermissionDenied); no such quota is a NotFound."""
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
