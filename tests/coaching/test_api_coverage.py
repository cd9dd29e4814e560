"""GET /api/v1/coaching/coverage/ and GET /api/v1/coaching-flags/: the contract, scope,
refusals in the one error shape, and fixed query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coaching.cadence import cadence_refresh
from tests.coaching import coverage_world
from tests.coaching.coverage_world import days_ago

COVERAGE = "/api/v1/coaching/coverage/"
FLAGS = "/api/v1/coaching-flags/"


@pytest.fixture
def world(rep, teammate, manager, other_rep, other_manager, team_a, leader):
    return coverage_world.build(rep, teammate, manager, other_rep, other_manager, team_a)


def test_manager_reads_their_coverage(key_for, world, manager):
    response = key_for(manager, scopes=("read",)).get(COVERAGE)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["days"] == 30 and body["team"] is None
    assert body["since"] == days_ago(29).isoformat()
    assert body["items_from"] == days_ago(30).isoformat()
    mine = next(r for r in body["rows"] if r["manager"] == manager.pk)
    assert mine == {
        "manager": manager.pk,
        "manager_name": str(manager),
        "reps": 2,
        "coached": 1,
        "coached_share": 0.5,
        "one_on_ones": 1,
        "reviews": 1,
        "items_due": 3,
        "items_on_time": 1,
        "on_time_share": 0.3333,
    }
    assert [r["manager"] for r in body["rows"]].count(world.sub_manager.pk) == 1
    assert len(body["rows"]) == 2
    assert body["totals"]["manager"] is None and body["totals"]["reps"] == 3


def test_leader_filters_by_team_and_window(key_for, world, leader):
    body = key_for(leader).get(COVERAGE, {"team": world.sub.pk, "days": 90}).json()
    assert body["team"] == world.sub.pk and body["days"] == 90
    assert [r["manager"] for r in body["rows"]] == [world.sub_manager.pk]
    assert len(key_for(leader).get(COVERAGE).json()["rows"]) == 3


def test_rep_gets_403(key_for, world, rep):
    response = key_for(rep).get(COVERAGE)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_team_outside_scope_is_404(key_for, world, manager, team_b):
    response = key_for(manager).get(COVERAGE, {"team": team_b.pk})
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "details"}
    assert key_for(manager).get(COVERAGE, {"team": 999_999}).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": 6}, "days"),
        ({"days": 366}, "days"),
        ({"days": "abc"}, "days"),
        ({"days": "30.5"}, "days"),
        ({"team": "x"}, "team"),
        ({"team": 0}, "team"),
    ],
)
def test_bad_parameters_are_400_with_details(key_for, world, leader, params, field):
    response = key_for(leader).get(COVERAGE, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["details"], body


def test_parameter_given_twice_is_400(key_for, world, leader):
    response = key_for(leader).get(f"{COVERAGE}?days=30&days=90")
    assert response.status_code == 400 and "days" in response.json()["details"]


def _queries(client, path) -> int:
    client.get(path)  # a key's first use records it: not part of the read's cost
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_coverage_query_count_is_fixed(key_for, world, leader):
    client = key_for(leader)
    coverage_world.many_managers(1)
    small = _queries(client, COVERAGE)
    coverage_world.many_managers(30)
    assert len(client.get(COVERAGE).json()["rows"]) == 34  # 3 + 1 + 30
    assert _queries(client, COVERAGE) == small


# --- coaching flags ---------------------------------------------------------------------


def test_flags_in_scope_and_filtered_by_kind(key_for, world, manager, teammate, rep, leader):
    cadence_refresh()
    body = key_for(manager).get(FLAGS).json()
    assert len(body["results"]) == 3
    one = next(f for f in body["results"] if f["rep"] == rep.pk)
    assert one["kind"] == "one_on_one_overdue" and one["recipient"] == manager.pk
    assert one["rep_name"] == str(rep) and one["action_item"] is None
    assert days_ago(33).strftime("%b %Y") in one["explanation"]
    items = key_for(manager).get(FLAGS, {"kind": "action_item_overdue"}).json()["results"]
    assert [f["action_item_title"] for f in items] == ["Still open"]
    assert [f["recipient"] for f in items] == [teammate.pk]
    assert key_for(rep).get(FLAGS).json()["results"] == []
    assert len(key_for(teammate).get(FLAGS).json()["results"]) == 1
    assert len(key_for(leader).get(FLAGS).json()["results"]) == 3


def test_flags_bad_kind_is_400(key_for, world, manager):
    response = key_for(manager).get(FLAGS, {"kind": "late"})
    assert response.status_code == 400 and "kind" in response.json()["details"]


def test_flags_query_count_is_fixed(key_for, world, leader):
    client = key_for(leader)
    coverage_world.many_managers(1)
    cadence_refresh()
    small = _queries(client, FLAGS)
    coverage_world.many_managers(20)
    cadence_refresh()
    assert len(client.get(FLAGS).json()["results"]) > 20
    assert _queries(client, FLAGS) == small
