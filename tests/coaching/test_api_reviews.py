"""/api/v1/opportunity-reviews/ and /api/v1/action-items/: the contract, scope, refusals in
the one error shape, and fixed query counts on the lists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coaching import services
from coaching.models import ActionItem, CoachingPoint, OpportunityReview, ReviewAgendaItem
from tests.factories import AccountFactory, OpportunityFactory

REVIEWS = "/api/v1/opportunity-reviews/"
ITEMS = "/api/v1/action-items/"
ERROR_KEYS = {"code", "message", "details"}


def _days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


@pytest.fixture
def review(manager, opportunity):
    return services.review_start(actor=manager, opportunity_id=opportunity.pk)


def _count(client, path, params=None) -> int:
    client.get(path, params or {})  # the key's first use of the day is recorded once
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
    assert response.status_code == 200, response.json()
    return len(ctx.captured_queries)


def test_manager_starts_a_review_and_reads_it(key_for, manager, rep, opportunity):
    response = key_for(manager).post(REVIEWS, {"opportunity": opportunity.pk}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["opportunity"], body["rep"], body["manager"], body["status"]) == (
        opportunity.pk, rep.pk, manager.pk, "open",
    )  # fmt: skip
    assert [a["source"] for a in body["agenda"]][:2] == ["milestone", "milestone"]
    assert body["findings"] == body["coaching_points"] == body["action_items"] == []
    assert not {"amount", "forecast_category", "commit"} & set(body)
    fetched = key_for(rep, scopes=("read",)).get(f"{REVIEWS}{body['id']}/").json()
    assert fetched["agenda"] == body["agenda"]


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [("rep", 403, "permission_denied"), ("other_manager", 404, "not_found")],
)
def test_start_refusals(request, key_for, opportunity, who, status, code):
    client = key_for(request.getfixturevalue(who))
    response = client.post(REVIEWS, {"opportunity": opportunity.pk}, format="json")
    assert response.status_code == status
    assert set(response.json()) == ERROR_KEYS and response.json()["code"] == code
    assert not OpportunityReview.objects.exists()


def test_start_contract_errors(key_for, manager, review, opportunity):
    client = key_for(manager)
    again = client.post(REVIEWS, {"opportunity": opportunity.pk}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "review_in_progress"
    assert again.json()["details"] == {"review": review.pk}
    bad = client.post(REVIEWS, {"opportunity": "abc", "status": "completed"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()) == ERROR_KEYS and {"opportunity", "status"} <= set(bad.json()["details"])
    assert OpportunityReview.objects.count() == 1


def test_manager_writes_agenda_findings_points_action_items(key_for, manager, rep, review, skills):
    client = key_for(manager)
    base = f"{REVIEWS}{review.pk}"
    added = client.post(f"{base}/agenda/", {"title": "Who signs?"}, format="json")
    assert added.status_code == 201 and added.json()["source"] == "manager"
    agenda = client.get(f"{base}/agenda/").json()
    assert agenda[-1]["title"] == "Who signs?"
    finding = client.post(f"{base}/findings/", {"text": "No champion"}, format="json")
    assert finding.status_code == 201
    point = client.post(
        f"{base}/coaching-points/", {"skill": skills[0].pk, "text": "Ask why now"}, format="json"
    )
    assert point.status_code == 201 and point.json()["skill_name"] == skills[0].name
    item = client.post(
        f"{base}/action-items/",
        {"title": "Map the decision", "due_on": _days(5).isoformat()},
        format="json",
    )
    assert item.status_code == 201 and item.json()["owner"] == rep.pk
    asked = client.post(f"{base}/complete/")
    assert asked.status_code == 409 and asked.json()["code"] == "undiscussed_points"
    assert [p["title"] for p in asked.json()["details"]["undiscussed"]] == [
        p["title"] for p in agenda
    ]
    done = client.post(f"{base}/complete/", {"confirm": True}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert len(done.json()["action_items"]) == 1
    frozen = client.post(f"{base}/findings/", {"text": "Late"}, format="json")
    assert frozen.status_code == 409 and frozen.json()["code"] == "review_completed"


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("agenda", {"title": ""}, "title"),
        ("agenda", {"title": "x" * 301}, "title"),
        ("agenda", {"title": "Ok", "detail": "x" * 5001}, "detail"),
        ("findings", {"text": " "}, "text"),
        ("coaching-points", {"skill": 999_999, "text": "Ask"}, "skill"),
        ("action-items", {"title": "Late", "due_on": "2000-01-01"}, "due_on"),
        ("action-items", {"title": "Late", "due_on": "soon"}, "due_on"),
        ("action-items", {"title": "X", "due_on": "2099-01-01", "owner": 1}, "due_on"),
        ("agenda", {"title": "Ok", "source": "flag"}, "source"),
    ],
)
def test_bad_input_is_400_with_the_field_and_nothing_saved(
    key_for, manager, review, skills, path, data, field
):
    before = (
        ReviewAgendaItem.objects.count(), CoachingPoint.objects.count(), ActionItem.objects.count()
    )  # fmt: skip
    response = key_for(manager).post(f"{REVIEWS}{review.pk}/{path}/", data, format="json")
    assert response.status_code == 400, response.json()
    assert set(response.json()) == ERROR_KEYS and field in response.json()["details"]
    after = (
        ReviewAgendaItem.objects.count(), CoachingPoint.objects.count(), ActionItem.objects.count()
    )  # fmt: skip
    assert after == before


def test_complete_asks_for_a_confirmation_while_points_are_not_discussed(key_for, manager, review):
    client = key_for(manager)
    base = f"{REVIEWS}{review.pk}"
    agenda = client.get(f"{base}/agenda/").json()
    first = agenda[0]
    ticked = client.post(
        f"{base}/agenda/{first['id']}/discussed/", {"discussed": True}, format="json"
    )
    assert ticked.status_code == 200

    asked = client.post(f"{base}/complete/", {"confirm": False}, format="json")

    body = asked.json()
    assert asked.status_code == 409 and set(body) == ERROR_KEYS
    assert body["code"] == "undiscussed_points"
    assert body["details"] == {
        "undiscussed": [{"id": p["id"], "title": p["title"]} for p in agenda[1:]]
    }
    review.refresh_from_db()
    assert review.status == "open"
    junk = client.post(f"{base}/complete/", {"confirm": "perhaps"}, format="json")
    assert junk.status_code == 400 and "confirm" in junk.json()["details"]
    for point in agenda[1:]:
        client.post(f"{base}/agenda/{point['id']}/discussed/", {"discussed": True}, format="json")
    done = client.post(f"{base}/complete/")  # all discussed: no confirmation needed
    assert done.status_code == 200 and done.json()["status"] == "completed"


def test_rep_reads_but_cannot_write_and_others_get_404(key_for, rep, teammate, review):
    refused = key_for(rep).post(f"{REVIEWS}{review.pk}/findings/", {"text": "Me"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert key_for(teammate).get(f"{REVIEWS}{review.pk}/").status_code == 404
    hidden = key_for(teammate).post(f"{REVIEWS}{review.pk}/complete/")
    assert hidden.status_code == 404
    assert key_for(teammate).get(REVIEWS).json()["results"] == []
    review.refresh_from_db()
    assert review.status == "open"


def test_review_list_filters(key_for, manager, rep, teammate, review, pipeline):
    other = OpportunityFactory(owner=teammate, stage=pipeline.discover)
    services.review_start(actor=manager, opportunity_id=other.pk)
    client = key_for(manager)
    assert [r["rep"] for r in client.get(REVIEWS, {"rep": rep.pk}).json()["results"]] == [rep.pk]
    assert client.get(REVIEWS, {"opportunity": other.pk}).json()["results"][0]["rep"] == (
        teammate.pk
    )
    assert client.get(REVIEWS, {"status": "completed"}).json()["results"] == []
    bad = client.get(REVIEWS, {"status": "maybe", "rep": "x"})
    assert bad.status_code == 400 and {"status", "rep"} <= set(bad.json()["details"])


def test_review_list_query_count_is_fixed(
    key_for, manager, rep, pipeline, django_assert_max_num_queries
):
    client = key_for(manager)
    services.review_start(
        actor=manager,
        opportunity_id=OpportunityFactory(owner=rep, stage=pipeline.discover).pk,
    )
    one = _count(client, REVIEWS)
    for _ in range(49):
        opp = OpportunityFactory(owner=rep, stage=pipeline.qualify, account=AccountFactory())
        services.review_start(actor=manager, opportunity_id=opp.pk)
    assert _count(client, REVIEWS) == one
    with django_assert_max_num_queries(6):
        client.get(REVIEWS)


# --- action items --------------------------------------------------------------------------


def test_action_items_complete_and_reopen(key_for, manager, rep, teammate, review):
    item = services.review_action_item_add(
        actor=manager, review_id=review.pk, title="Send recap", due_on=_days(1)
    )
    client = key_for(rep)
    done = client.post(f"{ITEMS}{item.pk}/complete/")
    assert done.status_code == 200 and done.json()["done"] is True
    assert client.get(ITEMS, {"done": "true"}).json()["results"][0]["id"] == item.pk
    reopened = client.post(f"{ITEMS}{item.pk}/reopen/")
    assert reopened.status_code == 200 and reopened.json()["done"] is False
    outsider = key_for(teammate).post(f"{ITEMS}{item.pk}/complete/")
    assert outsider.status_code == 404 and set(outsider.json()) == ERROR_KEYS
    item.refresh_from_db()
    assert item.done_at is None


def test_action_item_filters(key_for, manager, rep, review):
    soon = services.review_action_item_add(
        actor=manager, review_id=review.pk, title="Soon", due_on=_days(1)
    )
    late = services.review_action_item_add(
        actor=manager, review_id=review.pk, title="Late", due_on=_days(0)
    )
    ActionItem.objects.filter(pk=late.pk).update(due_on=_days(-3))  # time passed
    mine = services.review_action_item_add(
        actor=manager, review_id=review.pk, title="Mine", due_on=_days(2), owner_id=manager.pk
    )
    client = key_for(manager)
    ids = lambda params: [i["id"] for i in client.get(ITEMS, params).json()["results"]]  # noqa: E731
    assert ids({"overdue": "true"}) == [late.pk]
    assert ids({"owner": manager.pk}) == [mine.pk]
    assert ids({"overdue": "false"}) == [soon.pk, mine.pk]
    assert client.get(f"{ITEMS}{late.pk}/").json()["overdue"] is True
    assert client.get(ITEMS, {"done": "perhaps"}).status_code == 400


def test_action_item_list_query_count_is_fixed(
    key_for, manager, rep, review, django_assert_max_num_queries
):
    client = key_for(rep)
    services.review_action_item_add(
        actor=manager, review_id=review.pk, title="One", due_on=_days(1)
    )
    one = _count(client, ITEMS)
    for i in range(49):
        services.review_action_item_add(
            actor=manager, review_id=review.pk, title=f"Item {i}", due_on=_days(i % 30)
        )
    assert _count(client, ITEMS) == one
    with django_assert_max_num_queries(5):
        client.get(ITEMS, {"overdue": "false"})


def test_an_agenda_point_is_ticked_discussed_over_the_api(manager, rep, pipeline, key_for):
    from coaching import services as coaching_services
    from tests.factories import OpportunityFactory

    deal = OpportunityFactory(owner=rep, stage=pipeline.qualify)
    review = coaching_services.review_start(actor=manager, opportunity_id=deal.pk)
    item = review.agenda_items.first()
    url = f"/api/v1/opportunity-reviews/{review.pk}/agenda/{item.pk}/discussed/"
    response = key_for(manager).post(url, {"discussed": True})
    assert response.status_code == 200 and response.json()["discussed"] is True
    item.refresh_from_db()
    assert item.discussed
    # Its rep reads the review but does not tick it; nothing changes.
    assert key_for(rep).post(url, {"discussed": False}).status_code == 403
    item.refresh_from_db()
    assert item.discussed
    other = f"/api/v1/opportunity-reviews/{review.pk}/agenda/999999/discussed/"
    assert key_for(manager).post(other, {"discussed": True}).status_code == 404
