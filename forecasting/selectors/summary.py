"""The forecast summary of a period (forecast_summary) and the ONE definition of the deals
behind each of its figures, which the dashboard's drill-down lists."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Max, Q, QuerySet, Sum, Value
from django.http import Http404

from forecasting import rules
from forecasting.models import Quota
from forecasting.selectors.common import id_or_404, period_or_current, person_name
from pipeline.models import ForecastCategory, Opportunity, OpportunityStatus
from salesops import access, organisation
from salesops.cleaning import clean_currency
from salesops.exceptions import ValidationFailed
from salesops.models import Team, User

# --- summary ---
# The forecast numbers of a period for a scope, by team and by owner.


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


def _added(figures: Iterable[rules.ForecastFigures]) -> rules.ForecastFigures:
    return functools.reduce(operator.add, figures, rules.ZERO_FIGURES)


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
        if (
            owner_row is None  # never visible; said again for the checker
            or not visible
            or (scope_teams is not None and owner_row["team_id"] not in scope_teams)
        ):
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
    owners, quotas = _owners_and_quotas(scope, period, code)
    quota = _scope_quota(user, scope, quotas)
    totals = _added(o["figures"] for o in owners.values()).with_quota(quota)
    by_owner = _by_owner(owners, quotas)
    by_team = _by_team(user, scope, owners, quotas) if scope.picked_owner is None else []
    return ForecastSummary(
        period=period,
        currency=code,
        team_id=scope.picked_team,
        owner_id=scope.picked_owner,
        totals=totals,
        by_team=by_team,
        by_owner=by_owner,
    )


# The steps of forecast_summary. An owner of the summary: their name, team and figures
# (the sums of their deals), by id.
_Owners = dict[int, dict[str, Any]]


@dataclass(frozen=True)
class _Quotas:
    """The period's quotas in the summary's currency — each rep's (with the rep's team
    now) and each team's own — and their roll-ups (see forecast_summary)."""

    rep_quotas: dict[int, tuple[Decimal, int | None]]
    team_quotas: dict[int, Decimal]
    teams: list[Team]
    subtree_of: Callable[[int], frozenset[int]]

    def rep_quota(self, pk: int) -> Decimal | None:
        return self.rep_quotas[pk][0] if pk in self.rep_quotas else None

    def reps_sum(self, member_of: Callable[[int | None], bool]) -> Decimal | None:
        return rules.sum_quotas(a for a, team in self.rep_quotas.values() if member_of(team))

    def team_quota(self, pk: int) -> Decimal | None:
        if pk in self.team_quotas:
            return self.team_quotas[pk]
        members = self.subtree_of(pk)
        return self.reps_sum(lambda team: team in members)

    def top_teams_sum(self, ids: set[int] | frozenset[int]) -> Decimal | None:
        return rules.sum_quotas(
            self.team_quota(t.pk) for t in self.teams if t.pk in ids and t.parent_id not in ids
        )


def _summary_deal_rows(scope: SummaryScope, period: rules.Period, code: str) -> QuerySet:
    """The scope's deals in `code` summed per owner, one figure a FILTERed sum (not read
    yet)."""
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
    return deal_rows


def _owners_and_quotas(
    scope: SummaryScope, period: rules.Period, code: str
) -> tuple[_Owners, _Quotas]:
    """The owners with deals in the scope (their sums) or a quota in it, and the period's
    quotas in `code`: two queries, the deals' then the quotas'."""
    in_scope = scope.in_scope
    deal_rows = _summary_deal_rows(scope, period, code)
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
            "name": person_name(
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
                "name": person_name(
                    row["rep__first_name"], row["rep__last_name"], row["rep__username"]
                ),
                "team": row["rep__team_id"],
                "figures": rules.ZERO_FIGURES,
            }
    quotas = _Quotas(
        rep_quotas=rep_quotas,
        team_quotas=team_quotas,
        teams=scope.teams,
        subtree_of=scope.subtree_of,
    )
    return owners, quotas


def _scope_quota(user: User, scope: SummaryScope, quotas: _Quotas) -> Decimal | None:
    """The scope's quota (see forecast_summary)."""
    picked_owner, picked_team = scope.picked_owner, scope.picked_team
    team_names, pickable = scope.team_names, scope.pickable
    rep_quota, team_quota, reps_sum = quotas.rep_quota, quotas.team_quota, quotas.reps_sum
    top_teams_sum, rep_quotas = quotas.top_teams_sum, quotas.rep_quotas
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
    return quota


def _by_owner(owners: _Owners, quotas: _Quotas) -> list[SummaryRow]:
    """A row per owner, by name, with their quota."""
    rep_quota = quotas.rep_quota
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
    return by_owner


def _by_team(user: User, scope: SummaryScope, owners: _Owners, quotas: _Quotas) -> list[SummaryRow]:
    """A row per team in the scope, by name, each rolled up with its sub-teams; then "No
    team" on the company scope when owners without a team have figures."""
    scope_teams, pickable, team_names = scope.scope_teams, scope.pickable, scope.team_names
    subtree_of, team_quota, reps_sum = scope.subtree_of, quotas.team_quota, quotas.reps_sum
    by_team: list[SummaryRow] = []
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
    return by_team
