"""Coaching coverage: per rep, the 1:1s, reviews and assessments of a period; the 1:1s
due and overdue; open coaching flags; and the coaching each rep received (for insights)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    QuerySet,
)
from django.utils import timezone

from coaching.cadence import REP_CADENCE_SQL, cadence_params
from coaching.models import (
    CoachingFlag,
    CoachingSession,
    OpportunityReview,
)
from coaching.selectors.skills import matrix_teams_for, picked_team
from salesops import access, organisation
from salesops.exceptions import PermissionDenied, ValidationFailed
from salesops.models import Team, User

# --- coaching coverage ---
# Per manager: reps coached within cadence, 1:1s held, reviews completed and action items
# done on time. Whose rep is whom is the cadence's rule (coaching/cadence.py: the nearest
# active manager up the rep's team chain), read from the same SQL, so the coverage page and
# the overdue flags never disagree. A fixed number of queries whatever the number of
# managers and reps: the teams in scope (one or two), then one aggregate statement.

COVERAGE_MIN_DAYS, COVERAGE_MAX_DAYS, COVERAGE_DEFAULT_DAYS = 7, 365, 30


@dataclass(frozen=True)
class CoverageRow:
    manager_id: int | None  # None: the totals row
    manager_name: str
    reps: int = 0
    coached: int = 0  # reps whose 1:1 is not overdue today
    one_on_ones: int = 0  # 1:1s held by the manager in the window
    reviews: int = 0  # opportunity reviews the manager completed in the window
    items_due: int = 0  # action items of the manager's reviews/1:1s due in the window
    items_on_time: int = 0  # … done on or before their due date

    @property
    def coached_share(self) -> float | None:
        return self.coached / self.reps if self.reps else None

    @property
    def on_time_share(self) -> float | None:
        return self.items_on_time / self.items_due if self.items_due else None


@dataclass(frozen=True)
class Coverage:
    rows: list[CoverageRow]
    totals: CoverageRow
    days: int
    since: Any  # the window's first day (1:1s and reviews: since … today)
    items_from: Any  # action items due from this day to yesterday
    today: Any
    teams: list[Team] = field(default_factory=list)  # the teams `user` may pick
    team: Team | None = None


COVERAGE_SQL = """
WITH {rep_cadence},
scope_reps AS (
    SELECT * FROM rep_cadence
    WHERE manager_id IS NOT NULL
      AND (%(teams)s::bigint[] IS NULL OR team_id = ANY(%(teams)s::bigint[]))
),
managers AS (
    SELECT t.manager_id AS id FROM salesops_team t
    WHERE t.manager_id IS NOT NULL
      AND (%(teams)s::bigint[] IS NULL OR t.id = ANY(%(teams)s::bigint[]))
    UNION
    SELECT manager_id FROM scope_reps
),
rep_counts AS (
    SELECT manager_id, count(*) AS reps,
           count(*) FILTER (WHERE %(today)s::date <= due_on) AS coached
    FROM scope_reps GROUP BY manager_id
),
sessions AS (
    SELECT s.manager_id, count(*) AS n
    FROM coaching_coachingsession s JOIN salesops_user r ON r.id = s.rep_id
    WHERE s.held_on BETWEEN %(since)s AND %(today)s
      AND (%(teams)s::bigint[] IS NULL OR r.team_id = ANY(%(teams)s::bigint[]))
    GROUP BY s.manager_id
),
reviews AS (
    SELECT v.manager_id, count(*) AS n
    FROM coaching_opportunityreview v JOIN salesops_user r ON r.id = v.rep_id
    WHERE v.status = 'completed'
      AND (v.completed_at AT TIME ZONE %(tz)s)::date BETWEEN %(since)s AND %(today)s
      AND (%(teams)s::bigint[] IS NULL OR r.team_id = ANY(%(teams)s::bigint[]))
    GROUP BY v.manager_id
),
items AS (
    SELECT COALESCE(v.manager_id, s.manager_id) AS manager_id, count(*) AS due,
           count(*) FILTER (WHERE a.done_at IS NOT NULL
                            AND (a.done_at AT TIME ZONE %(tz)s)::date <= a.due_on) AS on_time
    FROM coaching_actionitem a
    LEFT JOIN coaching_opportunityreview v ON v.id = a.review_id
    LEFT JOIN coaching_coachingsession s ON s.id = a.session_id
    JOIN salesops_user r ON r.id = COALESCE(v.rep_id, s.rep_id)
    WHERE a.due_on >= %(items_from)s AND a.due_on < %(today)s
      AND (%(teams)s::bigint[] IS NULL OR r.team_id = ANY(%(teams)s::bigint[]))
    GROUP BY 1
)
SELECT m.id,
       COALESCE(NULLIF(btrim(m.first_name || ' ' || m.last_name), ''), m.username) AS name,
       COALESCE(rc.reps, 0), COALESCE(rc.coached, 0), COALESCE(se.n, 0), COALESCE(rv.n, 0),
       COALESCE(it.due, 0), COALESCE(it.on_time, 0)
