"""/api/v1/coaching-sessions/: the contract (fields, filters, ETag), scope, refusals in the
one error shape, and a list whose query count does not grow with its rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from coaching.models import ActionItem, CoachingSession
from tests.coaching.test_services_sessions import days, stored_item, stored_session

URL = "/api/v1/coaching-sessions/"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [s["id"] for s in response.json()["results"]]


def test_manager_records_a_session_with_action_items(key_for, manager, rep, skills):
    previous = stored_session(rep, manager, skills[0], days_ago=14)
    follow_up = stored_item(previous, title="Send the recap")
    response = key_for(manager).post(
        URL,
        {
            "rep": rep.pk,
            "focus_skill": skills[1].pk,
            "second_focus_skill": skills[2].pk,
            "notes": "Discovery on Acme",
            "practice_assignment": "Role-play",
            "action_items": [
                {"title": "Book a role-play", "due_on": days(3).isoformat()},
                {"title": "Share rubric", "due_on": days(1).isoformat(), "owner": manager.pk},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["ETag"]
    assert (body["rep"], body["manager"], body["held_on"]) == (
        rep.pk, manager.pk, timezone.localdate().isoformat(),
    )  # fmt: skip
    assert [s["name"] for s in body["focus_skills"]] == [skills[1].name, skills[2].name]
    assert body["focus_skills"][0]["questions"] and len(body["focus_skills"][0]["levels"]) == 5
    assert [(i["title"], i["owner"], i["done"]) for i in body["action_items"]] == [
        ("Share rubric", manager.pk, False),
        ("Book a role-play", rep.pk, False),
    ]
    assert body["open_action_items"] == 2
    assert body["previous_session"]["id"] == previous.pk
    assert [i["id"] for i in body["follow_ups"]] == [follow_up.pk]
    assert CoachingSession.objects.count() == 2 and ActionItem.objects.count() == 3


def test_retrieve_in_scope_only(key_for, rep, teammate, manager, other_manager, leader, skills):
    session = stored_session(rep, manager, skills[0])
    for user in (rep, manager, leader):
        response = key_for(user, scopes=("read",)).get(f"{URL}{session.pk}/")
        assert response.status_code == 200 and response.json()["id"] == session.pk
    for user in (teammate, other_manager):
        response = key_for(user).get(f"{URL}{session.pk}/")
        assert response.status_code == 404
        assert set(response.json()) == {"code", "message", "details"}
    assert key_for(manager).get(f"{URL}abc/").status_code == 404


def test_list_scope_and_filters(
    key_for, rep, teammate, manager, other_rep, other_manager, leader, skills
):
    mine = stored_session(rep, manager, skills[0], days_ago=5)
    theirs = stored_session(teammate, manager, skills[0], days_ago=3)
    other = stored_session(other_rep, other_manager, skills[0], days_ago=1)
    assert ids(key_for(rep).get(URL)) == [mine.pk]
    assert ids(key_for(manager).get(URL)) == [theirs.pk, mine.pk]
    api = key_for(leader)
    assert ids(api.get(URL)) == [other.pk, theirs.pk, mine.pk]
    assert ids(api.get(URL, {"rep": rep.pk})) == [mine.pk]
    assert ids(api.get(URL, {"manager": other_manager.pk})) == [other.pk]
    assert ids(api.get(URL, {"team": rep.team_id})) == [theirs.pk, mine.pk]
    assert ids(api.get(URL, {"held_after": days(-4), "held_before": days(-2)})) == [theirs.pk]
    # Another team's rep is simply not in a manager's list.
    assert ids(key_for(manager).get(URL, {"rep": other_rep.pk})) == []
    row = key_for(rep).get(URL).json()["results"][0]
    assert row["focus_skill_name"] == skills[0].name and row["second_focus_skill"] is None


@pytest.mark.parametrize(
    "params", [{"rep": "abc"}, {"held_after": "yesterday"}, {"team": "1.5"}, {"page": "99"}]
)
def test_bad_filters_are_refused_in_the_error_shape(key_for, manager, params):
    response = key_for(manager).get(URL, params)
    assert response.status_code in (400, 404)
    assert set(response.json()) == {"code", "message", "details"}


def test_list_query_count_is_fixed(
    django_assert_max_num_queries, key_for, rep, teammate, manager, skills
):
    api = key_for(manager)
    api.get(URL)  # the key's first use records it (one more query, once)
    session = stored_session(rep, manager, skills[0], days_ago=40)
    stored_item(session)

    # The same bound with 1 row and with 31: nothing is read per row.
    with django_assert_max_num_queries(3):
        assert api.get(URL).status_code == 200
    for i in range(30):
        s = stored_session(
            (rep, teammate)[i % 2], manager, skills[i % 4], days_ago=i,
            second_focus_skill=skills[4 + i % 3],
        )  # fmt: skip
        stored_item(s, done=bool(i % 3))
    with django_assert_max_num_queries(3):
        assert api.get(URL).status_code == 200


def test_create_refusals_in_the_error_shape(key_for, rep, teammate, manager, other_rep, skills):
    api = key_for(manager)

    def post(**data):
        body = {"rep": rep.pk, "focus_skill": skills[0].pk} | data
        return api.post(URL, body, format="json")

    def error(response, status: int, code: str) -> dict:
        assert response.status_code == status, response.json()
        body = response.json()
        assert set(body) == {"code", "message", "details"} and body["code"] == code
        return body["details"]

    assert "focus_skill" in error(post(focus_skill=10**9), 400, "invalid")
    assert "second_focus_skill" in error(post(second_focus_skill=skills[0].pk), 400, "invalid")
    assert "held_on" in error(post(held_on=days(1).isoformat()), 400, "invalid")
    assert "held_on" in error(post(held_on="not a date"), 400, "invalid")
    assert "colour" in error(post(colour="red"), 400, "invalid")
    assert "manager" in error(post(manager=manager.pk), 400, "invalid")
    details = error(
        post(
            action_items=[
                {"title": "Fine", "due_on": days(2).isoformat()},
                {"title": "Late", "due_on": days(-2).isoformat()},
            ]
        ),
        400,
        "invalid",
    )
    assert details["action_items"][0] == {} and list(details["action_items"][1]) == ["due_on"]
    # A malformed date in an item is the serializer's error, in the same per-item shape.
    details = error(post(action_items=[{"title": "x", "due_on": "soon"}]), 400, "invalid")
    assert "due_on" in details["action_items"][0]
    error(post(rep=other_rep.pk), 404, "not_found")
    error(key_for(rep).post(URL, {"rep": teammate.pk, "focus_skill": skills[0].pk}), 403,
          "permission_denied")  # fmt: skip
    assert CoachingSession.objects.count() == 0 and ActionItem.objects.count() == 0
    assert post().status_code == 201
    error(post(), 409, "duplicate_session")
    assert CoachingSession.objects.count() == 1


def test_idempotency_key_replays(key_for, manager, rep, skills):
    api = key_for(manager)
    data = {"rep": rep.pk, "focus_skill": skills[0].pk}
    first = api.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    again = api.post(URL, data, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert CoachingSession.objects.count() == 1


def test_patch_with_etag(key_for, manager, rep, leader, skills):
    session = stored_session(rep, manager, skills[0], notes="Old")
    api = key_for(manager)
    etag = api.get(f"{URL}{session.pk}/")["ETag"]
    response = api.patch(
        f"{URL}{session.pk}/",
        {"notes": "New", "second_focus_skill": skills[1].pk},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["notes"] == "New" and response["ETag"] != etag
    stale = api.patch(f"{URL}{session.pk}/", {"notes": "Lost"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["code"] == "stale_version"
    removed = key_for(leader).patch(
        f"{URL}{session.pk}/", {"second_focus_skill": None}, format="json"
    )
    assert removed.status_code == 200 and removed.json()["second_focus_skill"] is None
    session.refresh_from_db()
    assert (session.notes, session.second_focus_skill) == ("New", None)


def test_patch_refusals(key_for, manager, rep, other_manager, skills):
    session = stored_session(rep, manager, skills[0], notes="Old")
    path = f"{URL}{session.pk}/"
    as_rep = key_for(rep).patch(path, {"notes": "Mine"}, format="json")
    assert as_rep.status_code == 403 and as_rep.json()["code"] == "permission_denied"
    assert key_for(other_manager).patch(path, {"notes": "x"}, format="json").status_code == 404
    api = key_for(manager)
    held = api.patch(path, {"held_on": days(-2).isoformat()}, format="json")
    assert held.status_code == 400 and "held_on" in held.json()["details"]
    same = api.patch(path, {"second_focus_skill": skills[0].pk}, format="json")
    assert same.status_code == 400 and "second_focus_skill" in same.json()["details"]
    bad_etag = api.patch(path, {"notes": "x"}, format="json", HTTP_IF_MATCH="yesterday")
    assert bad_etag.status_code == 400
    session.refresh_from_db()
    assert session.notes == "Old" and session.second_focus_skill is None


def test_add_action_item(key_for, manager, rep, other_manager, skills):
    session = stored_session(rep, manager, skills[0])
    path = f"{URL}{session.pk}/action-items/"
    created = key_for(manager).post(
        path, {"title": "Call the CFO", "due_on": days(2).isoformat()}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert (created.json()["owner"], created.json()["session"]) == (rep.pk, session.pk)
    refused = key_for(rep).post(path, {"title": "x", "due_on": days(1).isoformat()}, format="json")
    assert refused.status_code == 403
    hidden = key_for(other_manager).post(
        path, {"title": "x", "due_on": days(1).isoformat()}, format="json"
    )
    assert hidden.status_code == 404
    late = key_for(manager).post(
        path, {"title": "x", "due_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat()},
        format="json",
    )  # fmt: skip
    assert late.status_code == 400 and "due_on" in late.json()["details"]
    assert ActionItem.objects.count() == 1
