"""GET /api/v1/forecast/snapshots/: the rows of a week's pipeline snapshot in the caller's
scope (the owner and team the row recorded that week), the filters, the default week,
pagination, the 400s and 404s, and a fixed query count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from forecasting import services as forecasting_services
from forecasting.models import PipelineSnapshot
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/forecast/snapshots/"
TODAY = dt.date(2026, 8, 19)  # a Wednesday
W0, W1 = dt.date(2026, 8, 10), dt.date(2026, 8, 17)  # last week, this week


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(forecasting_services, "local_today", lambda now=None: TODAY)


def snap(week, opp, amount, close, *, owner=None, team=None, category="pipeline"):
    owner = owner or opp.owner
    return PipelineSnapshot.objects.create(
        week=week,
        opportunity=opp,
        owner=owner,
        team=team if team is not None else owner.team,
        stage=opp.stage,
        forecast_category=category,
        amount=Decimal(amount),
        currency="EUR",
        close_date=close,
        status="open",
    )


@pytest.fixture
def rows(rep, teammate, manager, other_rep, pipeline):
    """This week: rep's A (Q3) and B (Q4), teammate's C, other_rep's D, and E of teammate
    recorded while teammate was in Team B. Last week: A at 8,000."""

    def deal(owner, name):
        return OpportunityFactory(owner=owner, stage=pipeline.qualify, name=name)

    a, b = deal(rep, "A deal"), deal(rep, "B deal")
    c, d, e = deal(teammate, "C deal"), deal(other_rep, "D deal"), deal(teammate, "E deal")
    snap(W1, a, "10000", dt.date(2026, 9, 1), category="commit")
    snap(W1, b, "20000", dt.date(2026, 10, 5))
    snap(W1, c, "30000", dt.date(2026, 8, 30))
    snap(W1, d, "40000", dt.date(2026, 9, 15))
    snap(W1, e, "50000", dt.date(2026, 9, 20), team=other_rep.team)
    snap(W0, a, "8000", dt.date(2026, 9, 1))
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def names(body) -> list[str]:
    return [r["opportunity"]["name"] for r in body["results"]]


def test_a_row_has_every_field(key_for, rows, rep):
    response = key_for(rep).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    a = rows["a"]
    assert body["results"][0] == {
        "week": "2026-08-17",
        "opportunity": {"id": a.pk, "name": "A deal"},
        "owner": {"id": rep.pk, "name": str(rep)},
        "team": {"id": rep.team_id, "name": "Team A"},
        "stage": {"id": a.stage_id, "name": "Qualify"},
        "forecast_category": "commit",
        "amount": "10000.00",
        "currency": "EUR",
        "close_date": "2026-09-01",
        "status": "open",
    }
    assert names(body) == ["A deal", "B deal"]


def test_the_scope_follows_the_row_as_recorded(key_for, rows, manager, leader):
    # The manager sees Team A's rows; E was recorded in Team B (the teammate's team then).
    assert names(key_for(manager).get(URL).json()) == ["A deal", "B deal", "C deal"]
    assert names(key_for(leader).get(URL).json()) == [
        "A deal", "B deal", "C deal", "D deal", "E deal"
    ]  # fmt: skip


def test_filters(key_for, rows, leader, teammate, other_rep):
    client = key_for(leader)
    week0 = client.get(f"{URL}?week={W0}").json()
    assert [(r["opportunity"]["name"], r["amount"], r["week"]) for r in week0["results"]] == [
        ("A deal", "8000.00", "2026-08-10")
    ]
    assert names(client.get(f"{URL}?owner={teammate.pk}").json()) == ["C deal", "E deal"]
    assert names(client.get(f"{URL}?team={other_rep.team_id}").json()) == ["D deal", "E deal"]
    assert names(client.get(f"{URL}?period=2026-Q3").json()) == [
        "A deal", "C deal", "D deal", "E deal"
    ]  # fmt: skip
    assert names(client.get(f"{URL}?period=2026-10&owner={rows['b'].owner_id}").json()) == [
        "B deal"
    ]
    assert client.get(f"{URL}?week=2026-08-03").json()["count"] == 0  # no snapshot that week


def test_no_snapshot_yet_is_an_empty_list(key_for, leader):
    body = key_for(leader).get(URL).json()
    assert (body["count"], body["results"]) == (0, [])


def test_pages(key_for, rows, leader):
    client = key_for(leader)
    first = client.get(f"{URL}?page_size=2").json()
    assert (first["count"], names(first)) == (5, ["A deal", "B deal"])
    assert first["next"].endswith("page=2&page_size=2")
    third = client.get(f"{URL}?page_size=2&page=3").json()
    assert names(third) == ["E deal"]
    assert client.get(f"{URL}?page_size=2&page=4").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("week=2026-08-11", "week"),  # not a Monday
        ("week=2026-08-24", "week"),  # has not begun
        ("week=abc", "week"),
        ("week=2026-02-30", "week"),
        ("period=2026-Q5", "period"),
        ("period=next", "period"),
        ("owner=abc", "owner"),
        ("team=0", "team"),
        ("team=1.5", "team"),
        ("page=0", "page"),
        ("page_size=x", "page_size"),
        ("week=2026-08-17&week=2026-08-10", "week"),
        ("period=%00", "period"),
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
        ("rep", "owner={teammate}"),
        ("rep", "team={team_a}"),
        ("manager", "owner={other_rep}"),
        ("manager", "team={team_b}"),
        ("leader", "owner=999999999"),
        ("leader", "team=999999999"),
    ],
)
def test_outside_the_scope_is_a_404(key_for, rows, request, who, query, teammate, other_rep):
    ids = {
        "teammate": teammate.pk,
        "other_rep": other_rep.pk,
        "team_a": teammate.team_id,
        "team_b": other_rep.team_id,
    }
    response = key_for(request.getfixturevalue(who)).get(f"{URL}?{query.format(**ids)}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_anonymous_is_a_401(api_client):
    assert api_client.get(URL).status_code == 401


@pytest.mark.parametrize("extra", [0, 30])
def test_the_query_count_is_fixed(
    key_for, rep, manager, pipeline, extra, django_assert_num_queries
):
    for i in range(1 + extra):
        opp = OpportunityFactory(owner=rep, stage=pipeline.qualify)
        snap(W1, opp, str(1000 + i), dt.date(2026, 9, 1))
    client = key_for(manager)
    client.get(URL)  # the key's first use records it (one more query)
    # key lookup + managed teams + the default week + count + the page.
    with django_assert_num_queries(5):
        body = client.get(f"{URL}?page_size=200").json()
    assert body["count"] == len(body["results"]) == 1 + extra
    # With a week and an owner: key lookup + managed teams + the owner + count + page.
    with django_assert_num_queries(5):
        client.get(f"{URL}?week={W1}&owner={rep.pk}")
