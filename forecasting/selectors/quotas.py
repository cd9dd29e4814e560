"""Quota reads: the quotas a user may see, the quota page's grid, and the quota figures
other apps take (a new hire's suggested quota, attainment over a date range)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from forecasting import rules
from forecasting import services as forecasting_services
from forecasting.models import Quota, QuotaPeriodKind
from salesops import access
from salesops.models import Role, Team, User

# --- quotas ---
# Quotas read in the user's scope, and the quota page's grid.


def quota_list_for(user: User) -> QuerySet[Quota]:
    """The quotas `user` may see: a rep their own; a manager their own and those of their
    teams (sub-teams included) and of those teams' reps; a leader or admin all. Newest
    period first."""
    quotas = Quota.objects.select_related("rep", "team").order_by(
        "-period_start", "period_kind", "team__name", "rep__username", "id"
    )
    if not (user.is_authenticated and user.is_active):
        return quotas.none()
    if user.sees_everything:
        return quotas
    if user.is_manager:
        managed = access.managed_team_ids_sql(user)
        return quotas.filter(Q(rep=user) | Q(rep__team_id__in=managed) | Q(team_id__in=managed))
    return quotas.filter(rep=user)


def quota_get_for(user: User, pk: int) -> Quota:
    """One quota in `user`'s scope; outside it (or no such quota) is a 404."""
    return get_object_or_404(quota_list_for(user), pk=pk)


def typical_rep_monthly_quota(team_id: int | None, day: dt.date, currency: str) -> Decimal | None:
    """The median monthly quota of the team's active reps for the fiscal month containing
    `day` (a rep with a quarter quota counts a third of it), in `currency`; None when none
    has one — what a new hire's full quota is suggested from. One query."""
    if team_id is None:
        return None
    calendar = forecasting_services.fiscal_calendar()
    month = calendar.period_of(day, rules.PeriodKind.MONTH)
    quarter = calendar.period_of(day, rules.PeriodKind.QUARTER)
    rows = Quota.objects.filter(
        Q(period_kind=QuotaPeriodKind.MONTH, period_start=month.start)
        | Q(period_kind=QuotaPeriodKind.QUARTER, period_start=quarter.start),
        rep__team_id=team_id,
        rep__is_active=True,
        rep__role=Role.REP,
        currency=currency,
    ).values_list("rep_id", "period_kind", "amount")
    monthly: dict[int, Decimal] = {}
    for rep_id, kind, amount in rows:
        if kind == QuotaPeriodKind.MONTH:
            monthly[rep_id] = amount  # a month quota is the nearer figure
        else:
            monthly.setdefault(rep_id, (amount / 3).quantize(rules.CENT))
    amounts = sorted(monthly.values())
    if not amounts:
        return None
    middle = len(amounts) // 2
    if len(amounts) % 2:
        return amounts[middle]
    return ((amounts[middle - 1] + amounts[middle]) / 2).quantize(rules.CENT)


def rep_quotas_within(
    rep_ids: Iterable[int], *, start: dt.date, end: dt.date, currency: str
) -> dict[int, Decimal]:
    """Each rep's quota for the fiscal periods lying wholly inside [start, end], in
    `currency`: their quarter quotas, or, for a rep with none there, their month quotas
    (a rep's quota is set per quarter or per month, not both). Reps without one are absent.
    One query; for attainment over a date range (insights)."""
    # A period (starting on a 1st) lies inside when it starts on or after `start` and the
    # 1st that follows it is no later than the day after `end`.
    after_end = end + dt.timedelta(days=1)

    def last_start(months: int) -> dt.date:
        year, month = rules.add_months(after_end.year, after_end.month, -months)
        return dt.date(year, month, 1)

    rows = (
        Quota.objects.filter(rep_id__in=list(rep_ids), currency=currency, period_start__gte=start)
        .filter(
            Q(period_kind=QuotaPeriodKind.QUARTER, period_start__lte=last_start(3))
            | Q(period_kind=QuotaPeriodKind.MONTH, period_start__lte=last_start(1))
        )
        .values_list("rep_id", "period_kind", "amount")
    )
    by_kind: dict[int, dict[str, Decimal]] = {}
    for rep_id, kind, amount in rows:
        kinds = by_kind.setdefault(rep_id, {})
        kinds[kind] = kinds.get(kind, Decimal("0")) + amount
    return {
        rep_id: kinds.get(QuotaPeriodKind.QUARTER, kinds.get(QuotaPeriodKind.MONTH, Decimal("0")))
        for rep_id, kinds in by_kind.items()
    }


def quota_period_label(quota: Quota) -> str:
    """The label of a quota's period in the organisation's fiscal calendar."""
    calendar = forecasting_services.fiscal_calendar()
    return calendar.period_of(quota.period_start, quota.period_kind).label


