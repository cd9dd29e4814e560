"""Deeply nested JSON bodies: refused with a 400 in the error shape before the parser
recurses (a RecursionError was an HTML 500), at every endpoint that reads JSON; a body
nested up to the limit is parsed as before. Pages never parse JSON bodies."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from pipeline.models import Account, Opportunity, OpportunityChange
from salesops.api.parsers import MAX_DEPTH, exceeds_depth

pytestmark = pytest.mark.django_db

DEEP = 1000  # what the probe sent: a 2 kB body that overflowed Python's recursion limit


def nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


SHAPES = {"list": nested_list, "object": nested_object}

ENDPOINTS = [
    ("post", "/api/v1/accounts/"),
    ("post", "/api/v1/opportunities/"),
    ("patch", "/api/v1/opportunities/{opp}/"),
    ("post", "/api/v1/opportunities/{opp}/advance/"),
    ("post", "/api/v1/opportunities/{opp}/close-lost/"),
    ("post", "/api/v1/imports/"),  # a view with parsers of its own
]


def send(client, method: str, path: str, body: str, opp: Opportunity):
    return client.generic(
        method.upper(), path.format(opp=opp.pk), body, content_type="application/json"
    )


def state(opp: Opportunity) -> tuple:
    opp.refresh_from_db()
    return (
        Account.objects.count(),
        Opportunity.objects.count(),
        opp.version,
        OpportunityChange.objects.count(),
    )


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_a_deeply_nested_body_is_a_400_in_the_error_shape(
    leader, opportunity, key_for, method, path, shape
):
    before = state(opportunity)
    response = send(key_for(leader), method, path, SHAPES[shape](DEEP), opportunity)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == "body_too_deep"
    assert str(MAX_DEPTH) in body["message"]
    assert body["details"] == {"max_depth": MAX_DEPTH}
    assert state(opportunity) == before


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_the_limit_is_parsed_one_more_level_is_refused(
    leader, opportunity, key_for, method, path, shape
):
    client = key_for(leader)
    at_limit = send(client, method, path, SHAPES[shape](MAX_DEPTH), opportunity)
    # Parsed: whatever the endpoint then says about such a body, it is not about nesting.
    assert at_limit.status_code < 500
    assert at_limit.json()["code"] == "invalid"
    beyond = send(client, method, path, SHAPES[shape](MAX_DEPTH + 1), opportunity)
    assert beyond.status_code == 400
    assert beyond.json()["code"] == "body_too_deep"


def test_a_deep_value_inside_a_valid_body_counts_too(leader, key_for):
    body = '{"name": "Globex", "notes": ' + nested_list(MAX_DEPTH) + "}"
    response = key_for(leader).generic(
        "POST", "/api/v1/accounts/", body, content_type="application/json"
    )
    assert response.json()["code"] == "body_too_deep"
    assert not Account.objects.exists()


def test_brackets_inside_strings_are_text(leader, key_for):
    name = '[{"' * 30 + "Globex"  # with escaped quotes in the JSON
    response = key_for(leader).post("/api/v1/accounts/", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    assert Account.objects.get().name == name


@pytest.mark.parametrize(
    ("text", "too_deep"),
    [
        ("{}", False),
        (nested_list(MAX_DEPTH), False),
        (nested_list(MAX_DEPTH + 1), True),
        (nested_object(MAX_DEPTH), False),
        (nested_object(MAX_DEPTH + 1), True),
        # Wide, not deep: many more brackets than the limit, never more than 2 open.
        ("[" + ",".join(["[1]"] * 500) + "]", False),
        # Brackets in strings are text, escaped quotes included.
        ('["' + "[" * 500 + '"]', False),
        ('["\\"' + "[" * 500 + '"]', False),
        ('["\\\\"' + ", " + nested_list(MAX_DEPTH) + "]", True),
        # Unbalanced: never under-counted (closers before openers don't cancel them).
        ("]" * 100 + nested_list(MAX_DEPTH + 1), True),
        # A string that does not end runs to the end: json.loads stops there (a 400 too).
        ('["' + "[" * 500, False),
        ('["' + '\\"' * 5000, False),
        ("[" * 40 + nested_list(30), True),  # 40 left open around 30 matched: 70 deep
        # Wide and deep, but never deeper than the limit; then one level more in one place.
        ("[" + ",".join([nested_list(MAX_DEPTH - 1)] * 200) + "]", False),
        ("[" + ",".join([nested_list(MAX_DEPTH - 1)] * 200 + [nested_list(MAX_DEPTH)]) + "]", True),
    ],
)
def test_exceeds_depth(text, too_deep):
    assert exceeds_depth(text, MAX_DEPTH) is too_deep


# Any JSON value, strings full of brackets, quotes and backslashes included.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab:,'),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\a'), children, max_size=3)
    ),
    max_leaves=40,
)


def depth_of(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


@given(value=json_values, wrap=st.integers(0, 8), limit=st.integers(0, 12))
def test_exceeds_depth_is_exact_for_valid_json(value, wrap, limit):
    value = [value] if wrap % 2 else value
    for _ in range(wrap // 2):
        value = {"k": value}
    text = json.dumps(value)
    assert exceeds_depth(text, limit) is (depth_of(value) > limit)


@pytest.mark.parametrize(
    "path",
    [
        "/opportunities/new/",
        "/opportunities/{opp}/edit/",
        "/opportunities/{opp}/advance/",
        "/opportunities/{opp}/close-lost/",
        "/accounts/login/",
    ],
)
def test_pages_answer_a_deep_json_body_without_a_500(rep, opportunity, path):
    client = Client()
    client.force_login(rep)
    before = state(opportunity)
    response = client.post(
        path.format(opp=opportunity.pk), nested_list(DEEP), content_type="application/json"
    )
    assert response.status_code < 500
    assert state(opportunity) == before
