"""Forecast submissions: immutable calls (commit / best case) of a rep for themselves or of
a manager (or leader) for a team (forecast_submit), with what they store and check — the
summary's figures as JSON, the team's reps' latest calls and their sum. See
forecasting.models.ForecastSubmission."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from forecasting import rules
from forecasting.models import ForecastSubmission, SubmissionLevel
from forecasting.services.common import MAX_ID
from forecasting.services.periods import local_today, period_from_label
from salesops import access, organisation
from salesops.cleaning import clean_amount, clean_currency, clean_int, clean_text
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import Role, Team, User
from salesops.services import audit_record

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable, NegatedExpression

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


def latest_submissions_q() -> NegatedExpression[Combinable]:
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
        assert pk is not None  # required: its None comes with an error (raised above)
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
