"""Many moves of one deal at the same moment: one wins, every other gets a 409 that says
where the deal now is — never a 404 for a deal that exists and the mover may see.

Real concurrency (tests/racing.py): each thread has its own database connection and its
own API client, and they all start together at a barrier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from pipeline import services
from pipeline.models import (
    ChangeField,
    Milestone,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
)
from salesops.exceptions import Conflict
from salesops.models import User
from tests.factories import OpportunityFactory
from tests.racing import race

THREADS = 12


def tick_all(opp: Opportunity, stages: list, actor: User) -> None:
    for m in Milestone.objects.filter(stage__in=stages, required=True):
        services.milestone_complete(
            opportunity_id=opp.pk, milestone_id=m.pk, actor=actor, evidence="CFO said so"
        )


def post_as(user_id: int, path: str, data: dict) -> Callable[[], tuple[int, dict]]:
    def action() -> tuple[int, dict]:
        client = APIClient()
        client.force_authenticate(User.objects.get(pk=user_id))
        response = client.post(path, data, format="json")
        return response.status_code, response.json()

    return action


def assert_one_winner(results: list[Any], opp: Opportunity, *, status: str, stage) -> None:
    statuses = sorted((r[0] if isinstance(r, tuple) else repr(r) for r in results), key=str)
    assert statuses == [200] + [409] * (THREADS - 1), statuses
    opp.refresh_from_db()
    assert (opp.status, opp.stage_id) == (status, stage.pk)
    for _, body in (r for r in results if r[0] == 409):
        assert set(body) == {"code", "message", "details"}, body
        # The loser is told where the deal is now, so it can reload or give up.
        assert body["details"]["current_stage"] == stage.pk, body
        assert body["details"]["current_status"] == status, body
        assert body["details"]["current_version"] == opp.version, body
    moves = OpportunityChange.objects.filter(opportunity=opp, field=ChangeField.STAGE)
    assert moves.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_advances_one_wins_the_rest_409(rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover)
    tick_all(opp, [pipeline.discover], rep)
    path = f"/api/v1/opportunities/{opp.pk}/advance/"
    results = race(threads=THREADS, action=post_as(rep.pk, path, {"stage": pipeline.qualify.pk}))
    assert_one_winner(results, opp, status=OpportunityStatus.OPEN, stage=pipeline.qualify)
    assert {r[1]["code"] for r in results if r[0] == 409} == {"same_stage"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_close_lost_one_wins_the_rest_409(rep, manager, pipeline):
    # The manager sees the deal through the owner's team: the scope joins the owner.
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover)
    path = f"/api/v1/opportunities/{opp.pk}/close-lost/"
    results = race(
        threads=THREADS, action=post_as(manager.pk, path, {"loss_reason": "Went with a competitor"})
    )
    assert_one_winner(results, opp, status=OpportunityStatus.LOST, stage=pipeline.lost)
    assert {r[1]["code"] for r in results if r[0] == 409} == {"opportunity_closed"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_close_won_one_wins_the_rest_409(rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover)
    tick_all(opp, [pipeline.discover, pipeline.qualify], rep)
    path = f"/api/v1/opportunities/{opp.pk}/close-won/"
    results = race(threads=THREADS, action=post_as(rep.pk, path, {}))
    assert_one_winner(results, opp, status=OpportunityStatus.WON, stage=pipeline.won)
    assert {r[1]["code"] for r in results if r[0] == 409} == {"opportunity_closed"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_service_closes_raise_conflict_not_not_found(rep, leader, pipeline):
    """The same through the service every path calls (pages, imports, tasks)."""
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover)

    def close() -> str:
        actor = User.objects.get(pk=leader.pk)
        try:
            services.opportunity_close_lost(
                opportunity_id=opp.pk, actor=actor, loss_reason="No budget"
            )
        except Conflict as exc:
            return exc.code
        return "closed"

    results = race(close, threads=THREADS)
    assert sorted(results, key=str) == ["closed"] + ["opportunity_closed"] * (THREADS - 1)
    assert OpportunityChange.objects.filter(opportunity=opp, field=ChangeField.STAGE).count() == 1
