"""GET /api/v1/forecast/summary/: the hand-computed numbers of summary_data.py through
the API, its 400s and 404s, the default period and a fixed query count."""

from __future__ import annotations

import datetime as dt

import pytest

from forecasting.models import Quota
from forecasting.services import local_today
from salesops.models import Role
from tests.factories import OpportunityFactory, UserFactory
from tests.forecasting.summary_data import (
    COMPANY,
    FIGURE_NAMES,
    OTHER_REP,
    Q3_START,
    REP,
    TEAM_A,
    TEAM_B,
    build,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(rep, teammate, other_rep, team_b, pipeline):
    """The data set of summary_data.py (teammate: in Team A, no deal, no quota)."""
    return build(rep=rep, other_rep=other_rep, team_b=team_b, pipeline=pipeline)


URL = "/api/v1/forecast/summary/"


def figures(row: dict) -> dict:
    return {name: row[name] for name in FIGURE_NAMES}


def test_leader_gets_the_company(key_for, dataset, leader, rep, other_rep):
    response = key_for(leader).get(f"{URL}?period=2026-Q3")
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {
        "label": "2026-Q3", "kind": "quarter", "start": "2026-07-01", "last_day": "2026-09-30"
    }  # fmt: skip
    assert (body["currency"], body["team"], body["owner"]) == ("EUR", None, None)
    assert body["totals"] == COMPANY
    assert [(r["id"], r["name"], figures(r)) for r in body["by_team"]] == [
        (rep.team_id, "Team A", TEAM_A),
        (other_rep.team_id, "Team B", TEAM_B),
    ]
    assert {r["id"]: figures(r) for r in body["by_owner"]} == {
        rep.pk: REP, other_rep.pk: OTHER_REP
    }  # fmt: skip
    assert {r["id"]: r["team"] for r in body["by_owner"]} == {
        rep.pk: rep.team_id, other_rep.pk: other_rep.team_id
    }  # fmt: skip


def test_team_and_owner_scopes(key_for, dataset, manager, rep, leader, other_rep):
    team = key_for(manager).get(f"{URL}?period=2026-Q3&team={rep.team_id}").json()
    assert (team["team"], team["totals"]) == (rep.team_id, TEAM_A)
    owner = key_for(leader).get(f"{URL}?period=2026-Q3&owner={other_rep.pk}").json()
    assert (owner["owner"], owner["totals"], owner["by_team"]) == (other_rep.pk, OTHER_REP, [])
    own = key_for(rep).get(f"{URL}?period=2026-Q3").json()
    assert own["totals"] == REP


@pytest.mark.parametrize(
    ("who", "query"),
    [
        ("rep", "team={team_a}"),
        ("rep", "owner={teammate}"),
        ("manager", "team={team_b}"),
        ("manager", "owner={other_rep}"),
        ("leader", "team=999999999"),
        ("leader", "owner=999999999"),
    ],
)
def test_outside_the_scope_is_404(key_for, dataset, request, who, query, team_a, team_b):
    ids = {
        "team_a": team_a.pk,
        "team_b": team_b.pk,
        "teammate": request.getfixturevalue("teammate").pk,
        "other_rep": request.getfixturevalue("other_rep").pk,
    }
    response = key_for(request.getfixturevalue(who)).get(f"{URL}?{query.format(**ids)}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("period=2026-Q5", "period", '"2026-Q5": the quarter must be Q1-Q4.'),
        ("period=next", "period", '"next" is not a period: write a month as "2026-07" or a '
         'quarter as "2026-Q3".'),
        ("period=2026-Q3&team=abc", "team", None),
        ("period=2026-Q3&currency=EURO", "currency", None),
    ],
)  # fmt: skip
def test_bad_input_is_400(key_for, leader, query, field, message):
    response = key_for(leader).get(f"{URL}?{query}")
    assert response.status_code == 400
    details = response.json()["details"]
    assert list(details) == [field]
    if message:
        assert details[field] == [message]


def test_default_period_is_the_current_quarter(key_for, leader):
    today = local_today()
    body = key_for(leader).get(URL).json()
    assert body["period"]["label"] == f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    assert body["totals"]["quota"] is None
    assert body["totals"]["attainment_percent"] is None


def test_anonymous_is_401(api_client):
    assert api_client.get(URL).status_code == 401


@pytest.mark.parametrize("extra", [0, 25])
def test_query_count_is_fixed(key_for, dataset, leader, team_a, pipeline, extra,
                              django_assert_max_num_queries):  # fmt: skip
    for _ in range(extra):
        owner = UserFactory(role=Role.REP, team=team_a)
        OpportunityFactory(owner=owner, stage=pipeline.qualify, close_date=dt.date(2026, 8, 3))
        Quota.objects.create(
            period_kind="quarter", period_start=Q3_START, rep=owner, amount=1, currency="EUR"
        )
    client = key_for(leader)
    # key lookup + key touch + teams + deals + quotas (+ the owner when one is picked).
    with django_assert_max_num_queries(5):
        body = client.get(f"{URL}?period=2026-Q3").json()
    assert len(body["by_owner"]) == 2 + extra
    with django_assert_max_num_queries(6):
        client.get(f"{URL}?period=2026-Q3&owner={dataset.d1.owner_id}")
