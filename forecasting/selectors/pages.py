"""The forecast page of a rep and of a team, built from the summary, history and
submission reads (so the page's numbers are the API's)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from forecasting import rules
from forecasting import services as forecasting_services
from forecasting.models import ForecastSubmission, SubmissionLevel
from forecasting.selectors.common import id_or_404
from forecasting.selectors.history import HistoryForecast, history_forecast
from forecasting.selectors.submissions import not_submitted_this_week, submissions_for
from forecasting.selectors.summary import forecast_summary
from salesops import access
from salesops.models import Team, User

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
        latest_call=next(
            (c for c in calls if c.next_id is None),  # type: ignore[attr-defined]  # next_id: submissions_for's annotate()
            None,
        ),
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
            assert row.id is not None  # by_owner's rows are owners (only by_team's may be None)
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
    manager = team.manager if team.manager is not None and team.manager.is_active else None
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
            (c for c in calls if c.submitter_id == user.pk and c.next_id is None),  # type: ignore[attr-defined]  # next_id: submissions_for's annotate()
            None,
        ),
        manager_name=str(manager) if manager else None,
        manager_submitted_this_week=None if manager is None else not team_not_called,
        week=missing.week,
    )
