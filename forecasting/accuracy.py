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
import functools
import operator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import pandas as pd
from django.db import connection
from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.http import Http404
from django.utils import timezone

from forecasting import computations, rules
from forecasting import selectors as forecasting_selectors
from forecasting import services as forecasting_services
from forecasting.models import PipelineSnapshot, SubmissionLevel
from pipeline.models import Opportunity
from salesops import access, organisation
from salesops.cleaning import clean_currency
from salesops.exceptions import ValidationFailed
from salesops.models import Role, Team, User

DEFAULT_CHECKPOINTS: dict[rules.PeriodKind, tuple[int, ...]] = {
    rules.PeriodKind.QUARTER: (1, 6),
    rules.PeriodKind.MONTH: (1, 3),
}
CHECKPOINT_WEEKS = {rules.PeriodKind.QUARTER: 13, rules.PeriodKind.MONTH: 4}
MAX_PERIODS = 12
MAX_CHECKPOINTS = 4

NO_CALL = "no call"
NO_CLOSED_WON = "no closed won"
TENTH = Decimal("0.1")


def checkpoint_cutoff(period: rules.Period, week: int) -> dt.date:
    """The day checkpoint `week` of `period` has ended by (00:00 of it, exclusive): the
    Monday after week `week` — rules.week_start(period.start) + 7·week days — or the
    period's end when that is earlier."""
    return min(rules.week_start(period.start) + dt.timedelta(days=7 * week), period.end)


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


def _clean_kind(errors: dict[str, list[str]], kind: Any) -> rules.PeriodKind | None:
    try:
        return rules.PeriodKind(kind or rules.PeriodKind.QUARTER)
    except ValueError:
        errors["kind"] = ['Choose "quarter" or "month".']
        return None


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isascii() and text.isdigit() and len(text) <= 6:
        return int(text)
    return None


def _clean_periods(errors: dict[str, list[str]], periods: Any) -> int:
    number = _whole_number(periods)
    if number is None or not 1 <= number <= MAX_PERIODS:
        errors["periods"] = [f"Enter a whole number of periods from 1 to {MAX_PERIODS}."]
        return 0
    return number


def _clean_checkpoints(
    errors: dict[str, list[str]], checkpoints: Any, kind: rules.PeriodKind | None
) -> tuple[int, ...]:
    if kind is None:
        return ()
    if checkpoints in (None, ""):
        return DEFAULT_CHECKPOINTS[kind]
    weeks = CHECKPOINT_WEEKS[kind]
    message = (
        f"Give 1 to {MAX_CHECKPOINTS} different weeks of the {kind.value}, each from 1 to "
        f'{weeks}, like "1,6".'
    )
    items = checkpoints.split(",") if isinstance(checkpoints, str) else checkpoints
    try:
        values = [_whole_number(item) for item in items]
    except TypeError:  # not iterable
        values = [None]
    if (
        not values
        or len(values) > MAX_CHECKPOINTS
        or any(v is None or not 1 <= v <= weeks for v in values)
        or len(set(values)) != len(values)
    ):
        errors["checkpoints"] = [message]
        return ()
    return tuple(sorted(v for v in values if v is not None))


def _clean_level(errors: dict[str, list[str]], level: Any) -> str | None:
    if level in (None, ""):
        return None
    if level not in SubmissionLevel.values:
        errors["level"] = ['Choose "rep" or "team".']
        return None
    return str(level)


# The standing call of every chain at every checkpoint: the calls in scope (the submissions
# selector's query, compiled — so the scope rule stays in one place) against the
# checkpoints' cutoffs, the latest per chain and checkpoint by DISTINCT ON.
CALLS_HEAD = "WITH calls AS ("
CALLS_TAIL = """)
SELECT DISTINCT ON (c.submitter_id, c.level, c.team_id, c.period_start, k.checkpoint)
       c.submitter_id, c.level, c.team_id, c.period_start, k.checkpoint,
       c.id, c.submitted_at, c."commit", c.best_case, c.currency
FROM calls c
JOIN unnest(%s::date[], %s::int[], %s::timestamptz[]) AS k(period_start, checkpoint, cutoff)
  ON k.period_start = c.period_start AND c.submitted_at < k.cutoff
ORDER BY c.submitter_id, c.level, c.team_id, c.period_start, k.checkpoint,
         c.submitted_at DESC, c.id DESC
"""

