"""SnapshotScope's two forms of one rule — `sql()` for the raw week-over-week and trend
queries, `q()` for the ORM (the snapshots API) — pick the same snapshot rows for every
kind of user and narrowing, rows without an owner or a team included."""

from __future__ import annotations

import pytest
from django.db import connection

from forecasting.models import PipelineSnapshot
from forecasting.selectors import snapshot_scope
from forecasting.services import pipeline_snapshot_take
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(rep, teammate, other_rep, manager, pipeline):
    for owner in (rep, rep, teammate, other_rep, manager):
        OpportunityFactory(owner=owner, stage=pipeline.discover)
    pipeline_snapshot_take()
    # A row whose owner was deleted (SET NULL) and one whose owner had no team.
    first, second = PipelineSnapshot.objects.order_by("id")[:2]
    PipelineSnapshot.objects.filter(pk=first.pk).update(owner=None)
    PipelineSnapshot.objects.filter(pk=second.pk).update(team=None)
    return PipelineSnapshot.objects.count()


def by_sql(scope) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.id FROM forecasting_pipelinesnapshot s WHERE {scope.sql('s')}",
            scope.params(),
        )
        return {row[0] for row in cursor.fetchall()}


def by_q(scope) -> set[int]:
    return set(PipelineSnapshot.objects.filter(scope.q()).values_list("id", flat=True))


@pytest.mark.parametrize(
    ("who", "team", "owner"),
    [
        ("leader", None, None),
        ("leader", "team_a", None),
        ("leader", None, "rep"),
        ("leader", "team_b", "other_rep"),
        ("manager", None, None),
        ("manager", "team_a", None),
        ("manager", None, "teammate"),
        ("rep", None, None),
        ("rep", None, "rep"),
    ],
)
def test_sql_and_q_pick_the_same_rows(rows, request, who, team, owner):
    user = request.getfixturevalue(who)
    team_id = request.getfixturevalue(team).pk if team else None
    owner_id = request.getfixturevalue(owner).pk if owner else None
    scope = snapshot_scope(user, team_id, owner_id)
    picked = by_sql(scope)
    assert by_q(scope) == picked
    if who == "leader" and not (team or owner):
        assert len(picked) == rows  # everything, the owner-less and team-less rows too
