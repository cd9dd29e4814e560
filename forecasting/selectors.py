"""Forecasting reads."""

from __future__ import annotations

import datetime as dt

# --- quotas (imports) ---
import functools
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd  # --- forecast from history (imports) ---
from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

# --- forecast from history (imports) ---
from forecasting import computations as history_computations
from forecasting import freshness, rules
from forecasting import services as forecasting_services
from forecasting.models import (
    ForecastMeeting,
    ForecastSubmission,
    Quota,
    QuotaPeriodKind,
    SubmissionLevel,
)
from pipeline.models import (
    ChangeField,
    FlagSeverity,
    ForecastCategory,
    Opportunity,
    OpportunityChange,
    OpportunityFlag,
    OpportunityStatus,
)
from salesops import access, organisation
from salesops.cleaning import clean_currency, query_int
from salesops.exceptions import ValidationFailed
from salesops.models import Role, Team, User

# The distinct weeks as a loose index scan of the (week, owner) index: one index probe per
# week instead of reading every row (~600,000 a week at a million deals).
WEEKS_SQL = """
WITH RECURSIVE weeks AS (
    (SELECT week FROM forecasting_pipelinesnapshot ORDER BY week DESC LIMIT 1)
    UNION ALL
    SELECT (SELECT s.week FROM forecasting_pipelinesnapshot s
            WHERE s.week < w.week ORDER BY s.week DESC LIMIT 1)
    FROM weeks w WHERE w.week IS NOT NULL
)
SELECT week FROM weeks WHERE week IS NOT NULL
"""


def snapshot_weeks() -> list[dt.date]:
    """The weeks (their Mondays) that have a pipeline snapshot, newest first. Snapshots
    are organisation-wide facts; who may see which rows is decided by the reads of the
    rows themselves, not here."""
    with connection.cursor() as cursor:
        cursor.execute(WEEKS_SQL)
        return [row[0] for row in cursor.fetchall()]


# --- quotas ---
# Quotas (read in the user's scope) and the forecast summary of a period.


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
    names = {t.pk: t.name for t in teams}
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
    names = {t.pk: t.name for t in teams}
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


@dataclass(frozen=True)
class SummaryRow:
    """One row of a breakdown: a team (id None: owners without a team) or an owner."""

    id: int | None
    name: str
    team_id: int | None
    figures: rules.ForecastFigures


@dataclass(frozen=True)
class ForecastSummary:
    period: rules.Period
    currency: str
    team_id: int | None  # the team asked for (None: not narrowed to a team)
    owner_id: int | None  # the owner asked for
    totals: rules.ForecastFigures
    by_team: list[SummaryRow]
    by_owner: list[SummaryRow]


def _name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username  # as User.__str__


def _added(figures: Iterable[rules.ForecastFigures]) -> rules.ForecastFigures:
    return functools.reduce(operator.add, figures, rules.ZERO_FIGURES)


def id_or_404(value: Any, what: str) -> int:
    """A team or person id from a query string; anything else is a 404 (as if there were no
    such record), never a 500."""
    number = query_int(value)
    if not number:  # None, or 0 (no record has it)
        raise Http404(f"No such {what}.")
    return number


def period_or_current(period_label: Any) -> rules.Period:
    """The period of `period_label`; none: the current fiscal quarter. A bad label is a
    ValidationFailed with the parser's message in details.period."""
    if period_label in (None, ""):
        return forecasting_services.fiscal_calendar().period_of(
            forecasting_services.local_today(), rules.PeriodKind.QUARTER
        )
    return forecasting_services.period_from_label(period_label)


def closed_won_q(period: rules.Period) -> Q:
    """Closed won in `period`, on Opportunity: won deals with closed_at in the period
    (from its first day, 00:00, up to its end, in the organisation's timezone). The one
    definition: forecast_summary and forecast accuracy (forecasting.accuracy) both use it."""
    org = organisation.current()
    return Q(
        status=OpportunityStatus.WON,
        closed_at__gte=org.start_of(period.start),
        closed_at__lt=org.start_of(period.end),
    )


# The deals behind each figure of the forecast summary: the ONE definition, used by
# forecast_summary's sums and by the dashboard's drill-down (forecasting.dashboard), so the
# deals listed for a number always add up to it.
SUMMARY_FIGURES = (
    "closed_won",
    "commit",
    "best_case",
    "pipeline",
    "open_pipeline",
    "commit_cumulative",
    "best_case_cumulative",
    "pipeline_cumulative",
    "weighted_pipeline",
)
WEIGHTED_RAW = ExpressionWrapper(
    F("amount") * F("stage__probability"),
    output_field=DecimalField(max_digits=20, decimal_places=2),
)


def open_in_period_q(period: rules.Period) -> Q:
    """Open deals with close_date in `period` (on Opportunity)."""
    return Q(status=OpportunityStatus.OPEN, close_date__gte=period.start, close_date__lt=period.end)


def summary_figure_filters(period: rules.Period) -> dict[str, Q]:
    """Per figure of SUMMARY_FIGURES, the filter on Opportunity selecting the deals whose
    amounts make it (weighted_pipeline: whose amount × stage probability ÷ 100 make it):
    closed won by closed_won_q; the open categories are open deals closing in the period
    by their own forecast_category ('closed' counts as commit, omitted nowhere); the
    cumulative figures are the unions. Scope and currency are applied by the caller."""
    won = closed_won_q(period)
    open_in_period = open_in_period_q(period)

    def category(*names: str) -> Q:
        return open_in_period & Q(forecast_category__in=names)

    commit = category(ForecastCategory.COMMIT, ForecastCategory.CLOSED)
    best_case = category(ForecastCategory.BEST_CASE)
    pipeline = category(ForecastCategory.PIPELINE)
    return {
        "closed_won": won,
        "commit": commit,
        "best_case": best_case,
        "pipeline": pipeline,
        "open_pipeline": commit | best_case | pipeline,
        "commit_cumulative": won | commit,
        "best_case_cumulative": won | commit | best_case,
        "pipeline_cumulative": won | commit | best_case | pipeline,
        "weighted_pipeline": open_in_period & ~Q(forecast_category=ForecastCategory.OMITTED),
    }


@dataclass(frozen=True)
class SummaryScope:
    """Whom a forecast summary covers (see forecast_summary): the teams (all of them, for
    the quotas' roll-ups), those `user` may pick, the team and owner picked, the teams in
    scope (None: every team), the filter on deals and the same rule on (owner, team)."""

    teams: list[Team]
    team_names: dict[int, str]
    pickable: set[int]
    picked_team: int | None
    picked_owner: int | None
    scope_teams: frozenset[int] | None
    deals_q: Q
    subtree_of: Callable[[int], frozenset[int]]
    in_scope: Callable[[int, int | None], bool]


def summary_scope(user: User, team_id: Any = None, owner_id: Any = None) -> SummaryScope:
    """The scope of forecast_summary for `user`, `team_id` and `owner_id`, with its 404s
    (a team or owner outside `user`'s visibility, a rep picking a team, an owner outside
    the picked team). Queries: the teams, and the owner when one is picked."""
    teams = list(Team.objects.only("id", "name", "parent_id", "manager_id"))
    team_names = {t.pk: t.name for t in teams}
    subtrees: dict[int, frozenset[int]] = {}

    def subtree_of(pk: int) -> frozenset[int]:
        if pk not in subtrees:
            subtrees[pk] = frozenset(access.sub_teams_among(teams, pk))
        return subtrees[pk]

    if user.sees_everything:
        pickable: set[int] = set(team_names)
    elif user.is_manager:
        pickable = set()
        for t in teams:
            if t.manager_id == user.pk:
                pickable |= subtree_of(t.pk)
    else:
        pickable = set()

    picked_team = picked_owner = None
    scope_teams: frozenset[int] | None = None  # None: every team (company)
    if team_id not in (None, ""):
        picked_team = id_or_404(team_id, "team")
        if picked_team not in pickable:
            raise Http404("No such team.")
        scope_teams = subtree_of(picked_team)
    if owner_id not in (None, ""):
        picked_owner = id_or_404(owner_id, "person")
        owner_row = User.objects.filter(pk=picked_owner).values("team_id").first()
        visible = owner_row is not None and (
            user.sees_everything
            or picked_owner == user.pk
            or (user.is_manager and owner_row["team_id"] in pickable)
        )
        if not visible or (scope_teams is not None and owner_row["team_id"] not in scope_teams):
            raise Http404("No such owner.")

    # Who is in the scope: a filter on deals and the same rule on (owner, owner's team).
    if picked_owner is not None:
        deals_q = Q(owner_id=picked_owner)

        def in_scope(owner: int, team: int | None) -> bool:
            return owner == picked_owner
    elif scope_teams is not None:
        deals_q = Q(owner__team_id__in=scope_teams)

        def in_scope(owner: int, team: int | None) -> bool:
            return team in scope_teams
    elif user.sees_everything:
        deals_q = Q()

        def in_scope(owner: int, team: int | None) -> bool:
            return True
    else:  # a manager (their teams and themselves) or a rep (pickable is empty)
        deals_q = Q(owner_id=user.pk) | Q(owner__team_id__in=pickable)

        def in_scope(owner: int, team: int | None) -> bool:
            return owner == user.pk or team in pickable

    return SummaryScope(
        teams=teams,
        team_names=team_names,
        pickable=pickable,
        picked_team=picked_team,
        picked_owner=picked_owner,
        scope_teams=scope_teams,
        deals_q=deals_q,
        subtree_of=subtree_of,
        in_scope=in_scope,
    )


def summary_figure_deals(
    user: User,
    figure: Any,
    period_label: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    *,
    currency: Any = None,
) -> tuple[rules.Period, str, SummaryScope, QuerySet[Opportunity]]:
    """The deals behind one figure of forecast_summary(user, period_label, team_id,
    owner_id, currency=currency): the same checks (a bad period or currency, and a figure
    not in SUMMARY_FIGURES, are a ValidationFailed; outside the scope a 404), the same
    scope and the same filter. Returns the period, the currency, the scope and the deals
    (unordered). Queries: the scope's (one or two); the deals are not read yet."""
    if not (user.is_authenticated and user.is_active):
        raise Http404("Not found.")
    period = period_or_current(period_label)
    errors: dict[str, list[str]] = {}
    code = clean_currency(errors, currency or organisation.current().default_currency)
    if figure not in SUMMARY_FIGURES:
        errors["figure"] = [f"Pick a figure: {', '.join(SUMMARY_FIGURES)}."]
    if errors:
        raise ValidationFailed(details=errors)
    scope = summary_scope(user, team_id, owner_id)
    deals = Opportunity.objects.filter(
        scope.deals_q, summary_figure_filters(period)[figure], currency=code
    )
    return period, code, scope, deals


