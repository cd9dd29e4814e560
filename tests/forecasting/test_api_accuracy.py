"""GET /api/v1/forecast/accuracy/: the hand-computed numbers of accuracy_data.py through
the API, its filters, its 400s and 404s, and a fixed query count."""

from __future__ import annotations

import datetime as dt

import pytest

from forecasting import services as forecasting_services
from forecasting.services import forecast_submit
from salesops.models import Role
from tests.factories import UserFactory
from tests.forecasting.accuracy_data import NOW, at, build

pytestmark = pytest.mark.django_db

URL = "/api/v1/forecast/accuracy/"


@pytest.fixture
def data(rep, teammate, manager, other_rep, other_manager, pipeline, monkeypatch):
    built = build(
        rep=rep,
        teammate=teammate,
        manager=manager,
        other_rep=other_rep,
        other_manager=other_manager,
        pipeline=pipeline,
    )
    # "Today" is 15 July 2026 for the reads (the calls above were made at their own `now`).
    real = forecasting_services.local_today
    monkeypatch.setattr(
        forecasting_services, "local_today", lambda now=None: real(now) if now else NOW.date()
    )
    return built


def by_person(body) -> dict:
    return {
        (p["person"], p["level"], p["checkpoint"]): (
            p["periods"], p["calls"], p["accuracy"], p["bias"], p["bias_ratio"], p["note"]
        )
        for p in body["by_person"]
    }  # fmt: skip


def test_manager_gets_the_hand_computed_figures(key_for, data, manager, rep, teammate):
    response = key_for(manager).get(f"{URL}?periods=2")
    assert response.status_code == 200
    body = response.json()
    assert (body["currency"], body["kind"], body["checkpoints"]) == ("EUR", "quarter", [1, 6])
    assert body["periods"] == [
        {"label": "2026-Q1", "kind": "quarter", "start": "2026-01-01", "last_day": "2026-03-31"},
        {"label": "2026-Q2", "kind": "quarter", "start": "2026-04-01", "last_day": "2026-06-30"},
    ]
    assert (body["person"], body["level"], body["team"]) == (None, None, None)
    assert by_person(body) == {
        (rep.pk, "rep", 1): (2, 1, 0.9, "-10000.00", -0.1, ""),
        (rep.pk, "rep", 6): (2, 2, 0.8, "2500.00", 0.0333, ""),
        (teammate.pk, "rep", 1): (2, 0, None, None, None, "no call"),
        (teammate.pk, "rep", 6): (2, 1, None, "5000.00", None, "no closed won"),
        (data.newbie.pk, "rep", 6): (1, 0, None, None, None, "no call"),
        (manager.pk, "team", 1): (2, 2, 0.975, "-2500.00", -0.0238, ""),
        (manager.pk, "team", 6): (2, 2, 0.9, "10000.00", 0.0952, ""),
    }
    first = body["rows"][0]
    assert first == {
        "person": data.newbie.pk,
        "person_name": "Nina Newbie",
        "level": "rep",
        "team": data.team_a.pk,
        "team_name": "Team A",
        "period": "2026-Q2",
        "checkpoint": 6,
        "cutoff": "2026-05-11T00:00:00+02:00",
        "submission": None,
        "submitted_at": None,
        "submitted": None,
        "best_case": None,
        "actual": "0.00",
        "error": None,
        "best_case_error": None,
        "accuracy": None,
        "note": "no call",
    }
    rita = [r for r in body["rows"] if r["person"] == rep.pk]
    assert [(r["period"], r["checkpoint"], r["submission"]) for r in rita] == [
        ("2026-Q1", 1, data.r2.pk),
        ("2026-Q1", 6, data.r2.pk),
        ("2026-Q2", 1, None),
        ("2026-Q2", 6, data.r4.pk),
    ]
    q1 = rita[0]
    assert (q1["submitted"], q1["best_case"], q1["actual"]) == (
        "90000.00",
        "130000.00",
        "100000.00",
    )
    assert (q1["error"], q1["best_case_error"], q1["accuracy"]) == ("-10000.00", "30000.00", 0.9)
    assert q1["submitted_at"] == "2026-01-04T23:00:00+01:00"


def test_the_default_is_four_closed_quarters(key_for, data, rep):
    body = key_for(rep).get(URL).json()
    assert [p["label"] for p in body["periods"]] == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    # The rep owed calls in all four (started 1 Jan 2025); only their own rows.
    assert {r["person"] for r in body["rows"]} == {rep.pk}
    assert len(body["rows"]) == 8


