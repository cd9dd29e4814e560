"""/api/v1/forecast/submissions/: create, list (filters, scope, a fixed query count),
retrieve, no update and no delete (405, the row unchanged) and /missing/."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from forecasting.models import ForecastSubmission
from forecasting.services import FIGURE_FIELDS, fiscal_calendar, local_today

pytestmark = pytest.mark.django_db

URL = "/api/v1/forecast/submissions/"


def current_quarter() -> str:
    return fiscal_calendar().period_of(local_today(), "quarter").label


def row(submitter, **fields) -> ForecastSubmission:
    period = fiscal_calendar().period_of(local_today(), "quarter")
    base = {
        "period_kind": "quarter",
        "period_start": period.start,
        "level": "rep",
        "commit": Decimal("100"),
        "best_case": Decimal("250.50"),
        "currency": "EUR",
        "submitted_at": timezone.now(),
        "notes": "Original",
        "figures": {"currency": "EUR"} | dict.fromkeys(FIGURE_FIELDS, "0.00"),
    }
    return ForecastSubmission.objects.create(submitter=submitter, **base | fields)


def test_a_rep_creates_their_call(rep, key_for):
    response = key_for(rep).post(
        URL,
        {"period": current_quarter(), "commit": "100", "best_case": "250.50", "notes": "Hi"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    s = ForecastSubmission.objects.get()
    assert body["id"] == s.pk
    assert (body["period"], body["level"], body["submitter"], body["team"]) == (
        current_quarter(), "rep", rep.pk, None
    )  # fmt: skip
    assert (body["commit"], body["best_case"], body["notes"]) == ("100.00", "250.50", "Hi")
    assert (body["supersedes"], body["superseded_by"], body["reps_calls"]) == (None, None, [])
    # No deal, no quota: every amount 0.00, the ratios null.
    assert body["figures"]["commit_cumulative"] == "0.00"
    assert body["figures"]["quota"] is None


def test_create_refusals_have_the_error_shape(rep, key_for):
    client = key_for(rep)
    bad = client.post(URL, {"period": "2026-Q9", "commit": "-1", "best_case": "1"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"
    assert set(bad.json()["details"]) == {"period", "commit"}
    team = client.post(
        URL,
        {"period": current_quarter(), "commit": "1", "best_case": "1", "team": rep.team_id},
        format="json",
    )
    assert (team.status_code, team.json()["code"]) == (403, "permission_denied")
    past = fiscal_calendar().period_of(local_today(), "quarter").previous().label
    closed = client.post(URL, {"period": past, "commit": "1", "best_case": "1"}, format="json")
    assert (closed.status_code, closed.json()["code"]) == (409, "period_closed")
    unknown = client.post(
        URL,
        {"period": current_quarter(), "commit": "1", "best_case": "1", "figures": {}},
        format="json",
    )
    assert unknown.status_code == 400
    assert ForecastSubmission.objects.count() == 0


@pytest.mark.parametrize(
    ("commit", "best_case", "fields"),
    [
        ("1e30", "1e31", {"commit", "best_case"}),  # quantizing it once raised: a 500
        ("NaN", "Infinity", {"commit", "best_case"}),
        ("12.345", "1e12", {"best_case"}),  # commit is rounded to cents by the service
    ],
)
def test_out_of_range_amounts_are_a_400(rep, key_for, commit, best_case, fields):
    response = key_for(rep).post(
        URL, {"period": current_quarter(), "commit": commit, "best_case": best_case},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400, response.content
    assert set(response.json()["details"]) == fields
    assert ForecastSubmission.objects.count() == 0


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_no_update_and_no_delete(rep, leader, key_for, method):
    s = row(rep)
    before = dict(ForecastSubmission.objects.filter(pk=s.pk).values().get())
    for user in (rep, leader):
        response = getattr(key_for(user), method)(
            f"{URL}{s.pk}/", {"commit": "0", "notes": "Edited"}, format="json"
        )
        assert response.status_code == 405
        assert set(response.json()) == {"code", "message", "details"}
        assert response.json()["code"] == "method_not_allowed"
    assert dict(ForecastSubmission.objects.filter(pk=s.pk).values().get()) == before


def test_list_scope_filters_and_retrieve(rep, teammate, other_rep, manager, key_for):
    first = row(rep)
    latest = row(rep, supersedes=first, commit=Decimal("200"))
    mate = row(teammate)
    other = row(other_rep)
    client = key_for(manager)
    ids = [r["id"] for r in client.get(URL).json()["results"]]
    assert sorted(ids) == sorted([first.pk, latest.pk, mate.pk])
    by_rep = client.get(URL, {"person": rep.pk, "latest": "true"}).json()["results"]
    assert [(r["id"], r["commit"], r["supersedes"]) for r in by_rep] == [
        (latest.pk, "200.00", first.pk)
    ]
    one = client.get(f"{URL}{first.pk}/").json()
    assert (one["superseded_by"], one["commit"]) == (latest.pk, "100.00")
    assert client.get(f"{URL}{other.pk}/").status_code == 404
    assert client.get(f"{URL}abc/").status_code == 404
    assert client.get(URL, {"level": "nope"}).status_code == 400
    assert client.get(URL, {"period": "Q5"}).status_code == 400


@pytest.mark.parametrize("count", [1, 15])
def test_list_query_count_is_fixed(rep, manager, key_for, django_assert_max_num_queries, count):
    client = key_for(manager)
    previous = None
    for _ in range(count):  # a chain of `count` calls: each row's superseded_by is read too
        previous = row(rep, supersedes=previous)
    with django_assert_max_num_queries(4):  # API key, its last-use stamp, count, page
        response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["count"] == count


def test_missing(rep, teammate, manager, key_for):
    row(rep)  # rep called this week; teammate did not; manager did not call for Team A
    body = key_for(manager).get(f"{URL}missing/", {"period": current_quarter()}).json()
    assert body["period"]["label"] == current_quarter()
    assert dt.date.fromisoformat(body["week"]).weekday() == 0
    assert {(p["level"], p["person"]) for p in body["people"]} == {
        ("rep", teammate.pk),
        ("team", manager.pk),
    }
    assert key_for(manager).get(f"{URL}missing/", {"period": "x"}).status_code == 400
