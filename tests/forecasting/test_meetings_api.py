"""/api/v1/forecast/meetings/: the contract, the error shapes, If-Match, no PUT/DELETE,
junk input and fixed query counts."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from forecasting.models import ForecastMeeting
from forecasting.selectors import period_or_current
from forecasting.services import local_today, meeting_create
from salesops.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/forecast/meetings/"


def period() -> str:
    return period_or_current(None).label


def make(actor, team, *, days_ago: int = 0, attendees=None, notes: str = "") -> ForecastMeeting:
    return meeting_create(
        actor=actor,
        period=period(),
        team_id=team.pk,
        held_on=local_today() - dt.timedelta(days=days_ago),
        attendee_ids=attendees or [actor.pk],
        notes=notes,
    )


def error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    if code:
        assert body["code"] == code
    return body


def test_create_returns_the_meeting_with_its_frozen_numbers(manager, rep, team_a, key_for):
    response = key_for(manager).post(
        URL,
        {
            "period": period(),
            "team": team_a.pk,
            "attendees": [manager.pk, rep.pk],
            "notes": "Commit holds",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    meeting = ForecastMeeting.objects.get()
    assert body["id"] == meeting.pk
    assert response["ETag"] == '"1"'
    assert body["period"] == period()
    assert body["team"] == team_a.pk and body["team_name"] == "Team A"
    assert body["held_on"] == local_today().isoformat()
    assert body["version"] == 1
    assert {a["id"] for a in body["attendees"]} == {manager.pk, rep.pk}
    assert body["attendee_count"] == 2
    assert body["figures"]["currency"] == "EUR"
    assert set(body["figures"]["totals"]) >= {"closed_won", "commit", "coverage"}
    assert body["risks"] == [] and body["risk_count"] == 0
    assert body["changes"]["previous_meeting"] is None
    assert body["previous_meeting"] is None and body["next_meeting"] is None
    assert body["notes"] == "Commit holds"


def test_retrieve_list_and_neighbours(manager, team_a, key_for):
    first = make(manager, team_a, days_ago=3)
    second = make(manager, team_a)
    client = key_for(manager)
    body = client.get(f"{URL}{second.pk}/").json()
    assert body["previous_meeting"] == first.pk
    assert body["changes"]["previous_meeting"]["id"] == first.pk
    listed = client.get(URL, {"period": period(), "team": team_a.pk}).json()
    assert [m["id"] for m in listed["results"]] == [second.pk, first.pk]
    assert listed["count"] == 2


def test_a_rep_reads_only_what_they_attended(manager, rep, teammate, team_a, key_for):
    attended = make(manager, team_a, attendees=[manager.pk, rep.pk])
    make(manager, team_a, days_ago=1)
    assert [m["id"] for m in key_for(rep).get(URL).json()["results"]] == [attended.pk]
    assert key_for(teammate).get(f"{URL}{attended.pk}/").status_code == 404


def test_a_rep_cannot_create(rep, team_a, key_for):
    response = key_for(rep).post(
        URL, {"period": period(), "team": team_a.pk, "attendees": [rep.pk]}, format="json"
    )
    error_shape(response, 403, "permission_denied")
    assert ForecastMeeting.objects.count() == 0


def test_another_teams_manager_gets_404(other_manager, team_a, key_for):
    response = key_for(other_manager).post(
        URL,
        {"period": period(), "team": team_a.pk, "attendees": [other_manager.pk]},
        format="json",
    )
    error_shape(response, 404)
    assert ForecastMeeting.objects.count() == 0


def test_field_errors_come_together(manager, other_rep, team_a, key_for):
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    response = key_for(manager).post(
        URL,
        {"period": "2026-Q9", "team": team_a.pk, "held_on": tomorrow, "attendees": [other_rep.pk]},
        format="json",
    )
    body = error_shape(response, 400, "invalid")
    assert set(body["details"]) == {"period", "held_on", "attendees"}
    assert ForecastMeeting.objects.count() == 0


def test_a_duplicate_is_409(manager, team_a, key_for):
    make(manager, team_a)
    response = key_for(manager).post(
        URL, {"period": period(), "team": team_a.pk, "attendees": [manager.pk]}, format="json"
    )
    error_shape(response, 409, "duplicate_meeting")
    assert ForecastMeeting.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"period": period, "team": "abc", "attendees": [1]},
        {"period": "2026-Q4", "team": 1, "attendees": "1"},
        {"period": "2026-Q4", "team": 1, "attendees": ["x", None]},
        {"period": "2026-Q4", "team": 1, "attendees": [2**70]},
        {"period": "2026-Q4", "team": 2**70, "attendees": [1]},
        {"period": "2026-Q4", "team": 1, "attendees": [1], "held_on": "31/12/2026"},
        {"period": "2026-Q4", "team": 1, "attendees": [1], "figures": {"commit": "1"}},
        {"period": ["2026-Q4"], "team": 1, "attendees": [1]},
        {"period": "\x00", "team": 1, "attendees": [1]},
    ],
)
def test_junk_bodies_are_400_not_500(manager, key_for, body):
    body = {k: (v() if callable(v) else v) for k, v in body.items()}
    response = key_for(manager).post(URL, json.dumps(body), content_type="application/json")
    error_shape(response, 400)
    assert ForecastMeeting.objects.count() == 0


@pytest.mark.parametrize(
    "query",
    [
        "period=2026-Q9",
        "team=abc",
        "team=0",
        "team=99999999999999999999",
        "period=%00",
        "team=1&team=2",
        "page=abc",
        "page_size=-1",
    ],
)
def test_junk_queries_never_500(manager, key_for, query):
    response = key_for(manager).get(f"{URL}?{query}")
    assert response.status_code in (200, 400, 404), response.content
    if response.status_code != 200:
        error_shape(response, response.status_code)


@pytest.mark.parametrize("pk", ["abc", "0", "99999999999999999999", "¹"])
def test_junk_ids_are_404(manager, key_for, pk):
    assert key_for(manager).get(f"{URL}{pk}/").status_code == 404


def test_patch_with_if_match(manager, teammate, team_a, key_for):
    meeting = make(manager, team_a, notes="Before")
    client = key_for(manager)
    response = client.patch(
        f"{URL}{meeting.pk}/",
        {"notes": "After", "attendees": [manager.pk, teammate.pk]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    assert response.json()["notes"] == "After"
    stored = ForecastMeeting.objects.get()
    assert (stored.notes, stored.version) == ("After", 2)
    assert set(stored.attendees.values_list("pk", flat=True)) == {manager.pk, teammate.pk}

    stale = client.patch(
        f"{URL}{meeting.pk}/", {"notes": "Lost"}, format="json", HTTP_IF_MATCH='"1"'
    )
    error_shape(stale, 412, "stale_version")
    assert ForecastMeeting.objects.get().notes == "After"
    bad = client.patch(f"{URL}{meeting.pk}/", {"notes": "x"}, format="json", HTTP_IF_MATCH="v1")
    error_shape(bad, 400, "invalid_if_match")


def test_patch_refuses_the_numbers_and_the_team(manager, team_a, key_for):
    meeting = make(manager, team_a)
    response = key_for(manager).patch(
        f"{URL}{meeting.pk}/", {"figures": {}, "team": 5, "period": "2026-Q1"}, format="json"
    )
    body = error_shape(response, 400)
    assert set(body["details"]) == {"figures", "team", "period"}
    assert ForecastMeeting.objects.get().version == 1


def test_a_rep_who_attended_cannot_patch(manager, rep, team_a, key_for):
    meeting = make(manager, team_a, attendees=[manager.pk, rep.pk])
    response = key_for(rep).patch(f"{URL}{meeting.pk}/", {"notes": "Mine"}, format="json")
    error_shape(response, 403)
    assert not AuditEvent.objects.filter(action="forecast_meeting.updated").exists()


@pytest.mark.parametrize("method", ["put", "delete"])
def test_no_put_and_no_delete(manager, team_a, key_for, method):
    meeting = make(manager, team_a)
    response = getattr(key_for(manager), method)(f"{URL}{meeting.pk}/", {}, format="json")
    error_shape(response, 405)
    assert ForecastMeeting.objects.filter(pk=meeting.pk).exists()


@pytest.mark.parametrize("count", [1, 12])
def test_list_query_count_is_fixed(manager, team_a, key_for, django_assert_num_queries, count):
    for day in range(count):
        make(manager, team_a, days_ago=day)
    client = key_for(manager)
    with django_assert_num_queries(4):  # API key, its last-use stamp, count, page
        response = client.get(URL)
    assert response.json()["count"] == count