def forecast_summary(
    user: User,
    period_label: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    *,
    currency: Any = None,
) -> ForecastSummary:
    """The forecast numbers of a period (a label; default: the current fiscal quarter)
    for a scope, with breakdowns by team and by owner. All in one currency (`currency`,
    default the organisation's): deals and quotas in other currencies are left
    out, never converted or added.

    The scope: `owner_id` (one owner), else `team_id` (the team with its sub-teams), else
    what `user` sees — a rep themselves, a manager their teams (sub-teams included) and
    themselves, a leader or admin the company. A team or owner outside `user`'s
    visibility (or that does not exist) is a 404; a rep cannot pick a team (404); an owner
    outside the picked team is a 404. A bad period label or currency is a
    ValidationFailed.

    Credit: a deal counts for its owner NOW and that owner's CURRENT team — a won deal is
    credited to whoever owns it (normally its owner at close), but the owner's team at
    close is not recorded, so a rep who changed teams mid-period takes their closed won
    to the new team. Closed won = won deals with closed_at in the period (organisation's
    timezone); the open categories read open deals with close_date in the period, by the
    deal's own forecast_category (an override counts as overridden; an open deal in a
    'closed' category counts as commit; omitted deals count nowhere, not in weighted).

    Quotas: an owner's is their quota for the period. A team's is its own quota if set,
    else the sum of the quotas of the reps currently in it and its sub-teams (a sub-team's
    own team quota does not feed its parent's default). The company's is the sum of the
    top-level teams' quotas (each set or summed as above) and of the quotas of reps in no
    team; a manager's default scope sums the top-most of their teams the same way. No
    quota set anywhere in a scope: quota None.

    by_team: every team in the scope, each rolled up with its sub-teams (so rows overlap
    when teams nest), plus a "No team" row on the company scope when owners without a
    team have deals or quotas; empty for an owner scope. by_owner: every owner in the
    scope with a deal or a quota in the period.

    Queries: the teams, the owner picked (when one is), one GROUP BY of the deals per
    owner with FILTERed sums, the period's quotas — four at most, however many deals,
    owners and teams."""
    if not (user.is_authenticated and user.is_active):
        raise Http404("Not found.")
    period = period_or_current(period_label)
    errors: dict[str, list[str]] = {}
    code = clean_currency(errors, currency or organisation.current().default_currency)
    if errors:
        raise ValidationFailed(details=errors)

    scope = summary_scope(user, team_id, owner_id)
    teams, team_names, pickable = scope.teams, scope.team_names, scope.pickable
    subtree_of, in_scope = scope.subtree_of, scope.in_scope
    picked_team, picked_owner = scope.picked_team, scope.picked_owner
    scope_teams = scope.scope_teams

    figure_q = summary_figure_filters(period)
    won = figure_q["closed_won"]
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))

    def category(figure: str) -> Sum:
        return Sum("amount", filter=figure_q[figure], default=zero)

    deal_rows = (
        Opportunity.objects.filter(scope.deals_q, won | open_in_period_q(period), currency=code)
        # Grouped by the owner alone, their team and names taken with Max (one value per
        # owner): the planner then expects one group per owner and hashes them, where
        # grouping by the five columns made it sort every deal (measured at 1M deals).
        .values("owner_id")
        .annotate(
            owner__team_id=Max("owner__team_id"),
            owner__first_name=Max("owner__first_name"),
            owner__last_name=Max("owner__last_name"),
            owner__username=Max("owner__username"),
            closed_won=category("closed_won"),
            commit=category("commit"),
            best_case=category("best_case"),
            pipeline=category("pipeline"),
            weighted_raw=Sum(WEIGHTED_RAW, filter=figure_q["weighted_pipeline"], default=zero),
        )
        .order_by()
    )
    quota_rows = Quota.objects.filter(
        period_kind=period.kind.value, period_start=period.start, currency=code
    ).values(
        "rep_id",
        "team_id",
        "amount",
        "rep__team_id",
        "rep__first_name",
        "rep__last_name",
        "rep__username",
    )

    owners: dict[int, dict[str, Any]] = {}  # owner id → name, team, figures (deal sums)
    for row in deal_rows:
        owners[row["owner_id"]] = {
            "name": _name(
                row["owner__first_name"], row["owner__last_name"], row["owner__username"]
            ),
            "team": row["owner__team_id"],
            "figures": rules.ForecastFigures(
                closed_won=row["closed_won"],
                commit=row["commit"],
                best_case=row["best_case"],
                pipeline=row["pipeline"],
                weighted_raw=row["weighted_raw"],
                quota=None,
            ),
        }
    rep_quotas: dict[int, tuple[Decimal, int | None]] = {}
    team_quotas: dict[int, Decimal] = {}
    for row in quota_rows:
        if row["team_id"] is not None:
            team_quotas[row["team_id"]] = row["amount"]
            continue
        rep_quotas[row["rep_id"]] = (row["amount"], row["rep__team_id"])
        if row["rep_id"] not in owners and in_scope(row["rep_id"], row["rep__team_id"]):
            owners[row["rep_id"]] = {
                "name": _name(row["rep__first_name"], row["rep__last_name"], row["rep__username"]),
                "team": row["rep__team_id"],
                "figures": rules.ZERO_FIGURES,
            }

    def rep_quota(pk: int) -> Decimal | None:
        return rep_quotas[pk][0] if pk in rep_quotas else None

    def reps_sum(member_of: Callable[[int | None], bool]) -> Decimal | None:
        return rules.sum_quotas(a for a, team in rep_quotas.values() if member_of(team))

    def team_quota(pk: int) -> Decimal | None:
        if pk in team_quotas:
            return team_quotas[pk]
        members = subtree_of(pk)
        return reps_sum(lambda team: team in members)

    def top_teams_sum(ids: set[int] | frozenset[int]) -> Decimal | None:
        return rules.sum_quotas(
            team_quota(t.pk) for t in teams if t.pk in ids and t.parent_id not in ids
        )

    # The scope's quota.
    if picked_owner is not None:
        quota = rep_quota(picked_owner)
    elif picked_team is not None:
        quota = team_quota(picked_team)
    elif user.sees_everything:
        quota = rules.sum_quotas(
            [top_teams_sum(set(team_names)), reps_sum(lambda team: team is None)]
        )
    else:  # a manager's teams (with their own quota when outside them), or a rep
        quota = top_teams_sum(pickable)
        own = rep_quotas.get(user.pk)
        if own is not None and own[1] not in pickable:
            quota = rules.sum_quotas([quota, own[0]])

    totals = _added(o["figures"] for o in owners.values()).with_quota(quota)
    by_owner = sorted(
        (
            SummaryRow(
                id=pk,
                name=o["name"],
                team_id=o["team"],
                figures=o["figures"].with_quota(rep_quota(pk)),
            )
            for pk, o in owners.items()
        ),
        key=lambda r: (r.name.lower(), r.id),
    )
    by_team: list[SummaryRow] = []
    if picked_owner is None:
        row_teams = scope_teams if scope_teams is not None else pickable
        for pk in sorted(row_teams, key=lambda pk: (team_names[pk].lower(), pk)):
            members = subtree_of(pk)
            figures = _added(o["figures"] for o in owners.values() if o["team"] in members)
            by_team.append(
                SummaryRow(
                    id=pk,
                    name=team_names[pk],
                    team_id=pk,
                    figures=figures.with_quota(team_quota(pk)),
                )
            )
        teamless = [o["figures"] for o in owners.values() if o["team"] is None]
        if user.sees_everything and scope_teams is None and teamless:
            no_team_quota = reps_sum(lambda team: team is None)
            by_team.append(
                SummaryRow(
                    id=None,
                    name="No team",
                    team_id=None,
                    figures=_added(teamless).with_quota(no_team_quota),
                )
            )
    return ForecastSummary(
        period=period,
        currency=code,
        team_id=picked_team,
        owner_id=picked_owner,
        totals=totals,
        by_team=by_team,
        by_owner=by_owner,
    )


# --- week-over-week ---
# Week-over-week changes and the trend of the weekly snapshots, for a period and a scope.
# The scope applies to the snapshot rows as they were taken: a row is in scope when its
# owner and team THAT WEEK are (a rep: their own rows; a manager: their own and those of
# the teams they manage now, sub-teams included; a leader: all), narrowed to `team_id`'s
# subtree and/or `owner_id`. So a rep who changed teams stays in the old team's history
# and their deals show as "moved out" of the old team's pipeline and "moved in" to the
# new one's. A team or owner outside the user's scope is a 404. Amounts are per currency:
# never summed across currencies.

CHANGE_ITEMS_PER_KIND = 200  # the largest changes of each kind are listed; counts are exact
TREND_MAX_WEEKS = 104


@dataclass(frozen=True)
class SnapshotScope:
    """Which snapshot rows a user may see, with the optional team/owner narrowing."""

    everything: bool
    me: int
    teams: list[int]  # teams managed now, sub-teams included (a manager)
    team_filter: list[int] | None = None
    owner: int | None = None

    def sql(self, alias: str) -> str:
        """A boolean SQL expression on the snapshot row `alias` (never NULL)."""
        a = alias
        return (
            f"COALESCE((%(sc_all)s OR {a}.owner_id = %(sc_me)s"
            f" OR {a}.team_id = ANY(%(sc_teams)s::bigint[]))"
            f" AND (%(sc_team_filter)s::bigint[] IS NULL"
            f" OR {a}.team_id = ANY(%(sc_team_filter)s::bigint[]))"
            f" AND (%(sc_owner)s::bigint IS NULL OR {a}.owner_id = %(sc_owner)s), false)"
        )

    def q(self) -> Q:
        """The same rule as `sql`, as a filter on PipelineSnapshot (a row without an owner
        or a team matches no owner or team condition)."""
        q = Q() if self.everything else Q(owner_id=self.me) | Q(team_id__in=self.teams)
        if self.team_filter is not None:
            q &= Q(team_id__in=self.team_filter)
        if self.owner is not None:
            q &= Q(owner_id=self.owner)
        return q

    def params(self) -> dict[str, Any]:
        return {
            "sc_all": self.everything,
            "sc_me": self.me,
            "sc_teams": self.teams,
            "sc_team_filter": self.team_filter,
            "sc_owner": self.owner,
        }