def test_filters(key_for, data, manager, rep, teammate, leader, other_rep):
    client = key_for(manager)
    body = client.get(f"{URL}?periods=2&person={teammate.pk}").json()
    assert body["person"] == teammate.pk
    assert {r["person"] for r in body["rows"]} == {teammate.pk}
    body = client.get(f"{URL}?periods=2&level=team").json()
    assert {(r["person"], r["level"]) for r in body["rows"]} == {(manager.pk, "team")}
    body = client.get(f"{URL}?periods=2&team={data.team_a1.pk}").json()
    assert (body["team"], {r["person"] for r in body["rows"]}) == (data.team_a1.pk, {teammate.pk})
    body = client.get(f"{URL}?periods=1&person={rep.pk}&checkpoints=2,7").json()
    assert body["checkpoints"] == [2, 7]
    assert [(r["period"], r["checkpoint"], r["submission"]) for r in body["rows"]] == [
        ("2026-Q2", 2, None),  # week 2 ends Mon 13 Apr; R4 came on 20 Apr
        ("2026-Q2", 7, data.r4.pk),
    ]
    body = client.get(f"{URL}?periods=1&checkpoints=&person={rep.pk}").json()
    assert body["checkpoints"] == [1, 6]  # empty: the default, as for an absent parameter
    body = client.get(f"{URL}?kind=month&periods=1&person={rep.pk}").json()
    assert ([p["label"] for p in body["periods"]], body["checkpoints"]) == (["2026-06"], [1, 3])
    usd = key_for(leader).get(f"{URL}?periods=2&person={other_rep.pk}&currency=usd").json()
    assert usd["currency"] == "USD"
    assert [(r["period"], r["checkpoint"], r["submitted"], r["note"]) for r in usd["rows"]] == [
        ("2026-Q1", 1, None, "no call"),
        ("2026-Q1", 6, None, "no call"),
        ("2026-Q2", 1, None, "no call"),
        ("2026-Q2", 6, "1000.00", "no closed won"),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("level=boss", "level"),
        ("kind=year", "kind"),
        ("periods=0", "periods"),
        ("periods=13", "periods"),
        ("periods=abc", "periods"),
        ("periods=1e3", "periods"),
        ("checkpoints=0", "checkpoints"),
        ("checkpoints=14", "checkpoints"),
        ("checkpoints=1,1", "checkpoints"),
        ("checkpoints=1,2,3,4,5", "checkpoints"),
        ("checkpoints=a,b", "checkpoints"),
        ("kind=month&checkpoints=5", "checkpoints"),
        ("currency=EURO", "currency"),
        ("person=abc", "person"),
        ("person=0", "person"),
        ("team=-1", "team"),
        ("team=99999999999999999999999", "team"),
        ("periods=1&periods=2", "periods"),
        ("level=%00", "level"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(key_for, leader, query, field):
    response = key_for(leader).get(f"{URL}?{query}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert list(body["details"]) == [field]


@pytest.mark.parametrize(
    ("who", "query"),
    [
        ("rep", "person={teammate}"),
        ("rep", "team={team_a}"),
        ("manager", "person={other_rep}"),
        ("manager", "team={team_b}"),
        ("leader", "person=999999999"),
        ("leader", "team=999999999"),
    ],
)
def test_outside_the_scope_is_a_404(key_for, data, request, who, query, other_rep, teammate):
    ids = {
        "teammate": teammate.pk,
        "other_rep": other_rep.pk,
        "team_a": data.team_a.pk,
        "team_b": other_rep.team_id,
    }
    response = key_for(request.getfixturevalue(who)).get(f"{URL}?{query.format(**ids)}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_anonymous_is_a_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_no_write(key_for, leader):
    assert key_for(leader).post(URL, {}, format="json").status_code == 405


@pytest.mark.parametrize("extra", [0, 20])
def test_the_query_count_is_fixed(key_for, data, leader, extra, django_assert_num_queries):
    for i in range(extra):
        person = UserFactory(role=Role.REP, team=data.team_a, started_on=dt.date(2025, 1, 1))
        forecast_submit(
            actor=person, period="2026-Q2", commit=str(i), best_case="100", now=at(2026, 4, 2)
        )
    client = key_for(leader)
    client.get(f"{URL}?periods=1")  # the key's first use records it (one more query)
    # key lookup + teams + standing calls + people + closed won.
    with django_assert_num_queries(5):
        body = client.get(f"{URL}?periods=2").json()
    assert len(body["by_person"]) == 11 + 2 * extra
    with django_assert_num_queries(6):  # + the person asked for
        client.get(f"{URL}?periods=2&person={data.newbie.pk}")