FROM managers mg
JOIN salesops_user m ON m.id = mg.id AND m.is_active
LEFT JOIN rep_counts rc ON rc.manager_id = m.id
LEFT JOIN sessions se ON se.manager_id = m.id
LEFT JOIN reviews rv ON rv.manager_id = m.id
LEFT JOIN items it ON it.manager_id = m.id
ORDER BY lower(COALESCE(NULLIF(btrim(m.first_name || ' ' || m.last_name), ''), m.username)),
         m.id
"""


def refuse_unless_coach(user: User) -> None:
    """Coverage and the coaching flags of others are for managers and leaders."""
    if not (user.is_authenticated and user.is_active and (user.is_manager or user.sees_everything)):
        raise PermissionDenied("Coaching coverage is for managers and leaders.")


def coverage_for(
    user: User, team_id: Any = None, days: int = COVERAGE_DEFAULT_DAYS, *, now: Any = None
) -> Coverage:
    """One row per manager in `user`'s scope — a leader: every manager (of `team_id`'s
    subtree when given); a manager: themselves and the managers of their sub-teams — with
    their reps (of the teams in scope), how many are coached within cadence today, the
    1:1s held and reviews completed in the last `days` days (today included), and the
    action items of their reviews and 1:1s due in the `days` days before today and how
    many were done on time; and the totals.

    Refuses a rep (PermissionDenied) and `days` outside 7–365 (ValidationFailed); a team
    `user` may not pick is a 404. Three queries at most, however many rows."""
    refuse_unless_coach(user)
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not (COVERAGE_MIN_DAYS <= days <= COVERAGE_MAX_DAYS)
    ):
        message = f"Enter a whole number of days from {COVERAGE_MIN_DAYS} to {COVERAGE_MAX_DAYS}."
        raise ValidationFailed(details={"days": [message]})
    teams = list(matrix_teams_for(user))
    team = None
    scope: list[int] | None = None if user.sees_everything else [t.pk for t in teams]
    if team_id not in (None, ""):
        team, ids = picked_team(teams, team_id)
        scope = sorted(ids)
    now = now or timezone.now()
    today = organisation.current().today(now)
    since = today - dt.timedelta(days=days - 1)
    items_from = today - dt.timedelta(days=days)
    params = {
        **cadence_params(now=now),
        "teams": scope,
        "today": today,
        "since": since,
        "items_from": items_from,
    }
    with connection.cursor() as cursor:
        cursor.execute(COVERAGE_SQL.format(rep_cadence=REP_CADENCE_SQL), params)
        rows = [CoverageRow(*row) for row in cursor.fetchall()]
    totals = CoverageRow(
        manager_id=None,
        manager_name="Total",
        **{
            name: sum(getattr(r, name) for r in rows)
            for name in (
                "reps", "coached", "one_on_ones", "reviews", "items_due", "items_on_time"
            )
        },
    )  # fmt: skip
    return Coverage(
        rows=rows,
        totals=totals,
        days=days,
        since=since,
        items_from=items_from,
        today=today,
        teams=teams,
        team=team,
    )


@dataclass(frozen=True)
class OneOnOneDue:
    rep_id: int
    rep_name: str
    started_on: Any
    last_held_on: Any
    due_on: Any
    today: Any

    @property
    def overdue(self) -> bool:
        return self.today > self.due_on

    @property
    def days_overdue(self) -> int:
        return max(0, (self.today - self.due_on).days)

    @property
    def days_left(self) -> int:
        return max(0, (self.due_on - self.today).days)


ONE_ON_ONES_SQL = """
WITH {rep_cadence}
SELECT rep_id, rep_name, started_on, last_held_on, due_on
FROM rep_cadence
WHERE {where}
ORDER BY due_on, lower(rep_name), rep_id
"""


def _one_on_ones(where: str, extra: dict[str, Any], *, rep_ids: Any = None) -> list[OneOnOneDue]:
    now = timezone.now()
    today = organisation.current().today(now)
    sql = ONE_ON_ONES_SQL.format(rep_cadence=REP_CADENCE_SQL, where=where)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**cadence_params(now=now, rep_ids=rep_ids), **extra})
        # The five columns of ONE_ON_ONES_SQL; OneOnOneDue's last field is `today`.
        rows: list[tuple[int, str, Any, Any, Any]] = cursor.fetchall()
        return [OneOnOneDue(*row, today=today) for row in rows]


def one_on_ones_due_for(manager: User) -> list[OneOnOneDue]:
    """The reps whose 1:1s `manager` owes (the cadence's rule), with their due dates, the
    most overdue first: one query."""
    return _one_on_ones("manager_id = %(manager)s", {"manager": manager.pk})


def overdue_one_on_ones_for(manager: User) -> list[OneOnOneDue]:
    """`one_on_ones_due_for`, only those overdue today (most overdue first)."""
    return [row for row in one_on_ones_due_for(manager) if row.overdue]


def next_one_on_one_for(rep: User) -> OneOnOneDue | None:
    """A rep's next 1:1 due date (None for someone who is not an active rep): one query."""
    rows = _one_on_ones("TRUE", {}, rep_ids=[rep.pk])
    return rows[0] if rows else None


def coaching_flags_for(user: User, kind: str | None = None) -> QuerySet[Any]:
    """The open coaching flags `user` may see: their own, a manager's also those of the
    people of their teams, a leader's all; newest first, subjects joined."""
    qs = (
        CoachingFlag.objects.filter(
            access.owner_scope_sql_q(user, field="recipient"), cleared_at__isnull=True
        )
        .select_related("recipient", "rep", "action_item")
        .order_by("-raised_at", "-id")
    )
    return qs.filter(kind=kind) if kind else qs


def my_coaching_flags(user: User) -> QuerySet[Any]:
    """The open coaching flags addressed to `user` (their home page)."""
    return coaching_flags_for(user).filter(recipient=user)


def coaching_received(
    rep_ids: list[int], *, start: dt.date, end: dt.date
) -> dict[int, tuple[int, int]]:
    """Per rep: 1:1s held with them and opportunity reviews of their deals started, from
    `start` to `end` (days in the organisation's time zone). Reps with neither are absent.
    Two queries; for the insights study."""
    org = organisation.current()
    sessions = dict(
        CoachingSession.objects.filter(rep_id__in=rep_ids, held_on__gte=start, held_on__lte=end)
        .values("rep_id")
        .annotate(n=Count("id"))
        .values_list("rep_id", "n")
    )
    reviews = dict(
        OpportunityReview.objects.filter(
            rep_id__in=rep_ids,
            started_at__gte=org.start_of(start),
            started_at__lt=org.start_of(end + dt.timedelta(days=1)),
        )
        .values("rep_id")
        .annotate(n=Count("id"))
        .values_list("rep_id", "n")
    )
    return {
        rep: (sessions.get(rep, 0), reviews.get(rep, 0)) for rep in sessions.keys() | reviews.keys()
    }
