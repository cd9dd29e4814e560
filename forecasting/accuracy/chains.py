"""The chains of calls of an accuracy report (forecasting.accuracy.report) and what it
reads about them: the scope `user` may see, the call standing at each checkpoint, the
people and the calls they owed, the chains the filters keep and the closed won of each
chain's scope."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import DecimalField, Q, Sum, Value
from django.http import Http404
from django.utils import timezone

from forecasting import selectors as forecasting_selectors
from forecasting.accuracy.arguments import AccuracyRequest
from forecasting.models import SubmissionLevel
from pipeline.models import Opportunity
from salesops import access
from salesops.models import Role, Team, User

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
class AccuracyPerson:
    name: str
    team_id: int | None
    role: str
    active: bool
    first_day: dt.date


def _name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username  # as User.__str__


@dataclass(frozen=True)
class AccuracyScope:
    """The teams, those `user` may pick (a manager: those they manage, sub-teams
    included), and the team (with its subtree) and person picked."""

    user: User
    teams: list[Team]
    team_names: dict[int, str]
    everything: bool
    managed: set[int]
    picked_team: int | None
    picked_person: int | None
    subtree: set[int] | None


# The standing call of each (chain, period start, week); the (chain, period start) with one.
Calls = dict[tuple[ChainKey, dt.date, int], tuple[Any, ...]]
CalledIn = set[tuple[ChainKey, dt.date]]


def accuracy_scope(user: User, team_id: Any, person_id: Any) -> AccuracyScope:
    """The teams `user` may pick and the team and person asked for; one outside the
    scope is a 404."""
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
    return AccuracyScope(
        user=user,
        teams=teams,
        team_names=team_names,
        everything=everything,
        managed=managed,
        picked_team=picked_team,
        picked_person=picked_person,
        subtree=subtree,
    )


def standing_calls(request: AccuracyRequest, scope: AccuracyScope) -> tuple[Calls, CalledIn]:
    """The call standing at each checkpoint, by (chain, period start, week), and the
    (chain, period start) that have one."""
    user, the_kind, the_level = scope.user, request.kind, request.level
    the_periods, cutoffs = request.periods, request.cutoffs
    picked_person, subtree = scope.picked_person, scope.subtree
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
    calls: Calls = {}
    called_in: CalledIn = set()
    for submitter, lvl, team, start, week, *call in standing:
        key = (submitter, lvl, team)
        calls[(key, start, week)] = tuple(call)
        called_in.add((key, start))
    return calls, called_in


def people_and_owed(
    request: AccuracyRequest, scope: AccuracyScope, calls: Calls
) -> tuple[dict[int, AccuracyPerson], set[ChainKey]]:
    """The people (those who owe calls in the scope, and every submitter of a standing
    call) and the chains owed: the active reps', and each team's active manager's."""
    user, teams, tz = scope.user, scope.teams, request.tz
    everything, managed = scope.everything, scope.managed
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
    people: dict[int, AccuracyPerson] = {}
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
        people[pk] = AccuracyPerson(
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
    return people, owed


def report_chains(
    request: AccuracyRequest,
    scope: AccuracyScope,
    people: dict[int, AccuracyPerson],
    owed: set[ChainKey],
    calls: Calls,
) -> list[ChainKey]:
    """The chains with rows (owed or with a call) that the filters keep, by level, person
    and team."""
    picked_person, the_level, subtree = scope.picked_person, request.level, scope.subtree
    team_names = scope.team_names

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
    return chains


def closed_won_by_chain(
    request: AccuracyRequest, scope: AccuracyScope, chains: list[ChainKey]
) -> Callable[[ChainKey, int], Decimal]:
    """The closed won of a chain's scope in the period of an index, `actual(key, index)`:
    read in one query."""
    teams, the_periods, code, org = scope.teams, request.periods, request.code, request.org
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
            sums = [row[f"p{i}"] for i in range(len(the_periods))]  # type: ignore[literal-required]  # p0.. come from **annotate()
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

    return actual
