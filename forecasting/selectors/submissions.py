"""Forecast submission reads: the calls a user may see, and who has not called this week."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404

from forecasting import rules
from forecasting import services as forecasting_services
from forecasting.models import ForecastSubmission, SubmissionLevel
from forecasting.selectors.common import period_or_current, person_name
from salesops import access, organisation
from salesops.models import User

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
            name=person_name(first, last, username),
            team_id=team_id,
            team_name=team_name,
            last_submitted_at=last_at,
        )
        for level, person, first, last, username, team_id, team_name, last_at in rows
    ]
    people.sort(key=lambda p: (p.name.lower(), p.person_id, p.level, (p.team_name or "").lower()))
    return NotSubmitted(period=period, week=week, since=since, people=people)
