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
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
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
from forecasting import rules
from forecasting import services as forecasting_services
from forecasting.models import ForecastSubmission, Quota, SubmissionLevel
from pipeline.models import ForecastCategory, Opportunity, OpportunityStatus
from salesops import access
from salesops.cleaning import clean_currency
from salesops.exceptions import ValidationFailed
from salesops.models import Team, User

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


def quota_period_label(quota: Quota) -> str:
    """The label of a quota's period in the organisation's fiscal calendar."""
    calendar = forecasting_services.fiscal_calendar()
    return calendar.period_of(quota.period_start, quota.period_kind).label


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


def _id_or_404(value: Any, what: str) -> int:
    """A team or person id from a query string; anything else is a 404 (as if there were no
    such record), never a 500."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) == 0:
        raise Http404(f"No such {what}.")
    return int(text)


def period_or_current(period_label: Any) -> rules.Period:
    """The period of `period_label`; none: the current fiscal quarter. A bad label is a
    ValidationFailed with the parser's message in details.period."""
    if period_label in (None, ""):
        return forecasting_services.fiscal_calendar().period_of(
            forecasting_services.local_today(), rules.PeriodKind.QUARTER
        )
    return forecasting_services.period_from_label(period_label)


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
    default settings.DEFAULT_CURRENCY): deals and quotas in other currencies are left
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
    code = clean_currency(errors, currency or settings.DEFAULT_CURRENCY)
    if errors:
        raise ValidationFailed(details=errors)

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
        picked_team = _id_or_404(team_id, "team")
        if picked_team not in pickable:
            raise Http404("No such team.")
        scope_teams = subtree_of(picked_team)
    if owner_id not in (None, ""):
        picked_owner = _id_or_404(owner_id, "person")
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

    tz = timezone.get_default_timezone()
    won = Q(
        status=OpportunityStatus.WON,
        closed_at__gte=dt.datetime.combine(period.start, dt.time.min, tzinfo=tz),
        closed_at__lt=dt.datetime.combine(period.end, dt.time.min, tzinfo=tz),
    )
    open_in_period = Q(
        status=OpportunityStatus.OPEN, close_date__gte=period.start, close_date__lt=period.end
    )
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))

    def category(*names: str) -> Sum:
        return Sum("amount", filter=open_in_period & Q(forecast_category__in=names), default=zero)

    deal_rows = (
        Opportunity.objects.filter(deals_q, won | open_in_period, currency=code)
        .values(
            "owner_id",
            "owner__team_id",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
        )
        .annotate(
            closed_won=Sum("amount", filter=won, default=zero),
            commit=category(ForecastCategory.COMMIT, ForecastCategory.CLOSED),
            best_case=category(ForecastCategory.BEST_CASE),
            pipeline=category(ForecastCategory.PIPELINE),
            weighted_raw=Sum(
                ExpressionWrapper(
                    F("amount") * F("stage__probability"),
                    output_field=DecimalField(max_digits=20, decimal_places=2),
                ),
                filter=open_in_period & ~Q(forecast_category=ForecastCategory.OMITTED),
                default=zero,
            ),
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
        pk = _id_or_404(team_id, "team")
        if not everything and pk not in managed:
            raise Http404("No such team.")
        team_filter = sorted(access.team_subtree(pk))
        if not team_filter:
            raise Http404("No such team.")
    owner = None
    if owner_id not in (None, ""):
        owner = _id_or_404(owner_id, "person")
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
    return dt.datetime.combine(
        week + dt.timedelta(days=7), dt.time.min, tzinfo=timezone.get_default_timezone()
    )


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


def _wow_week(week: Any) -> dt.date | None:
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
# snapshot at all (whoever's rows it holds).
WOW_TOTALS_SQL = """
SELECT w.week,
       EXISTS (SELECT 1 FROM forecasting_pipelinesnapshot x WHERE x.week = w.week),
       t.currency, t.total
FROM (VALUES (%(before)s::date), (%(after)s::date)) AS w(week)
LEFT JOIN LATERAL (
    SELECT s.currency, sum(s.amount) AS total
    FROM forecasting_pipelinesnapshot s
    WHERE s.week = w.week AND s.close_date >= %(start)s AND s.close_date < %(end)s
      AND {scope_s}
    GROUP BY s.currency
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
    SELECT ids.id, o.name, o.status, o.closed_at, o.close_date AS close_now,
           b.opportunity_id IS NOT NULL AS has_b, b.amount AS b_amount,
           b.currency AS b_currency, b.close_date AS b_close, {scope_b} AS b_scope,
           a.opportunity_id IS NOT NULL AS has_a, a.amount AS a_amount,
           a.currency AS a_currency, a.close_date AS a_close, {scope_a} AS a_scope
    FROM ids
    JOIN pipeline_opportunity o ON o.id = ids.id
    LEFT JOIN forecasting_pipelinesnapshot b
        ON b.week = %(before)s AND b.opportunity_id = ids.id
    LEFT JOIN forecasting_pipelinesnapshot a
        ON a.week = %(after)s AND a.opportunity_id = ids.id
)
SELECT id, name, has_b, b_amount, b_currency, b_close, b_scope,
       has_a, a_amount, a_currency, a_close, a_scope,
       status <> 'open' AND closed_at < %(after_end)s AS closed_in_time,
       status = 'won' AS won, close_now
FROM pairs
WHERE (has_a OR has_b)
  AND NOT (has_a AND has_b AND a_scope = b_scope AND a_amount = b_amount
           AND a_currency = b_currency
           AND (a_close >= %(start)s AND a_close < %(end)s)
             = (b_close >= %(start)s AND b_close < %(end)s))
ORDER BY id
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
    week = _wow_week(week)
    scope = snapshot_scope(user, team_id, owner_id)
    current = rules.week_start(forecasting_services.local_today())
    if week is None:
        with connection.cursor() as cursor:
            cursor.execute(LATEST_WEEK_SQL, [current])
            row = cursor.fetchone()
        week = row[0] if row else current
    before = week - dt.timedelta(days=7)
    params = {
        **scope.params(),
        "before": before,
        "after": week,
        "start": period.start,
        "end": period.end,
        "before_start": dt.datetime.combine(
            before, dt.time.min, tzinfo=timezone.get_default_timezone()
        ),
        "after_end": _week_end(week),
    }
    opening: dict[str, Decimal] = {}
    closing: dict[str, Decimal] = {}
    exists: dict[dt.date, bool] = {}
    with connection.cursor() as cursor:
        cursor.execute(WOW_TOTALS_SQL.format(scope_s=scope.sql("s")), params)
        for row_week, taken, currency, total in cursor.fetchall():
            exists[row_week] = taken
            if currency is not None:
                (opening if row_week == before else closing)[currency] = total
        rows = []
        if exists[before] and exists[week]:
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
        week=week,
        previous_week=before,
        has_snapshot=exists[week],
        has_previous_snapshot=exists[before],
        opening=dict(sorted(opening.items())),
        closing=dict(sorted(closing.items())),
        changes=changes,
    )


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
       s.forecast_category, s.currency, sum(s.amount), count(s.opportunity_id)
FROM (SELECT d::date AS week
      FROM generate_series(%(first)s::date, %(last)s::date, interval '7 days') AS d) AS g
LEFT JOIN forecasting_pipelinesnapshot s
    ON s.week = g.week AND s.close_date >= %(start)s AND s.close_date < %(end)s
   AND {scope_s}
GROUP BY g.week, s.forecast_category, s.currency
ORDER BY g.week, s.forecast_category, s.currency
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
                    %(now)s) AS until
    FROM pipeline_opportunitychange c
    WHERE c.field = 'stage' AND c.new_value ~ '^[0-9]{1,18}$' AND c.changed_at >= %(start)s
    UNION ALL
    SELECT o.id, o.stage_id, o.stage_entered_at, %(now)s
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
    default settings.DEFAULT_CURRENCY), Omitted left out, in `user`'s scope as
    snapshot_scope decides it on the deal's owner now and the owner's team now: a rep
    their own deals, a manager their teams' (sub-teams included) and their own, a leader
    all, narrowed to `team_id` (with sub-teams) and/or `owner_id`. A team or person
    outside the scope is a 404; a bad period or currency is a ValidationFailed.

    Queries: up to three to check the scope, the stages, one aggregate of the history,
    one aggregate of the open pipeline — six at most, however many deals."""
    period = period_or_current(period_label)
    errors: dict[str, list[str]] = {}
    code = clean_currency(errors, currency or settings.DEFAULT_CURRENCY)
    if errors:
        raise ValidationFailed(details=errors)
    scope = snapshot_scope(user, team_id, owner_id)
    now = now or timezone.now()
    window_end = now - dt.timedelta(days=HISTORY_MATURITY_DAYS)
    window_start = window_end - dt.timedelta(days=HISTORY_LOOKBACK_DAYS)
    params = {
        **scope.params(),
        "now": now,
        "start": window_start,
        "end": window_end,
        "lowers": list(history_computations.BUCKET_LOWERS),
        "p_start": period.start,
        "p_end": period.end,
        "currency": code,
    }
    with connection.cursor() as cursor:
        cursor.execute(HISTORY_STAGES_SQL)
        stages = pd.DataFrame(cursor.fetchall(), columns=history_computations.STAGE_COLUMNS)
        cursor.execute(HISTORY_SQL, params)
        history_rows = cursor.fetchall()
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
    since = dt.datetime.combine(week, dt.time.min, tzinfo=timezone.get_default_timezone())
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
