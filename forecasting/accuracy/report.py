"""Forecast accuracy and bias of past calls, and the rows of the weekly pipeline snapshots —
reads, already scoped to the user (a selector module, like coaching/cadence.py).

Accuracy: how close each person's forecast call came to what was then won, at fixed weeks
of the period. Definitions (the arithmetic is in forecasting.computations):

- Periods: the last `periods` CLOSED fiscal periods of `kind` (month or quarter) — a period
  is closed once its end is on or before today in the organisation's timezone — oldest
  first.
- Checkpoints: weeks of the period, ISO weeks (Monday to Sunday). Week 1 is the days from
  the period's first day to the end of the week that contains it, i.e. up to the Sunday
  after rules.week_start(period.start) (a full week when the period starts on a Monday,
  one day when it starts on a Sunday); week N ends 7·(N−1) days after week 1. The cutoff
  of checkpoint N is the moment week N ends — rules.week_start(period.start) + 7·N days,
  00:00 in the organisation's timezone — but never later than the period's end.
  Checkpoints: weeks 1-13 of a quarter, 1-4 of a month (every period has begun that
  many weeks); default weeks 1 and 6 of a quarter, 1 and 3 of a month.
- The call at a checkpoint: for each chain of calls (submitter, level, team, period), the
  latest one submitted strictly before the cutoff (a tie on submitted_at: the higher id,
  written later). So a call superseded before the cutoff does not count, and one
  superseded after it does: it was the call standing at the checkpoint.
- Submitted = that call's commit (its best case is reported beside it). The comparison
  is in one currency (`currency`, default the organisation's): a call standing in
  another currency is reported as such ("call in USD") and not compared.
- Actual = closed won in the period (selectors.closed_won_q, the forecast summary's
  definition) in that currency: for a rep-level call, of the deals the rep owns now; for a
  team-level call, of the deals of everyone now in the team or its sub-teams — the scopes
  forecast_summary uses for an owner and for a team.
- error = submitted − actual (positive: over-forecast); accuracy = 1 − |error| ÷ actual;
  an actual of 0 has no accuracy ("no closed won"); no call at all: "no call".

Who has rows (one per person, level, team, period and checkpoint): every chain with a
call in the period, at each checkpoint (a checkpoint before its first call is "no call");
and everyone who owed a call but made none — the active reps (rep level) and the active
manager of each team (team level, for that team), as `not_submitted_this_week` counts
them — from the checkpoint on which they had started (User.started_on, else the day the
account was created). Who owed a team's call in the past is not recorded: it is the
team's manager now.

Scope, as forecast_summary and submissions_for: a rep sees their own calls; a manager
their own, those of the reps now in the teams they manage (sub-teams included) and the
team-level calls for those teams; a leader or admin everything. `person_id`, `team_id`
(the team's calls and its reps', sub-teams included) and `level` narrow it; a person or
team outside the scope is a 404, a bad level, kind, number of periods, checkpoint list or
currency a ValidationFailed naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from django.http import Http404

from forecasting import computations, rules
from forecasting.accuracy.arguments import AccuracyRequest, accuracy_request
from forecasting.accuracy.chains import (
    AccuracyPerson,
    AccuracyScope,
    CalledIn,
    Calls,
    ChainKey,
    accuracy_scope,
    closed_won_by_chain,
    people_and_owed,
    report_chains,
    standing_calls,
)
from forecasting.models import SubmissionLevel
from salesops.models import User

NO_CALL = "no call"
NO_CLOSED_WON = "no closed won"
TENTH = Decimal("0.1")


def _percent(value: float | None) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(str(value)) * 100).quantize(TENTH, ROUND_HALF_UP)


@dataclass(frozen=True)
class AccuracyRow:
    """One call (or its absence) at one checkpoint of one period."""

    person_id: int
    person_name: str
    level: str  # "rep" or "team"
    team_id: int | None  # team level: the team called for; rep level: the rep's team now
    team_name: str | None
    period: str  # the period's label
    checkpoint: int  # the week of the period
    cutoff: dt.datetime  # the call counted is the latest submitted before this moment
    submission_id: int | None
    submitted_at: dt.datetime | None
    submitted: Decimal | None  # the commit; None: no call (or a call in another currency)
    best_case: Decimal | None
    actual: Decimal  # closed won of the scope in the period
    error: Decimal | None  # submitted − actual
    best_case_error: Decimal | None
    accuracy: float | None  # 1 − |error| ÷ actual
    note: str  # "" (compared), "no call", "call in USD", "no closed won"

    @property
    def accuracy_percent(self) -> Decimal | None:
        return _percent(self.accuracy)


@dataclass(frozen=True)
class AccuracyPersonRow:
    """One person, level and team at one checkpoint, over the report's periods."""

    person_id: int
    person_name: str
    level: str
    team_id: int | None
    team_name: str | None
    checkpoint: int
    periods: int  # periods with a row (a call, or a call owed)
    calls: int  # … of which with a call compared
    accuracy: float | None  # mean accuracy of the periods that have one
    accuracy_periods: int
    bias: Decimal | None  # mean error of the calls
    bias_ratio: float | None  # Σ error ÷ Σ actual of the calls
    note: str  # "" or "no call" (none at all) or "no closed won" (no accuracy anywhere)

    @property
    def accuracy_percent(self) -> Decimal | None:
        return _percent(self.accuracy)

    @property
    def bias_percent(self) -> Decimal | None:
        return _percent(self.bias_ratio)