ChainKey = tuple[int, str, int | None]  # submitter, level, team (None: rep level)


@dataclass
class _Person:
    name: str
    team_id: int | None
    role: str
    active: bool
    first_day: dt.date


def _name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username  # as User.__str__


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
    errors: dict[str, list[str]] = {}
    the_kind = _clean_kind(errors, kind)
    count = _clean_periods(errors, periods)
    weeks = _clean_checkpoints(errors, checkpoints, the_kind)
    the_level = _clean_level(errors, level)
    code = clean_currency(errors, currency or organisation.current().default_currency)
    if errors:
        raise ValidationFailed(details=errors)
    assert the_kind is not None

    calendar = forecasting_services.fiscal_calendar()
    newest = calendar.period_of(forecasting_services.local_today(now), the_kind).previous()
    the_periods = [newest.shifted(-back) for back in range(count - 1, -1, -1)]
    org = organisation.current()
    tz = org.tz()
    cutoffs = {
        (p.start, week): org.start_of(checkpoint_cutoff(p, week))
        for p in the_periods
        for week in weeks
    }

    # Scope: the teams a user may pick (a manager: those they manage, sub-teams included).
    teams = list(Team.objects.only("id", "name", "parent_id", "manager_id"))
    team_names = {t.pk: t.name for t in teams}
    everything = user.sees_everything
    if everything:
        managed: set[int] = set(team_names)
    elif user.is_manager:
        managed = set()
        for t in teams:
            if t.manager_id == user.pk:
                managed |= access.sub_teams_among(teams, t.pk)
    else:
        managed = set()

    picked_team = picked_person = None
    subtree: set[int] | None = None
    if team_id not in (None, ""):
        picked_team = forecasting_selectors.id_or_404(team_id, "team")
        if picked_team not in managed:
            raise Http404("No such team.")
        subtree = access.sub_teams_among(teams, picked_team)
    if person_id not in (None, ""):
        picked_person = forecasting_selectors.id_or_404(person_id, "person")
        if picked_person != user.pk:
            if not (everything or managed):  # a rep sees no one else
                raise Http404("No such person.")
            people = User.objects.filter(pk=picked_person)
            if not everything:
                people = people.filter(team_id__in=managed)
            if not people.exists():
                raise Http404("No such person.")

    # The standing calls, in one query.
    calls_qs = (
        forecasting_selectors.submissions_for(user, person=picked_person, level=the_level)
        .filter(
            period_kind=the_kind.value,
            period_start__in=[p.start for p in the_periods],
            submitted_at__lt=max(cutoffs.values()),
        )
        .order_by()
        .values(
            "id",
            "submitter_id",
            "level",
            "team_id",
            "period_start",
            "submitted_at",
            "commit",
            "best_case",
            "currency",
        )
    )
    if subtree is not None:
        calls_qs = calls_qs.filter(
            Q(level=SubmissionLevel.TEAM, team_id__in=subtree)
            | Q(level=SubmissionLevel.REP, submitter__team_id__in=subtree)
        )
    sql, params = calls_qs.query.sql_with_params()
    keys_order = list(cutoffs)
    with connection.cursor() as cursor:
        cursor.execute(
            CALLS_HEAD + sql + CALLS_TAIL,
            [
                *params,
                [start for start, _ in keys_order],
                [week for _, week in keys_order],
                [cutoffs[k] for k in keys_order],
            ],
        )
        standing = cursor.fetchall()
    calls: dict[tuple[ChainKey, dt.date, int], tuple[Any, ...]] = {}
    called_in: set[tuple[ChainKey, dt.date]] = set()
    for submitter, lvl, team, start, week, *call in standing:
        key = (submitter, lvl, team)
        calls[(key, start, week)] = tuple(call)
        called_in.add((key, start))

    # The people: those who owe calls in the scope, and every submitter of a standing call.
    if everything:
        owed_reps_q = Q(is_active=True, role=Role.REP)
        owed_teams = [t for t in teams if t.manager_id is not None]
    elif user.is_manager:
        owed_reps_q = Q(is_active=True, role=Role.REP, team_id__in=managed)
        owed_teams = [t for t in teams if t.pk in managed and t.manager_id is not None]
    else:
        owed_reps_q = Q(pk=user.pk, is_active=True, role=Role.REP)
        owed_teams = []
    submitters = {key[0] for key, _, _ in calls} | {t.manager_id for t in owed_teams}
    people: dict[int, _Person] = {}
    rows_of_people = User.objects.filter(owed_reps_q | Q(pk__in=submitters)).values_list(
        "id",
        "first_name",
        "last_name",
        "username",
        "team_id",
        "role",
        "is_active",
        "started_on",
        "date_joined",
    )
    for pk, first, last, username, team, role, active, started_on, joined in rows_of_people:
        people[pk] = _Person(
            name=_name(first, last, username),
            team_id=team,
            role=role,
            active=active,
            first_day=started_on or timezone.localtime(joined, tz).date(),
        )

    def owed_rep(pk: int) -> bool:
        p = people[pk]
        if not (p.active and p.role == Role.REP):
            return False
        return everything or (p.team_id in managed if user.is_manager else pk == user.pk)

    owed: set[ChainKey] = {(pk, SubmissionLevel.REP.value, None) for pk in people if owed_rep(pk)}
    owed |= {
        (t.manager_id, SubmissionLevel.TEAM.value, t.pk)
        for t in owed_teams
        if t.manager_id in people and people[t.manager_id].active
    }

    def wanted(key: ChainKey) -> bool:
        pk, lvl, team = key
        if pk not in people:  # a submitter deleted since: cannot happen (PROTECT)
            return False
        if picked_person is not None and pk != picked_person:
            return False
        if the_level is not None and lvl != the_level:
            return False
        if subtree is not None:
            return (team if lvl == SubmissionLevel.TEAM else people[pk].team_id) in subtree
        return True

    chains = sorted(
        (k for k in owed | {key for key, _, _ in calls} if wanted(k)),
        key=lambda k: (
            k[1],
            people[k[0]].name.lower(),
            k[0],
            (team_names.get(k[2]) or "").lower() if k[2] else "",
            k[2] or 0,
        ),
    )

    # Closed won per owner and period, in one query: the owners of the rep-level chains
    # and everyone now in the teams of the team-level chains.
    rep_owners = {k[0] for k in chains if k[1] == SubmissionLevel.REP}
    team_subtrees = {
        k[2]: access.sub_teams_among(teams, k[2])
        for k in chains
        if k[1] == SubmissionLevel.TEAM and k[2] is not None
    }
    member_teams = set().union(*team_subtrees.values()) if team_subtrees else set()
    won_by_owner: dict[int, list[Decimal]] = {}
    won_by_team: dict[int, list[Decimal]] = {}
    if chains:
        zero = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
        won_in = [forecasting_selectors.closed_won_q(p) for p in the_periods]
        deal_rows = (
            Opportunity.objects.filter(
                functools.reduce(operator.or_, won_in),
                Q(owner_id__in=rep_owners) | Q(owner__team_id__in=member_teams),
                currency=code,
                # The span of all the periods as one range too: the planner reads it from
                # the closed_at index (an OR of ranges alone it does not).
                closed_at__gte=org.start_of(min(p.start for p in the_periods)),
                closed_at__lt=org.start_of(max(p.end for p in the_periods)),
            )
            .values("owner_id", "owner__team_id")
            .annotate(
                **{f"p{i}": Sum("amount", filter=q, default=zero) for i, q in enumerate(won_in)}
            )
            .order_by()
        )
        for row in deal_rows:
            sums = [row[f"p{i}"] for i in range(len(the_periods))]
            won_by_owner[row["owner_id"]] = sums
            if row["owner__team_id"] is not None:
                team_sums = won_by_team.setdefault(
                    row["owner__team_id"], [Decimal("0")] * len(sums)
                )
                won_by_team[row["owner__team_id"]] = [
                    a + b for a, b in zip(team_sums, sums, strict=True)
                ]

    def actual(key: ChainKey, index: int) -> Decimal:
        pk, lvl, team = key
        if lvl == SubmissionLevel.REP:
            sums = won_by_owner.get(pk)
            return sums[index] if sums else Decimal("0.00")
        total = Decimal("0.00")
        for member_team in team_subtrees.get(team, ()):  # type: ignore[arg-type]
            sums = won_by_team.get(member_team)
            if sums:
                total += sums[index]
        return total

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
    return AccuracyReport(
        currency=code,
        kind=the_kind.value,
        checkpoints=weeks,
        periods=the_periods,
        person_id=picked_person,
        level=the_level,
        team_id=picked_team,
        rows=rows,
        by_person=by_person,
    )