def snapshot_scope(user: User, team_id: Any = None, owner_id: Any = None) -> SnapshotScope:
    """The snapshot rows `user` may see, narrowed to `team_id` (with its sub-teams) and/or
    `owner_id`. A team or person outside the user's scope is a 404 — a rep has no team to
    pick, a manager the teams they manage, a leader any; a person: a rep themselves, a
    manager themselves and the current members of their teams, a leader anyone."""
    if not (user.is_authenticated and user.is_active):
        raise Http404("Not found.")
    everything = user.sees_everything
    managed = access.managed_team_ids(user) if user.is_manager and not everything else set()
    team_filter = None
    if team_id not in (None, ""):
        pk = id_or_404(team_id, "team")
        if not everything and pk not in managed:
            raise Http404("No such team.")
        team_filter = sorted(access.team_subtree(pk))
        if not team_filter:
            raise Http404("No such team.")
    owner = None
    if owner_id not in (None, ""):
        owner = id_or_404(owner_id, "person")
        if owner != user.pk:
            if not (everything or managed):  # a rep sees no one else
                raise Http404("No such person.")
            people = User.objects.filter(pk=owner)
            if not everything:
                people = people.filter(team_id__in=managed)
            if not people.exists():
                raise Http404("No such person.")
    return SnapshotScope(
        everything=everything,
        me=user.pk,
        teams=sorted(managed),
        team_filter=team_filter,
        owner=owner,
    )


def _week_end(week: dt.date) -> dt.datetime:
    """The end of `week` (the next Monday, 00:00) in the organisation's timezone."""
    return organisation.current().start_of(week + dt.timedelta(days=7))


@dataclass(frozen=True)
class ChangeItem:
    """One deal behind a change: its amounts and close dates last week and this week
    (None: absent; a deal closed since shows its close date now)."""

    opportunity_id: int
    name: str
    currency: str
    delta: Decimal
    amount_before: Decimal | None
    amount_after: Decimal | None
    close_date_before: dt.date | None
    close_date_after: dt.date | None


@dataclass(frozen=True)
class ChangeGroup:
    kind: rules.Change
    label: str
    count: int  # deals
    deltas: dict[str, Decimal]  # per currency: the signed change to the open pipeline
    items: list[ChangeItem]  # the largest changes first, at most CHANGE_ITEMS_PER_KIND

    @property
    def truncated(self) -> bool:
        return len(self.items) < self.count


@dataclass(frozen=True)
class WeekOverWeek:
    """This week's snapshot against last week's for a period. `opening` / `closing`: the
    open pipeline in the period per currency last week / this week (opening + Σ deltas =
    closing). When either week has no snapshot, `available` is False and nothing is
    compared."""

    period: rules.Period
    week: dt.date
    previous_week: dt.date
    has_snapshot: bool
    has_previous_snapshot: bool
    opening: dict[str, Decimal]
    closing: dict[str, Decimal]
    changes: list[ChangeGroup]

    @property
    def available(self) -> bool:
        return self.has_snapshot and self.has_previous_snapshot


EARLIEST_COMPARED_WEEK = dt.date(1, 1, 8)  # the first Monday with a Monday before it


def wow_week(week: Any) -> dt.date | None:
    """`week` as a Monday; None stays None. Refuses a non-date, a day that is not a Monday
    and a week that has not begun (ValidationFailed, details.week)."""
    if week in (None, ""):
        return None
    if isinstance(week, str):
        try:
            week = dt.date.fromisoformat(week)
        except ValueError:
            raise ValidationFailed(
                details={"week": ["Enter a date as YYYY-MM-DD (a Monday)."]}
            ) from None
    if not isinstance(week, dt.date) or isinstance(week, dt.datetime):
        raise ValidationFailed(details={"week": ["Enter a date as YYYY-MM-DD (a Monday)."]})
    if week.weekday() != 0:
        monday = rules.week_start(week)
        raise ValidationFailed(
            details={"week": [f"A week starts on a Monday: {monday.isoformat()}, not {week}."]}
        )
    if week < EARLIEST_COMPARED_WEEK:  # 1 January of year 1: no week before it
        raise ValidationFailed(
            details={"week": [f"Pick a week from {EARLIEST_COMPARED_WEEK.isoformat()} on."]}
        )
    current = rules.week_start(forecasting_services.local_today())
    if week > current:
        raise ValidationFailed(
            details={"week": [f"The week has not begun; the current week began on {current}."]}
        )
    return week


LATEST_WEEK_SQL = """
SELECT week FROM forecasting_pipelinesnapshot WHERE week <= %s ORDER BY week DESC LIMIT 1
"""

# Opening and closing pipeline of the two weeks per currency, and whether each week has a
# snapshot at all (whoever's rows it holds). The sums are read from the snapshot totals
# (forecasting.models.PipelineSnapshotTotal), kept by triggers; the deals below from the rows.
WOW_TOTALS_SQL = """
SELECT w.week,
       EXISTS (SELECT 1 FROM forecasting_pipelinesnapshot x WHERE x.week = w.week),
       t.currency, t.total
FROM (VALUES (%(before)s::date), (%(after)s::date)) AS w(week)
LEFT JOIN LATERAL (
    SELECT s.currency, sum(s.amount) AS total
    FROM forecasting_pipelinesnapshottotal s
    WHERE s.week = w.week AND s.close_month >= %(start)s AND s.close_month < %(end)s
      AND {scope_s}
    GROUP BY s.currency
    HAVING sum(s.deals) > 0
) t ON true
"""

# The deals that may have changed in the period: in it in either week (in scope), or
# closed since with a close date in it; then their two rows by the unique (week,
# opportunity) index. Deals whose rows agree on everything the kinds look at (scope,
# amount, currency, in or out of the period) are left in the database.
WOW_SQL = """
WITH ids AS (
    SELECT s.opportunity_id AS id FROM forecasting_pipelinesnapshot s
    WHERE s.week IN (%(before)s, %(after)s)
      AND s.close_date >= %(start)s AND s.close_date < %(end)s AND {scope_s}
    UNION
    SELECT o.id FROM pipeline_opportunity o
    WHERE o.status IN ('won', 'lost')
      AND o.close_date >= %(start)s AND o.close_date < %(end)s
      AND o.closed_at >= %(before_start)s AND o.closed_at < %(after_end)s
),
pairs AS (
    SELECT ids.id,
           b.opportunity_id IS NOT NULL AS has_b, b.amount AS b_amount,
           b.currency AS b_currency, b.close_date AS b_close, {scope_b} AS b_scope,
           a.opportunity_id IS NOT NULL AS has_a, a.amount AS a_amount,
           a.currency AS a_currency, a.close_date AS a_close, {scope_a} AS a_scope
    FROM ids
    LEFT JOIN forecasting_pipelinesnapshot b
        ON b.week = %(before)s AND b.opportunity_id = ids.id
    LEFT JOIN forecasting_pipelinesnapshot a
        ON a.week = %(after)s AND a.opportunity_id = ids.id
),
changed AS MATERIALIZED (
    SELECT * FROM pairs
    WHERE (has_a OR has_b)
      AND NOT (has_a AND has_b AND a_scope = b_scope AND a_amount = b_amount
               AND a_currency = b_currency
               AND (a_close >= %(start)s AND a_close < %(end)s)
                 = (b_close >= %(start)s AND b_close < %(end)s))
)
-- The deal's name and outcome only for the deals that changed (a few of the pairs).
SELECT c.id, o.name, c.has_b, c.b_amount, c.b_currency, c.b_close, c.b_scope,
       c.has_a, c.a_amount, c.a_currency, c.a_close, c.a_scope,
       o.status <> 'open' AND o.closed_at < %(after_end)s AS closed_in_time,
       o.status = 'won' AS won, o.close_date AS close_now
FROM changed c
-- LATERAL … LIMIT 1: looked up by id for each changed deal, never a scan of all deals.
CROSS JOIN LATERAL (
    SELECT o.name, o.status, o.closed_at, o.close_date
    FROM pipeline_opportunity o WHERE o.id = c.id LIMIT 1
) o
ORDER BY c.id
"""


def week_over_week(
    user: User,
    period_label: str | None,
    week: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
) -> WeekOverWeek:
    """The changes in `period_label`'s open pipeline (default: the current quarter)
    between the snapshot of `week` (a Monday; default: the latest snapshot week up to the
    current one) and that of the week before, in `user`'s scope (see above), per change
    kind of forecasting.rules.week_changes: count, deltas per currency, and the deals.

    Refuses (ValidationFailed) a bad period label and a week that is not a Monday or has
    not begun; a team or person outside the user's scope is a 404. A week without a
    snapshot is no error: `available` is False and the changes are empty. At most six
    queries, however many deals."""
    period = period_or_current(period_label)
    week = wow_week(week)
    scope = snapshot_scope(user, team_id, owner_id)
    current = rules.week_start(forecasting_services.local_today())
    if week is None:
        with connection.cursor() as cursor:
            cursor.execute(LATEST_WEEK_SQL, [current])
            row = cursor.fetchone()
        week = row[0] if row else current
    # The comparison itself is shared with the forecast meetings (any two weeks).
    return snapshot_comparison(scope, period, week - dt.timedelta(days=7), week)


@dataclass(frozen=True)
class TrendCell:
    forecast_category: str
    currency: str
    amount: Decimal
    deals: int