@dataclass(frozen=True)
class AccuracyReport:
    currency: str
    kind: str
    checkpoints: tuple[int, ...]
    periods: list[rules.Period]  # oldest first
    person_id: int | None  # the filters asked for
    level: str | None
    team_id: int | None
    rows: list[AccuracyRow]  # by person, level, team; then period, checkpoint
    by_person: list[AccuracyPersonRow]  # by person, level, team; then checkpoint


def forecast_accuracy(
    user: User,
    *,
    person_id: Any = None,
    level: Any = None,
    team_id: Any = None,
    kind: Any = "quarter",
    periods: Any = 4,
    checkpoints: Any = None,
    currency: Any = None,
    now: dt.datetime | None = None,
) -> AccuracyReport:
    """The accuracy and bias of the forecast calls `user` may see over the last `periods`
    closed periods of `kind`, at `checkpoints` (weeks of the period; a sequence or "1,6").
    Definitions, who has rows and the scope: see the module's docstring.

    Queries: the teams, the person asked for (when one is and it is not `user`), the
    standing calls, the people, one GROUP BY of the closed won per owner with a FILTERed
    sum per period — five at most, however many people, calls, deals and periods."""
    if not (user.is_authenticated and user.is_active):
        raise Http404("Not found.")
    request = accuracy_request(kind, periods, checkpoints, level, currency, now)
    scope = accuracy_scope(user, team_id, person_id)
    calls, called_in = standing_calls(request, scope)
    people, owed = people_and_owed(request, scope, calls)
    chains = report_chains(request, scope, people, owed, calls)
    actual = closed_won_by_chain(request, scope, chains)
    rows, groups, frame_rows = _accuracy_rows(
        request, scope, chains, people, owed, calls, called_in, actual
    )
    by_person = _by_person(scope, chains, people, groups, frame_rows)
    return AccuracyReport(
        currency=request.code,
        kind=request.kind.value,
        checkpoints=request.weeks,
        periods=request.periods,
        person_id=scope.picked_person,
        level=request.level,
        team_id=scope.picked_team,
        rows=rows,
        by_person=by_person,
    )