# --- CSV ---

BY_PERSON_HEADER = [
    "person_id",
    "person",
    "level",
    "team_id",
    "team",
    "checkpoint_week",
    "periods",
    "calls",
    "accuracy_percent",
    "bias",
    "bias_percent",
    "note",
]
ROWS_HEADER = [
    "person_id",
    "person",
    "level",
    "team_id",
    "team",
    "period",
    "checkpoint_week",
    "cutoff",
    "submission_id",
    "submitted_at",
    "submitted_commit",
    "best_case",
    "actual_closed_won",
    "error",
    "best_case_error",
    "accuracy_percent",
    "note",
]


def accuracy_csv_rows(
    report: AccuracyReport, table: Literal["by_person", "rows"] = "by_person"
) -> list[list[Any]]:
    """The rows of one of the report's tables for a CSV download, the header first. Cells
    are values — Decimal, int, str, datetime, None — for forecasting.exports.csv_response,
    which writes money as plain decimals, None as an empty cell and escapes text that a
    spreadsheet would run as a formula. (Not pre-formatted strings: a negative error
    written as the text "-1200.00" would then be escaped into text.) Percentages are to
    0.1; the currency is the report's."""
    if table == "by_person":
        return [BY_PERSON_HEADER] + [
            [
                r.person_id,
                r.person_name,
                r.level,
                r.team_id,
                r.team_name,
                r.checkpoint,
                r.periods,
                r.calls,
                r.accuracy_percent,
                r.bias,
                r.bias_percent,
                r.note,
            ]
            for r in report.by_person
        ]
    if table == "rows":
        return [ROWS_HEADER] + [
            [
                r.person_id,
                r.person_name,
                r.level,
                r.team_id,
                r.team_name,
                r.period,
                r.checkpoint,
                r.cutoff,
                r.submission_id,
                r.submitted_at,
                r.submitted,
                r.best_case,
                r.actual,
                r.error,
                r.best_case_error,
                r.accuracy_percent,
                r.note,
            ]
            for r in report.rows
        ]
    raise ValueError(f'table must be "by_person" or "rows", not {table!r}.')


