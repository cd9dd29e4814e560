"""GET /api/v1/forecast/changes/ and /api/v1/forecast/trend/ against the hand-computed
deals of tests/forecasting/changes_data.py."""

from __future__ import annotations

import pytest

from forecasting import services as forecasting_services
from tests.factories import OpportunityFactory
from tests.forecasting import changes_data
from tests.forecasting.changes_data import TODAY, W0, W1, snap

pytestmark = pytest.mark.django_db

CHANGES = "/api/v1/forecast/changes/"
TREND = "/api/v1/forecast/trend/"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(forecasting_services, "local_today", lambda now=None: TODAY)


@pytest.fixture
def deals(rep, teammate, other_rep, pipeline):
    return changes_data.build(rep, teammate, other_rep, pipeline)


def occurred(body) -> dict[str, tuple[int, dict[str, str]]]:
    return {c["kind"]: (c["count"], c["deltas"]) for c in body["changes"] if c["count"]}


def test_manager_gets_the_teams_changes(key_for, deals, manager):
    response = key_for(manager).get(f"{CHANGES}?period=2026-Q3&week=2026-08-10")

    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {
        "label": "2026-Q3", "kind": "quarter", "start": "2026-07-01", "last_day": "2026-09-30"
    }  # fmt: skip
    assert (body["week"], body["previous_week"]) == ("2026-08-10", "2026-08-03")
    assert (body["has_snapshot"], body["has_previous_snapshot"], body["available"]) == (
        True, True, True
    )  # fmt: skip
    # Team A as it was: 67,000 last week, 55,500 this week (see test_changes.py).
    assert (body["opening"], body["closing"]) == ({"EUR": "67000.00"}, {"EUR": "55500.00"})
    assert occurred(body) == {
        "new": (1, {"EUR": "5000.00"}),
        "pulled_in": (1, {"EUR": "8000.00"}),
        "pushed_out": (1, {"EUR": "-12000.00"}),
        "amount_up": (2, {"EUR": "6500.00"}),  # grower +5,000, early +1,500
        "won": (1, {"EUR": "-15000.00"}),
        "moved_out": (1, {"EUR": "-4000.00"}),  # the rep who moved to team B
    }
    pulled = next(c for c in body["changes"] if c["kind"] == "pulled_in")
    assert (pulled["label"], pulled["truncated"]) == ("Pulled in", False)
    assert pulled["items"] == [
        {
            "opportunity": deals.early.pk,
            "name": "Early",
            "currency": "EUR",
            "delta": "8000.00",
            "amount_before": "8000.00",
            "amount_after": "9500.00",
            "close_date_before": "2026-10-15",
            "close_date_after": "2026-09-01",
        }
    ]


def test_leader_narrows_to_a_person(key_for, deals, leader, other_rep):
    body = key_for(leader).get(f"{CHANGES}?period=2026-Q3&owner={other_rep.pk}").json()

    # Defaults to the latest snapshot week. other_rep: shrinker 30,000 + loser 7,000.
    assert body["week"] == "2026-08-10"
    assert (body["opening"], body["closing"]) == (
        {"EUR": "37000.00"}, {"EUR": "18000.00", "USD": "3000.00"}
    )  # fmt: skip
    assert occurred(body) == {
        "new": (1, {"USD": "3000.00"}),
        "amount_down": (1, {"EUR": "-12000.00"}),
        "lost": (1, {"EUR": "-7000.00"}),
    }


def test_a_week_without_snapshot_is_a_200_with_the_flag(key_for, deals, rep):
    body = key_for(rep).get(f"{CHANGES}?period=2026-Q3&week=2026-08-03").json()

    assert (body["has_snapshot"], body["has_previous_snapshot"], body["available"]) == (
        True, False, False
    )  # fmt: skip
    assert occurred(body) == {}
    assert len(body["changes"]) == 10


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"{CHANGES}?period=2026-Q9", "period"),
        (f"{CHANGES}?period=next", "period"),
        (f"{CHANGES}?week=2026-08-12", "week"),  # a Wednesday
        (f"{CHANGES}?week=12.08.2026", "week"),
        (f"{CHANGES}?week=2026-08-17", "week"),  # not begun on 12 August
        (f"{CHANGES}?week=0001-01-01", "week"),  # a Monday with no week before it
        (f"{CHANGES}?team=0", "team"),
        (f"{CHANGES}?owner=x", "owner"),
        (f"{TREND}?period=2026-13", "period"),
        (f"{TREND}?weeks=0", "weeks"),
        (f"{TREND}?weeks=105", "weeks"),
        (f"{TREND}?weeks=many", "weeks"),
    ],
)
def test_bad_input_is_a_400_with_details(key_for, leader, url, field):
    response = key_for(leader).get(url)

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert list(body["details"]) == [field]