@dataclass(frozen=True)
class QuotaRow:
    """One row of the quota page: a person or a team, and its quota for the period."""

    kind: str  # "rep" (a person) or "team"
    id: int
    name: str
    detail: str  # a person's team; a team's parent team
    quota: Quota | None
    is_active: bool = True  # a person who left keeps a quota set before
    depth: int = 0  # a team's depth in the team tree shown
    # A team without a quota of its own counts as the sum of the quotas of the reps in it
    # and its sub-teams, per currency (forecast_summary's rule): shown by its empty cell.
    reps_sum: tuple[tuple[str, Decimal], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"


@dataclass(frozen=True)
class QuotaGrid:
    period: rules.Period
    people: list[QuotaRow]
    teams: list[QuotaRow]

    @property
    def rows(self) -> list[QuotaRow]:
        return [*self.people, *self.teams]


def quota_grid_for(user: User, period: rules.Period) -> QuotaGrid:
    """The quota page of `period` as `user` may see it, by the API's rules
    (`quota_list_for`): an administrator or leader every active rep and everyone else with
    a quota in the period, and every team; a manager those of them in their teams
    (sub-teams included) and themselves when they have a quota, and those teams; a rep
    themselves. Three queries however many people and teams."""
    if not (user.is_authenticated and user.is_active):
        return QuotaGrid(period=period, people=[], teams=[])
    teams = list(Team.objects.only("id", "name", "parent_id", "manager_id").order_by("name", "id"))
    names: dict[int | None, str] = {t.pk: t.name for t in teams}
    quotas = list(
        Quota.objects.filter(period_kind=period.kind.value, period_start=period.start)
        .select_related("rep")
        .order_by("id")
    )
    by_person = {q.rep_id: q for q in quotas if q.rep_id}
    by_team = {q.team_id: q for q in quotas if q.team_id}
    # Active reps, and whoever has a quota in the period (a manager, someone who left).
    people_q = Q(role=Role.REP, is_active=True) | Q(pk__in=list(by_person))
    shown_teams: set[int] | None = None  # None: every team
    if user.is_manager and not user.sees_everything:
        # The teams they manage, sub-teams included (from the teams read above).
        shown_teams = set().union(
            *(access.sub_teams_among(teams, t.pk) for t in teams if t.manager_id == user.pk)
        )
        people_q &= Q(team_id__in=shown_teams) | Q(pk=user.pk)
    elif not user.sees_everything:
        shown_teams = set()
        people_q = Q(pk=user.pk)
    people = [
        QuotaRow(
            kind="rep",
            id=person.pk,
            name=str(person),
            detail=names.get(person.team_id, ""),
            quota=by_person.get(person.pk),
            is_active=person.is_active,
        )
        for person in User.objects.filter(people_q).only(
            "id", "first_name", "last_name", "username", "team_id", "is_active"
        )
    ]
    people.sort(key=lambda r: (r.detail == "", r.detail.casefold(), r.name.casefold(), r.id))
    return QuotaGrid(
        period=period,
        people=people,
        teams=_quota_team_rows(teams, shown_teams, by_team, quotas),
    )


def _quota_team_rows(
    teams: list[Team],
    shown: set[int] | None,
    by_team: dict[int, Quota],
    quotas: list[Quota],
) -> list[QuotaRow]:
    """The teams in tree order (each under its parent, siblings by name), with the sum of
    the quotas of the reps in each subtree."""
    children: dict[int | None, list[Team]] = {}
    for team in teams:
        children.setdefault(team.parent_id, []).append(team)
    names: dict[int | None, str] = {t.pk: t.name for t in teams}
    rep_quotas = [q for q in quotas if q.rep_id]
    rows: list[QuotaRow] = []
    seen: set[int] = set()

    def visit(team: Team, depth: int) -> None:
        if team.pk in seen:  # a cycle of parents stops where it closes
            return
        seen.add(team.pk)
        if shown is None or team.pk in shown:
            subtree = access.sub_teams_among(teams, team.pk)
            sums: dict[str, Decimal] = {}
            for q in rep_quotas:
                assert q.rep is not None  # rep_quotas are the quotas with a rep
                if q.rep.team_id in subtree:
                    sums[q.currency] = sums.get(q.currency, Decimal("0")) + q.amount
            rows.append(
                QuotaRow(
                    kind="team",
                    id=team.pk,
                    name=team.name,
                    detail=names.get(team.parent_id, ""),
                    quota=by_team.get(team.pk),
                    depth=depth,
                    reps_sum=tuple(sorted(sums.items())),
                )
            )
            depth += 1
        for child in children.get(team.pk, []):
            visit(child, depth)

    roots = [t for t in teams if t.parent_id is None or t.parent_id not in names]
    for root in roots:
        visit(root, 0)
    for team in teams:  # teams only reachable through a cycle
        visit(team, 0)
    return rows
