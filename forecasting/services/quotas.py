"""Quotas: set one (a rep's or a team's, for a fiscal month or quarter), a new hire's ramp,
change or delete one, and save the quota page's grid all or nothing. Administrators and
sales leaders set quotas; a manager only their new hire's ramp."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from forecasting import rules
from forecasting.models import Quota
from forecasting.services.common import MAX_ID
from forecasting.services.periods import fiscal_calendar, local_today, period_from_label
from salesops import access, organisation
from salesops.cleaning import clean_amount, clean_currency, clean_int
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import Role, Team, User
from salesops.services import audit_record

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
    # Without a rep, its start date or a valid amount `errors` is not empty (raised above).
    assert rep is not None and rep.started_on is not None and value is not None
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
    assert value is not None  # clean_amount's None comes with an error (raised above)
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