# --- snapshot rows ---
# GET /api/v1/forecast/snapshots/: the rows of one week's pipeline snapshot in the user's
# scope (selectors.snapshot_scope: the row's owner and team THAT week).


@dataclass(frozen=True)
class SnapshotRows:
    week: dt.date | None  # the week read (None: no snapshot has been taken yet)
    rows: QuerySet[PipelineSnapshot]


def snapshot_rows_for(
    user: User,
    *,
    week: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    period: Any = None,
) -> SnapshotRows:
    """The rows of the pipeline snapshot of `week` (a Monday, not after the current week;
    default: the latest week with a snapshot) that `user` may see, narrowed to `team_id`
    (with sub-teams; the row's team that week) and/or `owner_id`, and to the deals whose
    close date lay in `period` (a label) that week. Ordered by opportunity id; with the
    opportunity, owner, team and stage joined.

    A team or person outside the scope is a 404; a bad week or period a ValidationFailed.
    Queries: up to three to check the scope, one for the default week; the rows are one
    more (plus the page count)."""
    the_week = forecasting_selectors.wow_week(week)
    the_period = None if period in (None, "") else forecasting_services.period_from_label(period)
    scope = forecasting_selectors.snapshot_scope(user, team_id, owner_id)
    if the_week is None:
        current = rules.week_start(forecasting_services.local_today())
        with connection.cursor() as cursor:
            cursor.execute(forecasting_selectors.LATEST_WEEK_SQL, [current])
            found = cursor.fetchone()
        the_week = found[0] if found else None
    if the_week is None:
        return SnapshotRows(week=None, rows=PipelineSnapshot.objects.none())
    rows = PipelineSnapshot.objects.filter(scope.q(), week=the_week)
    if the_period is not None:
        rows = rows.filter(close_date__gte=the_period.start, close_date__lt=the_period.end)
    rows = rows.select_related("opportunity", "owner", "team", "stage").only(
        "week",
        "amount",
        "currency",
        "close_date",
        "status",
        "forecast_category",
        "opportunity__name",
        "owner__first_name",
        "owner__last_name",
        "owner__username",
        "team__name",
        "stage__name",
    )
    return SnapshotRows(week=the_week, rows=rows.order_by("opportunity_id"))
