"""Forecast meeting reads: the numbers a meeting freezes (figures, risks, changes since the
previous meeting), the meetings a user may see, and who may attend one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from forecasting import rules
from forecasting import services as forecasting_services
from forecasting.models import ForecastMeeting
from forecasting.selectors.changes import snapshot_comparison
from forecasting.selectors.common import id_or_404, person_name
from forecasting.selectors.snapshots import LATEST_WEEK_SQL, SnapshotScope, snapshot_scope
from forecasting.selectors.summary import ForecastSummary, forecast_summary
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
from salesops.models import Role, Team, User

# --- forecast meetings ---
# The numbers a forecast meeting freezes (figures, risks, changes since the previous
# meeting), the meetings a user may see, and who may attend one. The comparison of two
# snapshot weeks is week_over_week's (snapshot_comparison, in changes.py).

MEETING_MAX_RISKS = 100  # the most severe deals at risk kept with a meeting
MEETING_CHANGE_ITEMS = 50  # deals kept per change kind (the counts and deltas stay exact)
MEETING_RISK_LOOKBACK_DAYS = 30  # close-date pushes looked at when there is no previous meeting
RISK_CATEGORIES = (ForecastCategory.COMMIT, ForecastCategory.CLOSED, ForecastCategory.BEST_CASE)
RISK_DEAL_FIELDS = (
    "id", "name", "amount", "currency", "forecast_category", "close_date", "next_step",
    "owner_id", "owner__first_name", "owner__last_name", "owner__username",
)  # fmt: skip


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
        if same and a is not None and b is not None:
            deltas[name] = str(Decimal(a) - Decimal(b))
        else:
            deltas[name] = None
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
                    "owner_name": person_name(
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
                .values("n")[:1]  # type: ignore[misc]  # the plugin misses `n` annotated on the through model
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
