"""The weekly pipeline snapshots: the weeks that have one, the latest week up to a day, and
which snapshot rows a user may see (SnapshotScope)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q
from django.http import Http404

from forecasting.selectors.common import id_or_404
from salesops import access
from salesops.models import User

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


LATEST_WEEK_SQL = """
SELECT week FROM forecasting_pipelinesnapshot WHERE week <= %s ORDER BY week DESC LIMIT 1
"""


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
