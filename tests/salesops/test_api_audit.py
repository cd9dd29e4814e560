"""GET /api/v1/audit-events/: the audit trail for administrators, with the page's filters,
paginated like every list, in a fixed number of queries."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from salesops.audit_context import Channel
from salesops.models import AuditEvent
from salesops.services import api_key_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-events/"


def event(actor=None, action="opportunity.advanced", **fields) -> AuditEvent:
    fields.setdefault("target_type", "")
    return AuditEvent.objects.create(actor=actor, action=action, **fields)


@pytest.fixture
def admin_api(admin_user):
    client = APIClient()
    client.force_login(admin_user)
    return client


def test_an_event_with_its_path(admin_api, admin_user, opportunity):
    key, _ = api_key_create(user=admin_user, name="Zapier", scopes=["read"])
    made = event(
        admin_user, "opportunity.updated", target_type="pipeline.opportunity",
        target_id=opportunity.pk, channel=Channel.API_KEY, api_key=key, request_id="r1",
        origin="PATCH /api/v1/x/", data={"fields": ["amount"]},
    )  # fmt: skip
    body = admin_api.get(URL).json()
    assert body["count"] == 2
    first = body["results"][0]
    assert first == {
        "id": made.pk,
        "created_at": first["created_at"],
        "actor": {"id": admin_user.pk, "username": "admin"},
        "action": "opportunity.updated",
        "target_type": "pipeline.opportunity",
        "target_id": opportunity.pk,
        "target_url": f"/opportunities/{opportunity.pk}/",
        "channel": "api_key",
        "api_key": {"id": key.pk, "name": "Zapier", "prefix": key.prefix},
        "request_id": "r1",
        "origin": "PATCH /api/v1/x/",
        "data": {"fields": ["amount"]},
    }
    assert body["results"][1]["action"] == "api_key.created"


def test_an_administrators_read_key_reads_it(admin_user):
    _, raw = api_key_create(user=admin_user, name="audit reader", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get(URL).status_code == 200
    # Reading the trail writes nothing to it.
    assert not AuditEvent.objects.filter(channel=Channel.API_KEY).exists()


@pytest.mark.parametrize("who", ["rep", "manager", "leader"])
def test_everyone_else_is_refused(request, who, key_for):
    user = request.getfixturevalue(who)
    session = APIClient()
    session.force_login(user)
    for client in (key_for(user, scopes=("read",)), session):
        response = client.get(URL)
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"


def test_anonymous_is_401(db):
    assert APIClient().get(URL).status_code == 401


def test_filters(admin_api, admin_user, rep):
    event(rep, "opportunity.advanced", channel=Channel.PAGE, target_type="pipeline.opportunity",
          target_id=5)  # fmt: skip
    event(rep, "opportunityx.other", channel=Channel.API)
    event(admin_user, "account.updated", channel=Channel.IMPORT, target_type="pipeline.account")
    event(None, "hiring.candidates_anonymised", channel=Channel.TASK)

    def actions(query: str) -> set[str]:
        response = admin_api.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return {e["action"] for e in response.json()["results"]}

    assert actions(f"actor={rep.pk}") == {"opportunity.advanced", "opportunityx.other"}
    assert actions("action=opportunity.") == {"opportunity.advanced"}
    assert actions("target_type=pipeline.opportunity&target_id=5") == {"opportunity.advanced"}
    assert actions("channel=task") == {"hiring.candidates_anonymised"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("channel=fax", "channel"),
        ("actor=999999", "actor"),
        ("target_type=nope", "target_type"),
        ("target_id=abc", "target_id"),
        ("date_from=yesterday", "date_from"),
        ("date_from=2026-05-02&date_to=2026-05-01", "date_to"),
        ("channel=page&channel=api", "channel"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(admin_api, query, field):
    response = admin_api.get(f"{URL}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["details"], body


def test_pages(admin_api):
    for i in range(60):
        event(action=f"n.{i:02d}")
    first = admin_api.get(f"{URL}?action=n.").json()
    assert first["count"] == 60 and len(first["results"]) == 50
    assert first["results"][0]["action"] == "n.59" and first["next"]
    small = admin_api.get(f"{URL}?action=n.&page_size=7&page=2").json()
    assert [e["action"] for e in small["results"]] == [f"n.{i:02d}" for i in range(52, 45, -1)]
    assert admin_api.get(f"{URL}?page=9").status_code == 404


def test_the_query_count_does_not_grow_with_rows(
    admin_api, admin_user, opportunity, django_assert_num_queries
):
    key, _ = api_key_create(user=admin_user, name="k", scopes=["read"])

    def many(n: int) -> None:
        for i in range(n):
            event(admin_user, f"q.{i}", target_type="pipeline.opportunity",
                  target_id=opportunity.pk, channel=Channel.API_KEY, api_key=key)  # fmt: skip

    many(1)
    # The session and the user; the count; the page with its actors and keys.
    with django_assert_num_queries(4):
        assert admin_api.get(f"{URL}?action=q.").status_code == 200
    many(80)
    with django_assert_num_queries(4):
        assert len(admin_api.get(f"{URL}?action=q.").json()["results"]) == 50


def test_in_the_schema(admin_api):
    schema = admin_api.get("/api/v1/schema/?format=json").json()
    operation = schema["paths"][URL]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"actor", "action", "target_type", "target_id", "channel", "date_from", "date_to",
            "page", "page_size"} <= names  # fmt: skip
    assert set(operation["responses"]) >= {"200", "400", "401", "403"}