@dataclass(frozen=True)
class TrendWeek:
    """One week's open pipeline in the period: per forecast category and currency, and
    `totals` per currency of every category but Omitted (the open pipeline)."""

    week: dt.date
    has_snapshot: bool
    cells: list[TrendCell]

    @property
    def totals(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for cell in self.cells:
            if cell.forecast_category != ForecastCategory.OMITTED:
                totals[cell.currency] = totals.get(cell.currency, Decimal("0")) + cell.amount
        return dict(sorted(totals.items()))


@dataclass(frozen=True)
class SnapshotTrend:
    period: rules.Period
    weeks: list[TrendWeek]  # oldest first, the current week last


TREND_SQL = """
SELECT g.week,
       EXISTS (SELECT 1 FROM forecasting_pipelinesnapshot x WHERE x.week = g.week),
       t.forecast_category, t.currency, t.amount, t.deals
FROM (SELECT d::date AS week
      FROM generate_series(%(first)s::date, %(last)s::date, interval '7 days') AS d) AS g
LEFT JOIN (
    SELECT s.week, s.forecast_category, s.currency, sum(s.amount) AS amount,
           sum(s.deals)::int AS deals
    FROM forecasting_pipelinesnapshottotal s
    WHERE s.week >= %(first)s AND s.week <= %(last)s
      AND s.close_month >= %(start)s AND s.close_month < %(end)s AND {scope_s}
    GROUP BY s.week, s.forecast_category, s.currency
    HAVING sum(s.deals) > 0
) t ON t.week = g.week
ORDER BY g.week, t.forecast_category, t.currency
"""


def snapshot_trend(
    user: User,
    period_label: str | None,
    weeks: int = 13,
    team_id: Any = None,
    owner_id: Any = None,
) -> SnapshotTrend:
    """The open pipeline of `period_label` (default: the current quarter) in `user`'s
    scope as each of the last `weeks` weekly snapshots recorded it (the current week
    included), per forecast category and currency; a week without a snapshot is listed
    with `has_snapshot` False. Refuses a bad period and `weeks` outside 1–104
    (ValidationFailed); a team or person outside the scope is a 404. One aggregate query
    (plus up to three to check the scope)."""
    period = period_or_current(period_label)
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 1 <= weeks <= TREND_MAX_WEEKS:
        raise ValidationFailed(
            details={"weeks": [f"Enter a whole number of weeks from 1 to {TREND_MAX_WEEKS}."]}
        )
    scope = snapshot_scope(user, team_id, owner_id)
    last = rules.week_start(forecasting_services.local_today())
    params = {
        **scope.params(),
        "first": last - dt.timedelta(days=7 * (weeks - 1)),
        "last": last,
        "start": period.start,
        "end": period.end,
    }
    by_week: dict[dt.date, tuple[bool, list[TrendCell]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(TREND_SQL.format(scope_s=scope.sql("s")), params)
        for week, taken, category, currency, amount, deals in cursor.fetchall():
            cells = by_week.setdefault(week, (taken, []))[1]
            if category is not None:
                cells.append(TrendCell(category, currency, amount, deals))
    return SnapshotTrend(
        period=period,
        weeks=[TrendWeek(week, taken, cells) for week, (taken, cells) in by_week.items()],
    )


# --- forecast from history ---
# Win probabilities per stage and age bucket estimated from the organisation's own deals
# (the pipeline win rate), applied to the open pipeline of a period in the user's scope.
# The definitions are in forecasting.computations; here is the counting.

HISTORY_MATURITY_DAYS = 90  # a deal must have entered the stage at least this long ago …
HISTORY_LOOKBACK_DAYS = 365  # … and at most this much longer ago (90-455 days by default)

# The stages a forecast prices: every stage that is neither won nor lost.
HISTORY_STAGES_SQL = """
SELECT st.id, st.name, p.name, st."order", st.probability
FROM pipeline_stage st JOIN pipeline_pipeline p ON p.id = st.pipeline_id
WHERE NOT st.is_won AND NOT st.is_lost
"""

# Per (open stage, bucket lower bound): the deals that entered the stage in the window and
# stayed there at least that many days, and how many of them are won / lost now; plus a
# grand-total row (stage NULL) with the distinct deals and closed deals of the whole
# history. A stay runs from a stage row of the deal's history (field "stage", new_value =
# the stage id; the creation row too) to the deal's next stage row, or to now. A deal with
# no stage row at all (imported, or made before the history was kept) enters its current
# stage at stage_entered_at. A deal that entered a stage more than once counts once, from
# its first entry in the window, with its longest stay.
HISTORY_SQL = """
WITH stays AS (
    SELECT c.opportunity_id AS opp, c.new_value::bigint AS stage_id, c.changed_at AS entered,
           COALESCE(lead(c.changed_at) OVER (PARTITION BY c.opportunity_id
                                             ORDER BY c.changed_at, c.id),
                    %(as_of)s) AS until
    FROM pipeline_opportunitychange c
    WHERE c.field = 'stage' AND c.new_value ~ '^[0-9]{1,18}$' AND c.changed_at >= %(start)s
    UNION ALL
    SELECT o.id, o.stage_id, o.stage_entered_at, %(as_of)s
    FROM pipeline_opportunity o
    WHERE o.stage_entered_at >= %(start)s AND o.stage_entered_at < %(end)s
      AND NOT EXISTS (SELECT 1 FROM pipeline_opportunitychange c
                      WHERE c.opportunity_id = o.id AND c.field = 'stage')
),
per_deal AS (
    SELECT opp, stage_id, min(entered) AS first_entered,
           max(floor(extract(epoch FROM until - entered) / 86400))::int AS days
    FROM stays GROUP BY opp, stage_id
)
SELECT d.stage_id, b.lower, count(DISTINCT d.opp),
       count(DISTINCT d.opp) FILTER (WHERE o.status = 'won'),
       count(DISTINCT d.opp) FILTER (WHERE o.status = 'lost'),
       count(DISTINCT d.opp) FILTER (WHERE o.status <> 'open')
FROM per_deal d
JOIN pipeline_stage st ON st.id = d.stage_id AND NOT st.is_won AND NOT st.is_lost
JOIN pipeline_opportunity o ON o.id = d.opp
JOIN unnest(%(lowers)s::int[]) AS b(lower) ON GREATEST(d.days, 0) >= b.lower
WHERE d.first_entered >= %(start)s AND d.first_entered < %(end)s
GROUP BY GROUPING SETS ((d.stage_id, b.lower), ())
"""

# The period's open pipeline in the scope, in one currency, per stage and age bucket (the
# days since the deal entered its current stage). Omitted deals count nowhere, as in the
# weighted pipeline of the forecast summary.
HISTORY_OPEN_SQL = """
SELECT x.stage_id,
       (%(lowers)s::int[])[width_bucket(GREATEST(x.days, 0), %(lowers)s::int[])],
       count(*), sum(x.amount)
FROM (
    SELECT o.stage_id, o.amount, o.owner_id, u.team_id,
           floor(extract(epoch FROM %(now)s - o.stage_entered_at) / 86400)::int AS days
    FROM pipeline_opportunity o JOIN salesops_user u ON u.id = o.owner_id
    WHERE o.status = 'open' AND o.close_date >= %(p_start)s AND o.close_date < %(p_end)s
      AND o.currency = %(currency)s AND o.forecast_category <> 'omitted'
) x
WHERE {scope_x}
GROUP BY 1, 2
"""


def history_window(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The window of stage entries the history counts, as of the organisation's midnight
    of `now`'s day: the history is a daily figure, the same all day."""
    as_of = organisation.current().start_of(forecasting_services.local_today(now))
    end = as_of - dt.timedelta(days=HISTORY_MATURITY_DAYS)
    return end - dt.timedelta(days=HISTORY_LOOKBACK_DAYS), end


def history_generation() -> tuple[int | None, int | None]:
    """What the daily history figures are cached under besides the day: the newest deal and
    the newest stage (two index lookups). Deals imported or a demo reset today, or a
    pipeline set up anew, are in the figures at once — the cells are keyed by stage id,
    so cached ones would otherwise match no stage for the rest of the day. Other changes
    (a deal won today) reach them tomorrow, as a daily figure should."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT max(id) FROM pipeline_opportunity),"
            " (SELECT max(id) FROM pipeline_stage)"
        )
        newest_deal, newest_stage = cursor.fetchone()
    return newest_deal, newest_stage


def history_rates(now: dt.datetime | None = None) -> list[tuple]:
    """HISTORY_SQL's rows for `now`'s day (default today): one aggregate over a year of
    the whole organisation's stage history (~40 s at 1M deals), so cached for the day and
    computed ahead by the nightly beat job (forecasting.warm_history_rates)."""
    now = now or timezone.now()
    start, end = history_window(now)
    as_of = end + dt.timedelta(days=HISTORY_MATURITY_DAYS)
    params = {
        "as_of": as_of,
        "start": start,
        "end": end,
        "lowers": list(history_computations.BUCKET_LOWERS),
    }

    def count() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(HISTORY_SQL, params)
            return cursor.fetchall()

    key = (as_of.isoformat(), HISTORY_MATURITY_DAYS, HISTORY_LOOKBACK_DAYS)
    return freshness.cached_daily("history-rates", key, count, generation=history_generation)


def imported_without_stages(now: dt.datetime | None = None) -> int:
    """Deals the history would count if their stages were known: imported from a CRM export
    that had no stage history, closed before the import, open at some moment of the
    history window. They are left out of the win rates (which count stage entries), and
    the forecast says on how many deals it rests without them. A daily figure, cached
    like history_rates."""
    now = now or timezone.now()
    start, end = history_window(now)

    def count() -> int:
        return Opportunity.objects.filter(
            imported_at__isnull=False,
            closed_at__isnull=False,
            closed_at__lte=F("imported_at"),
            closed_at__gte=start,
            created_at__lt=end,
        ).count()

    key = (start.isoformat(), end.isoformat())
    return freshness.cached_daily("history-imported", key, count, generation=history_generation)


@dataclass(frozen=True)
class HistoryCell:
    """One age bucket of a stage: the open deals in it, the probability used and the
    history behind it (deals that reached this age in the stage, won, closed)."""

    bucket: str
    open_deals: int
    open_amount: Decimal
    probability: Decimal  # 0-1
    source: str  # "history" or "stage default"
    history_deals: int
    history_won: int
    history_closed: int
    expected: Decimal


@dataclass(frozen=True)
class HistoryStage:
    stage_id: int
    stage_name: str
    pipeline_name: str
    stage_probability: int  # the configured one, %
    open_deals: int
    open_amount: Decimal
    expected: Decimal
    stage_default_expected: Decimal
    history_deals: int  # every deal that was in the stage in the window
    history_won: int
    history_closed: int
    cells: list[HistoryCell]


@dataclass(frozen=True)
class HistoryForecast:
    period: rules.Period
    currency: str
    team_id: int | None
    owner_id: int | None
    window_start: dt.datetime  # deals that entered a stage from this moment …
    window_end: dt.datetime  # … up to (not including) this one are the history
    min_deals: int
    history_deals: int  # distinct deals of the whole history (every open stage)
    history_closed: int  # … of which won or lost by now
    # Closed deals of the window imported without their stages: not in the win rates.
    imported_without_stages: int
    open_deals: int
    open_amount: Decimal
    expected: Decimal
    stage_default_expected: Decimal  # Σ amount × stage probability, for comparison
    by_stage: list[HistoryStage]


def history_forecast(
    user: User,
    period_label: Any = None,
    team_id: Any = None,
    owner_id: Any = None,
    *,
    currency: Any = None,
    now: dt.datetime | None = None,
) -> HistoryForecast:
    """The expected closed amount of the open pipeline of `period_label` (default: the
    current quarter) priced with win probabilities from history, per stage and age bucket
    (see forecasting.computations for the definitions).

    History: the organisation's deals — all of them, whoever owns them, as it is an
    aggregate of counts and exposes no deal — that entered a stage from
    HISTORY_MATURITY_DAYS + HISTORY_LOOKBACK_DAYS days ago up to HISTORY_MATURITY_DAYS days
    ago (so a deal had time to be decided; one still open counts as not won). A cell with
    fewer than settings.HISTORY_MIN_DEALS deals falls back to the stage's probability.

    Open pipeline: open deals with close_date in the period, in one currency (`currency`,
    default the organisation's), Omitted left out, in `user`'s scope as
    snapshot_scope decides it on the deal's owner now and the owner's team now: a rep
    their own deals, a manager their teams' (sub-teams included) and their own, a leader
    all, narrowed to `team_id` (with sub-teams) and/or `owner_id`. A team or person
    outside the scope is a 404; a bad period or currency is a ValidationFailed.

    Queries: up to three to check the scope, the stages, one aggregate of the history,
    one count of the deals imported without stage history, one aggregate of the open
    pipeline — seven at most, however many deals (the two history figures are cached for
    the day)."""
    period = period_or_current(period_label)
    errors: dict[str, list[str]] = {}
    code = clean_currency(errors, currency or organisation.current().default_currency)
    if errors:
        raise ValidationFailed(details=errors)
    scope = snapshot_scope(user, team_id, owner_id)
    now = now or timezone.now()
    window_start, window_end = history_window(now)
    params = {
        **scope.params(),
        "now": now,
        "lowers": list(history_computations.BUCKET_LOWERS),
        "p_start": period.start,
        "p_end": period.end,
        "currency": code,
    }
    with connection.cursor() as cursor:
        cursor.execute(HISTORY_STAGES_SQL)
        stages = pd.DataFrame(cursor.fetchall(), columns=history_computations.STAGE_COLUMNS)
        history_rows = history_rates(now)
        cursor.execute(HISTORY_OPEN_SQL.format(scope_x=scope.sql("x")), params)
        open_rows = cursor.fetchall()
    total_deals = total_closed = 0
    cell_rows = []
    for stage_id, lower, deals, won, lost, closed in history_rows:
        if stage_id is None:  # the grand total of GROUPING SETS
            total_deals, total_closed = deals, closed
        else:
            cell_rows.append((stage_id, lower, deals, won, lost))
    rates = history_computations.win_probabilities(
        stages,
        pd.DataFrame(cell_rows, columns=history_computations.HISTORY_COLUMNS),
        settings.HISTORY_MIN_DEALS,
    )
    cells = history_computations.expected_by_cell(
        rates, pd.DataFrame(open_rows, columns=history_computations.OPEN_COLUMNS)
    )
    by_stage = [
        HistoryStage(
            stage_id=int(row.stage_id),
            stage_name=row.stage_name,
            pipeline_name=row.pipeline_name,
            stage_probability=int(row.stage_probability),
            open_deals=row.open_deals,
            open_amount=row.open_amount,
            expected=row.expected,
            stage_default_expected=row.stage_default_expected,
            history_deals=row.history_deals,
            history_won=row.history_won,
            history_closed=row.history_closed,
            cells=[
                HistoryCell(
                    bucket=c.bucket,
                    open_deals=int(c.open_deals),
                    open_amount=c.open_amount,
                    probability=c.probability,
                    source=c.source,
                    history_deals=int(c.deals),
                    history_won=int(c.won),
                    history_closed=int(c.closed),
                    expected=c.expected,
                )
                for c in cells[cells["stage_id"] == row.stage_id]
                .sort_values("bucket_lower")
                .itertuples(index=False)
            ],
        )
        for row in history_computations.by_stage(cells).itertuples(index=False)
    ]
    zero = Decimal("0.00")
    return HistoryForecast(
        period=period,
        currency=code,
        team_id=None if team_id in (None, "") else int(team_id),
        owner_id=scope.owner,
        window_start=window_start,
        window_end=window_end,
        min_deals=settings.HISTORY_MIN_DEALS,
        history_deals=total_deals,
        history_closed=total_closed,
        imported_without_stages=imported_without_stages(now),
        open_deals=sum(s.open_deals for s in by_stage),
        open_amount=sum((s.open_amount for s in by_stage), zero),
        expected=sum((s.expected for s in by_stage), zero),
        stage_default_expected=sum((s.stage_default_expected for s in by_stage), zero),
        by_stage=by_stage,
    )


# --- submissions ---
# Forecast submissions read in the user's scope, and who has not submitted this week.


def submissions_for(
    user: User,
    *,
    period: Any = None,
    person: Any = None,
    team: Any = None,
    level: Any = None,
    latest: bool = False,
) -> QuerySet[ForecastSubmission]:
    """The forecast submissions `user` may see, newest first: a rep their own; a manager
    their own, the rep-level calls of the reps in the teams they manage (sub-teams
    included) and every team-level call for those teams; a leader or admin all.

    Filters: `period` (a label; a bad one is a ValidationFailed), `person` (the
    submitter), `team` (team-level calls for the team and its sub-teams, and rep-level
    calls of the reps currently in them), `level` ("rep" / "team"), `latest` (only the
    latest of each chain: one per person, level, team and period). An unknown person or
    team just matches nothing. Each row carries `next_id`, the submission that
    superseded it (None: the latest) — all in one query with the submitter and team."""
    rows = (
        ForecastSubmission.objects.select_related("submitter", "team")
        .annotate(
            next_id=Subquery(
                ForecastSubmission.objects.filter(supersedes_id=OuterRef("pk")).values("pk")[:1]
            )
        )
        .order_by("-submitted_at", "-id")
    )
    if not (user.is_authenticated and user.is_active):
        return rows.none()
    if user.is_manager:
        managed = access.managed_team_ids_sql(user)
        rows = rows.filter(
            Q(submitter=user)
            | Q(level=SubmissionLevel.REP, submitter__team_id__in=managed)
            | Q(level=SubmissionLevel.TEAM, team_id__in=managed)
        )
    elif not user.sees_everything:
        rows = rows.filter(submitter=user)
    if period not in (None, ""):
        the_period = forecasting_services.period_from_label(period)
        rows = rows.filter(period_kind=the_period.kind.value, period_start=the_period.start)
    if person is not None:
        rows = rows.filter(submitter_id=person)
    if team is not None:
        teams = access.team_subtree(team)
        rows = rows.filter(
            Q(level=SubmissionLevel.TEAM, team_id__in=teams)
            | Q(level=SubmissionLevel.REP, submitter__team_id__in=teams)
        )
    if level not in (None, ""):
        rows = rows.filter(level=level)
    if latest:
        rows = rows.filter(forecasting_services.latest_submissions_q())
    return rows


def submission_get_for(user: User, pk: int) -> ForecastSubmission:
    """One submission in `user`'s scope; outside it (or no such submission) is a 404."""
    return get_object_or_404(submissions_for(user), pk=pk)


def submission_period_label(submission: ForecastSubmission) -> str:
    calendar = forecasting_services.fiscal_calendar()
    return calendar.period_of(submission.period_start, submission.period_kind).label


@dataclass(frozen=True)
class MissingSubmission:
    """A person who owes a call: a rep their own (level rep, team: their team), a manager
    one per team they manage (level team)."""

    level: str
    person_id: int
    name: str
    team_id: int | None
    team_name: str | None
    last_submitted_at: dt.datetime | None  # their latest call of the period, before `since`


@dataclass(frozen=True)
class NotSubmitted:
    period: rules.Period
    week: dt.date  # this week's Monday
    since: dt.datetime  # its start in the organisation's timezone
    people: list[MissingSubmission]


# {scope_reps} / {scope_teams} are fixed SQL fragments chosen by role, never user input.
NOT_SUBMITTED_SQL = """
WITH RECURSIVE managed(id) AS (
    SELECT id FROM salesops_team WHERE manager_id = %(user)s
    UNION SELECT t.id FROM salesops_team t JOIN managed m ON t.parent_id = m.id
),
owed AS (
    SELECT 'rep' AS level, u.id AS person_id, u.first_name, u.last_name, u.username,
           t.id AS team_id, t.name AS team_name,
           (SELECT max(s.submitted_at) FROM forecasting_forecastsubmission s
            WHERE s.submitter_id = u.id AND s.level = 'rep'
              AND s.period_kind = %(kind)s AND s.period_start = %(start)s) AS last_at
    FROM salesops_user u LEFT JOIN salesops_team t ON t.id = u.team_id
    WHERE u.is_active AND u.role = 'rep' AND {scope_reps}
    UNION ALL
    SELECT 'team', m.id, m.first_name, m.last_name, m.username, t.id, t.name,
           (SELECT max(s.submitted_at) FROM forecasting_forecastsubmission s
            WHERE s.submitter_id = m.id AND s.level = 'team' AND s.team_id = t.id
              AND s.period_kind = %(kind)s AND s.period_start = %(start)s)
    FROM salesops_team t JOIN salesops_user m ON m.id = t.manager_id
    WHERE m.is_active AND {scope_teams}
)
SELECT level, person_id, first_name, last_name, username, team_id, team_name, last_at
FROM owed WHERE last_at IS NULL OR last_at < %(since)s
"""


def not_submitted_this_week(
    user: User, period_label: Any = None, *, now: dt.datetime | None = None
) -> NotSubmitted:
    """Who in `user`'s scope has not submitted a call for the period (a label; default the
    current fiscal quarter) since this week's Monday, 00:00 in the organisation's timezone:
    every active rep (a rep: themselves; a manager: the reps of the teams they manage,
    sub-teams included; a leader or admin: all), each owing a rep-level call; and every
    team in scope with an active manager (a manager: the teams they manage and their
    sub-teams; a leader or admin: all), whose manager owes a team-level call for it (a
    call for the team by someone else does not count). Sorted by name, then team.

    One query, however many people and submissions."""
    if not (user.is_authenticated and user.is_active):
        raise Http404("Not found.")
    period = period_or_current(period_label)
    today = forecasting_services.local_today(now)
    week = rules.week_start(today)
    since = organisation.current().start_of(week)
    if user.sees_everything:
        scope_reps = scope_teams = "TRUE"
    elif user.is_manager:
        scope_reps = "u.team_id IN (SELECT id FROM managed)"
        scope_teams = "t.id IN (SELECT id FROM managed)"
    else:
        scope_reps, scope_teams = "u.id = %(user)s", "FALSE"
    sql = NOT_SUBMITTED_SQL.format(scope_reps=scope_reps, scope_teams=scope_teams)
    params = {"user": user.pk, "kind": period.kind.value, "start": period.start, "since": since}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    people = [
        MissingSubmission(
            level=level,
            person_id=person,
            name=_name(first, last, username),
            team_id=team_id,
            team_name=team_name,
            last_submitted_at=last_at,
        )
        for level, person, first, last, username, team_id, team_name, last_at in rows
    ]
    people.sort(key=lambda p: (p.name.lower(), p.person_id, p.level, (p.team_name or "").lower()))
    return NotSubmitted(period=period, week=week, since=since, people=people)


# --- forecast pages ---
# What the forecast page shows, built from the reads above (so the page's numbers are the
# API's): a rep's own numbers and calls; a manager's or leader's team roll-up with each
# rep's latest call, the sum of those calls and the team's calls. A fixed number of
# queries whatever the number of reps, deals and calls.

FORECAST_PAGE_CALLS = 50  # calls listed on the page, newest first (the CSV has them all)


def forecast_page_teams(user: User) -> list[Team]:
    """The teams `user` may pick on the forecast page, in the picker's order: a manager the
    teams they manage by name, then those teams' sub-teams by name; a leader or admin every
    team by name; a rep none. One query (with each team's manager)."""
    if not (user.is_authenticated and user.is_active):
        return []
    if not (user.sees_everything or user.is_manager):
        return []
    teams = list(Team.objects.select_related("manager").order_by("name", "id"))
    if user.sees_everything:
        return teams
    direct = [t for t in teams if t.manager_id == user.pk]
    below: set[int] = set()
    for team in direct:
        below |= access.sub_teams_among(teams, team.pk)
    return direct + [t for t in teams if t.pk in below and t.manager_id != user.pk]


def forecast_page_team(teams: list[Team], team_id: Any) -> Team:
    """The team picked among `teams` (none picked: the first); any other is a 404."""
    if not teams:
        raise Http404("No team to show.")
    if team_id in (None, ""):
        return teams[0]
    pk = id_or_404(team_id, "team")
    team = next((t for t in teams if t.pk == pk), None)
    if team is None:
        raise Http404("No such team.")
    return team


def _page_calls(rows: QuerySet[ForecastSubmission], limit: int | None) -> list[ForecastSubmission]:
    return list(rows if limit is None else rows[:limit])


@dataclass(frozen=True)
class RepForecastPage:
    """A rep's forecast page: their numbers, the forecast from history, their calls."""

    period: rules.Period
    currency: str
    figures: rules.ForecastFigures
    history: HistoryForecast
    calls: list[ForecastSubmission]  # newest first; each carries next_id (None: latest)
    latest_call: ForecastSubmission | None
    submitted_this_week: bool
    week: dt.date  # this week's Monday


def rep_forecast_page(
    user: User,
    period: rules.Period,
    *,
    calls_limit: int | None = FORECAST_PAGE_CALLS,
    now: dt.datetime | None = None,
) -> RepForecastPage:
    """`user`'s own forecast page for `period`. Queries: the summary (4), the history (3),
    the calls (1), who has not called this week (1) — nine, however many deals and calls."""
    summary = forecast_summary(user, period, owner_id=user.pk)
    history = history_forecast(user, period, owner_id=user.pk, now=now)
    calls = _page_calls(
        submissions_for(user, period=period, person=user.pk, level=SubmissionLevel.REP),
        calls_limit,
    )
    missing = not_submitted_this_week(user, period, now=now)
    return RepForecastPage(
        period=period,
        currency=summary.currency,
        figures=summary.totals,
        history=history,
        calls=calls,
        latest_call=next((c for c in calls if c.next_id is None), None),
        submitted_this_week=not any(
            p.level == SubmissionLevel.REP and p.person_id == user.pk for p in missing.people
        ),
        week=missing.week,
    )


@dataclass(frozen=True)
class RollupRow:
    """One person of a team's roll-up: their numbers and, for an active rep of the team
    (whose call counts in the reps' sum), their latest call of the period."""

    person_id: int
    name: str
    figures: rules.ForecastFigures
    owes_call: bool  # an active rep of the team (sub-teams included) now
    call_commit: Decimal | None
    call_best_case: Decimal | None
    call_currency: str | None
    call_submitted_at: dt.datetime | None
    submitted_this_week: bool | None  # None: owes no call


@dataclass(frozen=True)
class TeamForecastPage:
    """A team's forecast page: the roll-up per person, the team's totals and calls."""

    period: rules.Period
    currency: str
    team: Team
    teams: list[Team]  # what the user may pick
    totals: rules.ForecastFigures
    history: HistoryForecast
    rows: list[RollupRow]
    reps: int  # active reps whose calls make the sum
    reps_called: int  # … of whom have a call in the period (in any currency)
    calls_sum_commit: Decimal  # Σ of their latest calls in `currency`
    calls_sum_best_case: Decimal
    calls: list[ForecastSubmission]  # team-level calls for this team, newest first
    latest_call: ForecastSubmission | None  # the newest of them
    my_latest_call: ForecastSubmission | None  # the user's own latest call for the team
    manager_name: str | None  # the team's active manager, who owes a call each week
    manager_submitted_this_week: bool | None  # None: the team has no active manager
    week: dt.date


def team_forecast_page(
    user: User,
    period: rules.Period,
    team_id: Any = None,
    *,
    calls_limit: int | None = FORECAST_PAGE_CALLS,
    now: dt.datetime | None = None,
) -> TeamForecastPage:
    """The forecast page of a team `user` may pick (forecast_page_teams; default the first;
    another is a 404) for `period`.

    Rows: every active rep currently in the team or its sub-teams (their latest call is
    what forecast_submit sums) and every other owner of a deal or quota in the team's
    numbers (e.g. a manager owning a deal; they owe no call), by name. The totals are the
    team's own (its quota: its own or its reps' sum), so they may differ from the sum of
    the rows' quotas.

    Queries: the teams (1), the summary (3), the reps and their calls (3), who has not
    called this week (1), the team's calls (1), the history (5 at most) — fourteen at most,
    however many reps, deals and calls."""
    teams = forecast_page_teams(user)
    team = forecast_page_team(teams, team_id)
    summary = forecast_summary(user, period, team_id=team.pk)
    code = summary.currency
    reps_calls = forecasting_services.team_reps_calls(team, period)
    sum_commit, sum_best = forecasting_services.reps_calls_sum(reps_calls, code)
    missing = not_submitted_this_week(user, period, now=now)
    not_called_reps = {p.person_id for p in missing.people if p.level == SubmissionLevel.REP}
    team_not_called = any(
        p.level == SubmissionLevel.TEAM and p.team_id == team.pk for p in missing.people
    )
    # This team's own calls (not its sub-teams'), by whoever made them.
    calls = _page_calls(
        submissions_for(user, period=period, level=SubmissionLevel.TEAM).filter(team_id=team.pk),
        calls_limit,
    )
    history = history_forecast(user, period, team_id=team.pk, now=now)

    figures = {row.id: row.figures for row in summary.by_owner}
    rows: list[RollupRow] = []
    for call in reps_calls:
        called = call["submission"] is not None
        rows.append(
            RollupRow(
                person_id=call["rep"],
                name=call["name"],
                figures=figures.pop(call["rep"], rules.ZERO_FIGURES),
                owes_call=True,
                call_commit=Decimal(call["commit"]) if called else None,
                call_best_case=Decimal(call["best_case"]) if called else None,
                call_currency=call["currency"],
                call_submitted_at=(
                    dt.datetime.fromisoformat(call["submitted_at"]) if called else None
                ),
                submitted_this_week=call["rep"] not in not_called_reps,
            )
        )
    for row in summary.by_owner:
        if row.id in figures:  # an owner who is not an active rep of the team
            rows.append(
                RollupRow(
                    person_id=row.id,
                    name=row.name,
                    figures=row.figures,
                    owes_call=False,
                    call_commit=None,
                    call_best_case=None,
                    call_currency=None,
                    call_submitted_at=None,
                    submitted_this_week=None,
                )
            )
    rows.sort(key=lambda r: (r.name.lower(), r.person_id))
    manager = team.manager if team.manager_id and team.manager.is_active else None
    return TeamForecastPage(
        period=period,
        currency=code,
        team=team,
        teams=teams,
        totals=summary.totals,
        history=history,
        rows=rows,
        reps=len(reps_calls),
        reps_called=sum(1 for c in reps_calls if c["submission"] is not None),
        calls_sum_commit=sum_commit,
        calls_sum_best_case=sum_best,
        calls=calls,
        latest_call=calls[0] if calls else None,
        my_latest_call=next(
            (c for c in calls if c.submitter_id == user.pk and c.next_id is None), None
        ),
        manager_name=str(manager) if manager else None,
        manager_submitted_this_week=None if manager is None else not team_not_called,
        week=missing.week,
    )


# --- forecast meetings ---
# The numbers a forecast meeting freezes (figures, risks, changes since the previous
# meeting), the meetings a user may see, and who may attend one. The comparison of two
# snapshot weeks is shared with week_over_week above.

MEETING_MAX_RISKS = 100  # the most severe deals at risk kept with a meeting
MEETING_CHANGE_ITEMS = 50  # deals kept per change kind (the counts and deltas stay exact)
MEETING_RISK_LOOKBACK_DAYS = 30  # close-date pushes looked at when there is no previous meeting
RISK_CATEGORIES = (ForecastCategory.COMMIT, ForecastCategory.CLOSED, ForecastCategory.BEST_CASE)
RISK_DEAL_FIELDS = (
    "id", "name", "amount", "currency", "forecast_category", "close_date", "next_step",
    "owner_id", "owner__first_name", "owner__last_name", "owner__username",
)  # fmt: skip


def snapshot_comparison(
    scope: SnapshotScope, period: rules.Period, before: dt.date, after: dt.date
) -> WeekOverWeek:
    """The changes in `period`'s open pipeline in `scope` between the snapshot of week
    `before` and that of week `after` (Mondays, `before` ≤ `after`; any number of weeks
    apart), per change kind of forecasting.rules.week_changes. A deal closed between the
    two is won / lost when it closed by the end of week `after`. The same week twice
    compares a snapshot with itself: no change. Two queries."""
    params = {
        **scope.params(),
        "before": before,
        "after": after,
        "start": period.start,
        "end": period.end,
        "before_start": organisation.current().start_of(before),
        "after_end": _week_end(after),
    }
    opening: dict[str, Decimal] = {}
    closing: dict[str, Decimal] = {}
    exists: dict[dt.date, bool] = {}
    with connection.cursor() as cursor:
        cursor.execute(WOW_TOTALS_SQL.format(scope_s=scope.sql("s")), params)
        for row_week, taken, currency, total in cursor.fetchall():
            exists[row_week] = taken
            if currency is not None:
                if row_week == before:
                    opening[currency] = total
                if row_week == after:
                    closing[currency] = total
        rows = []
        if exists[before] and exists[after]:
            sql = WOW_SQL.format(
                scope_s=scope.sql("s"), scope_b=scope.sql("b"), scope_a=scope.sql("a")
            )
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    found: dict[rules.Change, list[ChangeItem]] = {kind: [] for kind in rules.Change}
    for (
        pk, name, has_b, b_amount, b_currency, b_close, b_scope,
        has_a, a_amount, a_currency, a_close, a_scope, closed_in_time, won, close_now,
    ) in rows:  # fmt: skip
        state_b = rules.SnapshotState(b_amount, b_currency, b_close, b_scope) if has_b else None
        state_a = rules.SnapshotState(a_amount, a_currency, a_close, a_scope) if has_a else None
        closed = rules.ClosedSince(won=won, close_date=close_now) if closed_in_time else None
        for change in rules.week_changes(
            period=period, before=state_b, after=state_a, closed=closed
        ):
            found[change.kind].append(
                ChangeItem(
                    opportunity_id=pk,
                    name=name,
                    currency=change.currency,
                    delta=change.delta,
                    amount_before=b_amount if has_b else None,
                    amount_after=a_amount if has_a else None,
                    close_date_before=b_close if has_b else None,
                    close_date_after=a_close if has_a else (close_now if closed else None),
                )
            )
    changes = []
    for kind, items in found.items():
        deltas: dict[str, Decimal] = {}
        for item in items:
            deltas[item.currency] = deltas.get(item.currency, Decimal("0")) + item.delta
        items.sort(key=lambda item: (-abs(item.delta), item.opportunity_id))
        changes.append(
            ChangeGroup(
                kind=kind,
                label=rules.CHANGE_LABELS[kind],
                count=len({item.opportunity_id for item in items}),
                deltas=dict(sorted(deltas.items())),
                items=items[:CHANGE_ITEMS_PER_KIND],
            )
        )
    return WeekOverWeek(
        period=period,
        week=after,
        previous_week=before,
        has_snapshot=exists[after],
        has_previous_snapshot=exists[before],
        opening=dict(sorted(opening.items())),
        closing=dict(sorted(closing.items())),
        changes=changes,
    )


# Pure: which reasons make a commit / best-case deal a risk to the period's number, and
# how the risks are ranked. The pipeline's open flags are the one definition of a stale
# deal (no customer activity, stuck in stage, close date passed, next step overdue; each
# with the limits of its stage), so no second "stale" threshold is made up here.


@dataclass(frozen=True)
class RiskFlag:
    severity: str  # FlagSeverity
    label: str
    explanation: str


def deal_risk_reasons(
    *,
    flags: Iterable[RiskFlag],
    pushes: Iterable[tuple[dt.date, dt.date]],
    next_step: str,
    since_label: str,
) -> list[str]:
    """The reasons, in words, that a commit / best-case deal is at risk: its open flags
    (critical first), its close date pushed later `since_label` ("since the last meeting
    (…)", "in the last 30 days"; several pushes grouped: "pushed 3 times …: 12 Oct → 30 Nov"),
    and no next step. Empty: not at risk."""
    reasons = [
        f"{f.label} ({f.severity}): {f.explanation}"
        for f in sorted(flags, key=lambda f: (f.severity != FlagSeverity.CRITICAL, f.label))
    ]
    later = sorted((p for p in pushes if p[1] > p[0]), key=lambda p: p[0])
    if later:
        first, last = later[0][0], later[-1][1]
        times = "once" if len(later) == 1 else f"{len(later)} times"
        reasons.append(
            f"Close date pushed {times} {since_label}: {first:%d %b %Y} → {last:%d %b %Y}"
        )
    if not next_step.strip():
        reasons.append("No next step")
    return reasons


def risk_rank(*, critical: bool, reasons: int, amount: Decimal, deal_id: int) -> tuple:
    """Sort key: deals with a critical flag first, then more reasons, then the larger."""
    return (not critical, -reasons, -amount, deal_id)


@dataclass(frozen=True)
class MeetingNumbers:
    """What a meeting of `team` about `period` freezes, as JSON-ready values (Decimals as
    strings): `figures`, `risks` and `changes` (see meeting_numbers)."""

    period: rules.Period
    team_id: int
    currency: str
    previous: ForecastMeeting | None
    figures: dict[str, Any]
    risks: list[dict[str, Any]]
    changes: dict[str, Any]


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def _meeting_figures(summary: ForecastSummary) -> dict[str, Any]:
    code = summary.currency
    return {
        "currency": code,
        "totals": forecasting_services.figures_json(summary.totals, code),
        "by_owner": [
            {"id": row.id, "name": row.name, "team": row.team_id}
            | forecasting_services.figures_json(row.figures, code)
            for row in summary.by_owner
        ],
    }


def figure_deltas(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, str | None]:
    """Each total of `current` minus the same total of `previous` (figures JSON as
    meetings store them); None where either is None or the currencies differ."""
    now, before = current.get("totals") or {}, previous.get("totals") or {}
    same = current.get("currency") == previous.get("currency")
    deltas: dict[str, str | None] = {}
    for name in forecasting_services.FIGURE_FIELDS:
        a, b = now.get(name), before.get(name)
        known = same and a is not None and b is not None
        deltas[name] = str(Decimal(a) - Decimal(b)) if known else None
    return deltas


def previous_meeting(
    team_id: int, period: rules.Period, held_on: dt.date, *, exclude: int | None = None
) -> ForecastMeeting | None:
    """The meeting of the same team and period held last before `held_on`."""
    meetings = ForecastMeeting.objects.filter(
        team_id=team_id,
        period_kind=period.kind.value,
        period_start=period.start,
        held_on__lt=held_on,
    )
    if exclude is not None:
        meetings = meetings.exclude(pk=exclude)
    return meetings.order_by("-held_on", "-id").first()


def _meeting_changes(
    scope: SnapshotScope,
    period: rules.Period,
    figures: dict[str, Any],
    previous: ForecastMeeting | None,
    today: dt.date,
) -> dict[str, Any]:
    """The figure deltas against `previous` and the deal-level changes between the snapshot
    week at or before the previous meeting (none: the week before the latest) and the
    latest snapshot week."""
    with connection.cursor() as cursor:
        cursor.execute(LATEST_WEEK_SQL, [rules.week_start(today)])
        row = cursor.fetchone()
        to_week = row[0] if row else None
        from_week = None
        if previous is not None:
            cursor.execute(LATEST_WEEK_SQL, [previous.held_on])
            row = cursor.fetchone()
            from_week = row[0] if row else None
        elif to_week is not None:
            from_week = to_week - dt.timedelta(days=7)
    result: dict[str, Any] = {
        "previous_meeting": (
            {"id": previous.pk, "held_on": previous.held_on.isoformat()} if previous else None
        ),
        "figure_deltas": figure_deltas(figures, previous.figures) if previous else None,
        "basis": "previous_meeting" if previous else "previous_week",
        "from_week": from_week.isoformat() if from_week else None,
        "to_week": to_week.isoformat() if to_week else None,
        "available": False,
        "opening": {},
        "closing": {},
        "deals": [],
    }
    if from_week is None or to_week is None:
        return result
    comparison = snapshot_comparison(scope, period, from_week, to_week)
    result["available"] = comparison.available
    result["opening"] = {c: _money(v) for c, v in comparison.opening.items()}
    result["closing"] = {c: _money(v) for c, v in comparison.closing.items()}
    if not comparison.available:
        return result
    result["deals"] = [
        {
            "kind": group.kind.value,
            "label": group.label,
            "count": group.count,
            "deltas": {c: _money(v) for c, v in group.deltas.items()},
            "items": [
                {
                    "opportunity_id": item.opportunity_id,
                    "name": item.name,
                    "currency": item.currency,
                    "delta": _money(item.delta),
                    "amount_before": _money(item.amount_before),
                    "amount_after": _money(item.amount_after),
                    "close_date_before": _iso(item.close_date_before),
                    "close_date_after": _iso(item.close_date_after),
                }
                for item in group.items[:MEETING_CHANGE_ITEMS]
            ],
        }
        for group in comparison.changes
    ]
    return result


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _meeting_risks(
    teams: Iterable[int], period: rules.Period, since: dt.datetime, since_label: str
) -> list[dict[str, Any]]:
    """The open commit / best-case deals of `teams` (their owners' current teams, as
    forecast_summary counts them) closing in `period` that have a risk reason, most
    severe first, at most MEETING_MAX_RISKS. Three queries: the deals, their open flags,
    their close-date changes since `since`."""
    deals = list(
        Opportunity.objects.filter(
            status=OpportunityStatus.OPEN,
            owner__team_id__in=list(teams),
            close_date__gte=period.start,
            close_date__lt=period.end,
            forecast_category__in=RISK_CATEGORIES,
        )
        .values(*RISK_DEAL_FIELDS)
        .order_by("id")
    )
    ids = [d["id"] for d in deals]
    flags: dict[int, list[RiskFlag]] = {}
    for f in OpportunityFlag.objects.filter(opportunity_id__in=ids, cleared_at__isnull=True):
        flags.setdefault(f.opportunity_id, []).append(
            RiskFlag(f.severity, f.get_kind_display(), f.explanation)
        )
    pushes: dict[int, list[tuple[dt.date, dt.date]]] = {}
    for change in OpportunityChange.objects.filter(
        opportunity_id__in=ids, field=ChangeField.CLOSE_DATE, changed_at__gte=since
    ).order_by("changed_at", "id"):
        try:
            old = dt.date.fromisoformat(change.old_value)
            new = dt.date.fromisoformat(change.new_value)
        except ValueError:
            continue  # a history row that is not a pair of dates tells nothing here
        pushes.setdefault(change.opportunity_id, []).append((old, new))
    risks = []
    for d in deals:
        deal_flags = flags.get(d["id"], [])
        reasons = deal_risk_reasons(
            flags=deal_flags,
            pushes=pushes.get(d["id"], []),
            next_step=d["next_step"],
            since_label=since_label,
        )
        if not reasons:
            continue
        critical = any(f.severity == FlagSeverity.CRITICAL for f in deal_flags)
        risks.append(
            (
                risk_rank(
                    critical=critical, reasons=len(reasons), amount=d["amount"], deal_id=d["id"]
                ),
                {
                    "opportunity_id": d["id"],
                    "name": d["name"],
                    "owner_id": d["owner_id"],
                    "owner_name": _name(
                        d["owner__first_name"], d["owner__last_name"], d["owner__username"]
                    ),
                    "amount": _money(d["amount"]),
                    "currency": d["currency"],
                    "forecast_category": d["forecast_category"],
                    "close_date": d["close_date"].isoformat(),
                    "severity": FlagSeverity.CRITICAL if critical else FlagSeverity.WARNING,
                    "reasons": reasons,
                },
            )
        )
    risks.sort(key=lambda pair: pair[0])
    return [risk for _, risk in risks[:MEETING_MAX_RISKS]]


def meeting_numbers(
    user: User,
    period_label: Any,
    team_id: Any,
    *,
    held_on: dt.date | None = None,
    exclude_meeting: int | None = None,
    now: dt.datetime | None = None,
) -> MeetingNumbers:
    """What a forecast meeting of `team_id` about `period_label` held on `held_on`
    (default today) freezes, computed now in `user`'s scope (a team outside it is a 404,
    a bad period a ValidationFailed):

    - figures: forecast_summary's totals and by-owner rows for the team with its
      sub-teams, in the organisation's default currency, with the currency;
    - risks: the open deals of the team's people closing in the period in Commit or Best
      case with a reason (deal_risk_reasons): open flags, close date pushed since the
      previous meeting (none: in the last 30 days), no next step; most severe first;
    - changes: the figure deltas against the previous meeting of the same team and period
      (the one held last before `held_on`), and the deal-level changes (new, pulled in,
      pushed out, amount up/down, won, lost, …) between the snapshot week at or before
      the previous meeting and the latest snapshot week; without a previous meeting,
      between the latest snapshot week and the week before.

    A fixed number of queries (about fifteen), whatever the number of deals."""
    now = now or timezone.now()
    today = forecasting_services.local_today(now)
    held_on = held_on or today
    summary = forecast_summary(
        user, period_label, team_id, currency=organisation.current().default_currency
    )
    period = summary.period
    team_pk = summary.team_id
    assert team_pk is not None  # forecast_summary 404s a team outside the scope
    scope = snapshot_scope(user, team_pk)
    previous = previous_meeting(team_pk, period, held_on, exclude=exclude_meeting)
    figures = _meeting_figures(summary)
    if previous is not None:
        since = organisation.current().start_of(previous.held_on)
        since_label = f"since the last meeting ({previous.held_on:%d %b %Y})"
    else:
        since = now - dt.timedelta(days=MEETING_RISK_LOOKBACK_DAYS)
        since_label = f"in the last {MEETING_RISK_LOOKBACK_DAYS} days"
    return MeetingNumbers(
        period=period,
        team_id=team_pk,
        currency=summary.currency,
        previous=previous,
        figures=figures,
        risks=_meeting_risks(scope.team_filter or [], period, since, since_label),
        changes=_meeting_changes(scope, period, figures, previous, today),
    )


def meeting_attendee_candidates(team_id: int) -> list[User]:
    """Who may attend a forecast meeting of the team: the active members of the team and
    its sub-teams, the managers of those teams and of the teams above it (who manage it),
    and the sales leaders. By name. Two queries."""
    teams = list(Team.objects.only("id", "parent_id", "manager_id"))
    by_id = {t.pk: t for t in teams}
    subtree = access.sub_teams_among(teams, team_id)
    managers = {by_id[pk].manager_id for pk in subtree}
    parent, seen = by_id[team_id].parent_id if team_id in by_id else None, set()
    while parent is not None and parent not in seen:  # a cycle of parents stops
        seen.add(parent)
        managers.add(by_id[parent].manager_id)
        parent = by_id[parent].parent_id
    people = User.objects.filter(
        Q(team_id__in=subtree) | Q(pk__in=managers - {None}) | Q(role=Role.LEADER),
        is_active=True,
    ).select_related("team")
    return sorted(people, key=lambda u: (str(u).lower(), u.pk))


def meetings_for(user: User, *, period: Any = None, team: Any = None) -> QuerySet[ForecastMeeting]:
    """The forecast meetings `user` may see, latest first: a rep those they attended; a
    manager those of the teams they manage (sub-teams included) and those they attended;
    a leader or admin all. `period`: a label (a bad one is a ValidationFailed); `team`: the
    team's meetings and its sub-teams' (an unknown team matches nothing). Each row with
    its team, creator and `attendee_count` — one query."""
    attended = ForecastMeeting.attendees.through.objects.filter(
        forecastmeeting_id=OuterRef("pk"), user_id=user.pk
    )
    rows = (
        ForecastMeeting.objects.select_related("team", "created_by")
        .annotate(
            attendee_count=Subquery(
                ForecastMeeting.attendees.through.objects.filter(forecastmeeting_id=OuterRef("pk"))
                .order_by()
                .values("forecastmeeting_id")
                .annotate(n=Count("*"))
                .values("n")[:1]
            )
        )
        .order_by("-held_on", "-id")
    )
    if not (user.is_authenticated and user.is_active):
        return rows.none()
    if user.is_manager:
        rows = rows.filter(Q(team_id__in=access.managed_team_ids_sql(user)) | Exists(attended))
    elif not user.sees_everything:
        rows = rows.filter(Exists(attended))
    if period not in (None, ""):
        the_period = forecasting_services.period_from_label(period)
        rows = rows.filter(period_kind=the_period.kind.value, period_start=the_period.start)
    if team not in (None, ""):
        rows = rows.filter(team_id__in=access.team_subtree(team))
    return rows


def meeting_get_for(user: User, pk: Any) -> ForecastMeeting:
    """One meeting in `user`'s scope with its attendees; outside it (or none) is a 404."""
    meetings = meetings_for(user).prefetch_related(
        Prefetch(
            "attendees",
            queryset=User.objects.select_related("team").order_by(
                "first_name", "last_name", "username", "id"
            ),
        )
    )
    return get_object_or_404(meetings, pk=id_or_404(pk, "meeting"))


def meeting_period_label(meeting: ForecastMeeting) -> str:
    calendar = forecasting_services.fiscal_calendar()
    return calendar.period_of(meeting.period_start, meeting.period_kind).label


def meeting_neighbours(
    user: User, meeting: ForecastMeeting
) -> tuple[ForecastMeeting | None, ForecastMeeting | None]:
    """The meetings of the same team and period held just before and just after
    `meeting` that `user` may see. Two queries."""
    same = meetings_for(user).filter(
        team_id=meeting.team_id, period_kind=meeting.period_kind, period_start=meeting.period_start
    )
    earlier = Q(held_on__lt=meeting.held_on) | Q(held_on=meeting.held_on, pk__lt=meeting.pk)
    later = Q(held_on__gt=meeting.held_on) | Q(held_on=meeting.held_on, pk__gt=meeting.pk)
    before = same.filter(earlier).order_by("-held_on", "-id").first()
    after = same.filter(later).order_by("held_on", "id").first()
    return before, after


def meeting_teams_for(user: User) -> list[Team]:
    """The teams `user` may hold a forecast meeting for (a manager: the teams they manage
    and their sub-teams; a leader or admin: all; a rep: none). By name."""
    if not (user.is_authenticated and user.is_active):
        return []
    if user.sees_everything:
        return list(Team.objects.order_by("name", "id"))
    if user.is_manager:
        managed = Team.objects.filter(pk__in=access.managed_team_ids_sql(user))
        return list(managed.order_by("name", "id"))
    return []