def _accuracy_rows(
    request: AccuracyRequest,
    scope: AccuracyScope,
    chains: list[ChainKey],
    people: dict[int, AccuracyPerson],
    owed: set[ChainKey],
    calls: Calls,
    called_in: CalledIn,
    actual: Callable[[ChainKey, int], Decimal],
) -> tuple[list[AccuracyRow], dict[tuple[ChainKey, int], int], list[tuple[int, Any, Decimal]]]:
    """A row per chain, period and checkpoint where there is a call or one was owed;
    with the group (chain, week) of each and the (group, submitted, actual) to sum."""
    the_periods, weeks, cutoffs = request.periods, request.weeks, request.cutoffs
    code, team_names = request.code, scope.team_names
    rows: list[AccuracyRow] = []
    groups: dict[tuple[ChainKey, int], int] = {}
    frame_rows: list[tuple[int, Decimal | None, Decimal]] = []
    for key in chains:
        pk, lvl, team = key
        person = people[pk]
        shown_team = team if lvl == SubmissionLevel.TEAM else person.team_id
        for index, period in enumerate(the_periods):
            value = actual(key, index)
            for week in weeks:
                cutoff = cutoffs[(period.start, week)]
                call = calls.get((key, period.start, week))
                if call is None and not (
                    (key, period.start) in called_in
                    or (key in owed and person.first_day < cutoff.date())
                ):
                    continue
                submitted = best = None
                submission_id = submitted_at = None
                note = ""
                if call is None:
                    note = NO_CALL
                else:
                    submission_id, submitted_at, commit, best_case, call_currency = call
                    if call_currency != code:
                        note = f"call in {call_currency}"
                    else:
                        submitted, best = commit, best_case
                if submitted is not None and not value:
                    note = NO_CLOSED_WON
                rows.append(
                    AccuracyRow(
                        person_id=pk,
                        person_name=person.name,
                        level=lvl,
                        team_id=shown_team,
                        team_name=team_names.get(shown_team) if shown_team else None,
                        period=period.label,
                        checkpoint=week,
                        cutoff=cutoff,
                        submission_id=submission_id,
                        submitted_at=submitted_at,
                        submitted=submitted,
                        best_case=best,
                        actual=value,
                        error=computations.forecast_error(submitted, value),
                        best_case_error=computations.forecast_error(best, value),
                        accuracy=computations.ratio(
                            computations.forecast_accuracy(submitted, value)
                        ),
                        note=note,
                    )
                )
                group = groups.setdefault((key, week), len(groups))
                frame_rows.append((group, submitted, value))
    return rows, groups, frame_rows


def _by_person(
    scope: AccuracyScope,
    chains: list[ChainKey],
    people: dict[int, AccuracyPerson],
    groups: dict[tuple[ChainKey, int], int],
    frame_rows: list[tuple[int, Any, Decimal]],
) -> list[AccuracyPersonRow]:
    """A row per chain and checkpoint over the periods (computations.accuracy_summary), in
    the chains' order."""
    team_names = scope.team_names
    summary = computations.accuracy_summary(
        pd.DataFrame(frame_rows, columns=computations.ACCURACY_COLUMNS)
    )
    by_group = {int(r.group): r for r in summary.itertuples(index=False)}
    position = {key: index for index, key in enumerate(chains)}
    by_person = []
    for (key, week), group in sorted(
        groups.items(), key=lambda item: (position[item[0][0]], item[0][1])
    ):
        pk, lvl, team = key
        s = by_group[group]
        shown_team = team if lvl == SubmissionLevel.TEAM else people[pk].team_id
        if s.calls == 0:
            note = NO_CALL
        elif s.accuracy_periods == 0:
            note = NO_CLOSED_WON
        else:
            note = ""
        by_person.append(
            AccuracyPersonRow(
                person_id=pk,
                person_name=people[pk].name,
                level=lvl,
                team_id=shown_team,
                team_name=team_names.get(shown_team) if shown_team else None,
                checkpoint=week,
                periods=int(s.periods),
                calls=int(s.calls),
                accuracy=None if pd.isna(s.accuracy) else float(s.accuracy),
                accuracy_periods=int(s.accuracy_periods),
                bias=s.bias if isinstance(s.bias, Decimal) else None,
                bias_ratio=None if pd.isna(s.bias_ratio) else float(s.bias_ratio),
                note=note,
            )
        )
    return by_person