def test_bad_period_message_is_the_parsers(key_for, leader):
    body = key_for(leader).get(f"{CHANGES}?period=2026-Q9").json()
    assert body["details"]["period"] == ['"2026-Q9": the quarter must be Q1-Q4.']


@pytest.mark.parametrize(
    ("who", "query"),
    [
        ("rep", "team={team_a}"),
        ("rep", "owner={teammate}"),
        ("manager", "team={team_b}"),
        ("manager", "owner={mover}"),
        ("other_manager", "owner={rep}"),
        ("leader", "team=999999"),
    ],
)
@pytest.mark.parametrize("url", [CHANGES, TREND])
def test_outside_the_scope_is_a_404(key_for, deals, request, teammate, rep, who, query, url):
    ids = {
        "team_a": deals.team_a.pk,
        "team_b": deals.team_b.pk,
        "teammate": teammate.pk,
        "mover": deals.mover.pk,
        "rep": rep.pk,
    }
    response = key_for(request.getfixturevalue(who)).get(f"{url}?{query.format(**ids)}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_trend(key_for, deals, other_manager):
    response = key_for(other_manager).get(f"{TREND}?period=2026-Q3&weeks=2")

    assert response.status_code == 200
    body = response.json()
    assert body["period"]["label"] == "2026-Q3"
    # Team B: W0 shrinker 30,000 commit + loser 7,000 pipeline; W1 shrinker 18,000 commit
    # + carried 4,000 pipeline (its rep joined team B) + dollar USD 3,000 pipeline.
    assert body["weeks"] == [
        {
            "week": "2026-08-03",
            "has_snapshot": True,
            "totals": {"EUR": "37000.00"},
            "cells": [
                {"forecast_category": "commit", "currency": "EUR", "amount": "30000.00",
                 "deals": 1},
                {"forecast_category": "pipeline", "currency": "EUR", "amount": "7000.00",
                 "deals": 1},
            ],
        },
        {
            "week": "2026-08-10",
            "has_snapshot": True,
            "totals": {"EUR": "22000.00", "USD": "3000.00"},
            "cells": [
                {"forecast_category": "commit", "currency": "EUR", "amount": "18000.00",
                 "deals": 1},
                {"forecast_category": "pipeline", "currency": "EUR", "amount": "4000.00",
                 "deals": 1},
                {"forecast_category": "pipeline", "currency": "USD", "amount": "3000.00",
                 "deals": 1},
            ],
        },
    ]  # fmt: skip


def test_trend_defaults_to_13_weeks(key_for, deals, rep):
    body = key_for(rep).get(TREND).json()
    assert len(body["weeks"]) == 13
    assert (body["weeks"][0]["week"], body["weeks"][-1]["week"]) == ("2026-05-18", "2026-08-10")
    assert [w["week"] for w in body["weeks"] if w["has_snapshot"]] == ["2026-08-03", "2026-08-10"]


@pytest.mark.parametrize("extra", [1, 30])
def test_query_counts_are_fixed(key_for, manager, rep, pipeline, extra,
                                django_assert_max_num_queries):  # fmt: skip
    for i in range(extra):
        deal = OpportunityFactory(owner=rep, stage=pipeline.discover, name=f"Bulk {i}")
        snap(W0, deal, "10", changes_data.D(2026, 10, 5), "pipeline")  # pulled in
        snap(W1, deal, "10", changes_data.D(2026, 9, 5), "pipeline")
    client = key_for(manager)
    query = f"period=2026-Q3&team={rep.team_id}&owner={rep.pk}"
    # The API key and its last use; then managed teams, the team's subtree, the owner,
    # the latest week, the totals, the changes.
    with django_assert_max_num_queries(8):
        response = client.get(f"{CHANGES}?{query}")
    assert response.json()["changes"][1]["count"] == extra
    # The API key (its last use is recorded once); managed teams, the team's subtree, the
    # owner, the trend.
    with django_assert_max_num_queries(5):
        response = client.get(f"{TREND}?{query}&weeks=3")
    assert response.json()["weeks"][-1]["totals"] == {"EUR": f"{10 * extra}.00"}
