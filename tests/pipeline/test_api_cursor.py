"""`?cursor=` walks the whole opportunity list: the same rows in the same order as the
pages, without counting, each page one range scan however deep."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipeline import selectors
from tests.factories import OpportunityFactory

LIST = "/api/v1/opportunities/"


@pytest.fixture
def deals(rep, teammate, other_rep, pipeline):
    """Deals of three reps, many sharing a close date (ties are broken by id)."""
    today = timezone.localdate()
    made = []
    for i in range(23):
        for owner in (rep, teammate, other_rep):
            made.append(
                OpportunityFactory(
                    owner=owner,
                    stage=pipeline.discover if i % 2 else pipeline.qualify,
                    close_date=today + dt.timedelta(days=i % 4),
                )
            )
    return made


def walk(client, query: str = "", size: int = 7) -> tuple[list[int], list[dict]]:
    first = client.get(f"{LIST}?page_size={size}{query}")
    assert first.status_code == 200, first.content
    answers = [first.json()]
    while answers[-1]["next_cursor"]:
        cursor = answers[-1]["next_cursor"]
        response = client.get(f"{LIST}?cursor={cursor}&page_size={size}{query}")
        assert response.status_code == 200, response.content
        answers.append(response.json())
        assert len(answers) < 100
    return [row["id"] for a in answers for row in a["results"]], answers


def test_the_cursor_walks_the_list_in_its_order_within_the_scope(key_for, manager, deals):
    client = key_for(manager)
    ids, answers = walk(client)
    expected = list(selectors.opportunity_list_for(manager).values_list("id", flat=True))
    assert ids == expected  # every deal of the manager's team once, in the list's order
    assert len(expected) == 46  # rep's and teammate's, not other_rep's
    assert answers[0]["count"] == 46 and "count" not in answers[1]
    for answer in answers[1:]:
        assert answer["next"] is None or "cursor=" in answer["next"]
        assert "page=" not in (answer["next"] or "")
    assert answers[-1]["next_cursor"] is None and answers[-1]["next"] is None


def test_the_cursor_keeps_the_filters(key_for, manager, pipeline, rep, deals):
    client = key_for(manager)
    ids, _ = walk(client, f"&stage={pipeline.discover.pk}&owner={rep.pk}", size=4)
    expected = list(
        selectors.opportunity_list_for(
            manager, {"stage": pipeline.discover.pk, "owner": rep.pk}
        ).values_list("id", flat=True)
    )
    assert ids == expected and len(expected) == 11


def test_a_deep_cursor_page_costs_what_the_first_does(key_for, manager, deals):
    client = key_for(manager)
    _, answers = walk(client, size=5)
    counts = []
    for answer in (answers[1], answers[-2]):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(answer["next"])
        assert response.status_code == 200
        counts.append(len(queries))
        assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    "cursor",
    ["x", "AAAA", "MjAyNi0wMS0wMS4w", "MjAyNi0xMy0wMS4x", "%FF%FE", "a" * 65],
)
def test_a_cursor_that_was_not_given_out_is_a_400(key_for, rep, deals, cursor):
    response = key_for(rep).get(f"{LIST}?cursor={cursor}")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert "cursor" in body["details"]


def test_a_cursor_and_a_page_together_are_a_400(key_for, rep, deals):
    client = key_for(rep)
    cursor = client.get(f"{LIST}?page_size=2").json()["next_cursor"]
    response = client.get(f"{LIST}?cursor={cursor}&page=2")
    assert response.status_code == 400
    assert "cursor" in response.json()["details"]


def test_the_last_numbered_page_has_no_next_cursor(key_for, rep, deals):
    answer = key_for(rep).get(f"{LIST}?page_size=100").json()
    assert answer["count"] == 23 and answer["next_cursor"] is None
