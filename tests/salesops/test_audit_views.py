"""/audit/: administrators read the audit trail — newest first, 50 a page in a fixed number
of queries, filtered (person, action prefix, record type, path, days of the organisation's
calendar), targets linked to their pages, and as CSV."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json

import pytest
from django.utils import timezone

from salesops import organisation
from salesops.audit_context import Channel
from salesops.models import AuditEvent
from salesops.services import api_key_create

pytestmark = pytest.mark.django_db


def event(actor=None, action="opportunity.advanced", *, at=None, **fields) -> AuditEvent:
    fields.setdefault("target_type", "")
    made = AuditEvent.objects.create(actor=actor, action=action, **fields)
    if at is not None:
        AuditEvent.objects.filter(pk=made.pk).update(created_at=at)
    return made


def rows(response) -> list[str]:
    """The actions of the table's rows, in order."""
    return [e.action for e in response.context["page"].object_list]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("who", ["rep", "manager", "leader"])
def test_only_administrators_read_it(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/?format=csv").status_code == 403


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_newest_first_with_the_path_and_a_link_to_the_deal(admin_client, admin_user, opportunity):
    key, _ = api_key_create(user=admin_user, name="Zapier", scopes=["read"])
    event(admin_user, "opportunity.updated", target_type="pipeline.opportunity",
          target_id=opportunity.pk, channel=Channel.API_KEY, api_key=key,
          origin="PATCH /api/v1/opportunities/1/", data={"fields": ["amount"]})  # fmt: skip
    response = admin_client.get("/audit/")
    assert response.status_code == 200
    assert rows(response)[:2] == ["opportunity.updated", "api_key.created"]
    html = response.content.decode()
    assert f'href="/opportunities/{opportunity.pk}/"' in html
    assert "Zapier" in html and "API key" in html and "fields: [&quot;amount&quot;]" in html
    assert 'class="table-responsive"' in html  # the wide table scrolls inside its card
    for label in ("Person", "Action", "Record type", "Path", "From", "To"):
        assert f">{label}</label>" in html
    assert '<th scope="col">When</th>' in html


def test_the_admin_menu_links_it_and_nobody_elses_does(client, admin_user, rep):
    client.force_login(admin_user)
    assert 'data-testid="nav-audit"' in client.get("/notifications/").content.decode()
    client.force_login(rep)
    assert 'data-testid="nav-audit"' not in client.get("/notifications/").content.decode()


def test_filters(admin_client, admin_user, rep):
    event(rep, "opportunity.advanced", channel=Channel.PAGE, target_type="pipeline.opportunity",
          target_id=1)  # fmt: skip
    event(rep, "opportunityx.other", channel=Channel.API)
    event(admin_user, "account.updated", channel=Channel.IMPORT, target_type="pipeline.account",
          target_id=2)  # fmt: skip
    event(None, "hiring.candidates_anonymised", channel=Channel.TASK)

    def actions(query: str) -> set[str]:
        response = admin_client.get(f"/audit/?{query}")
        assert response.status_code == 200, response.context["form"].errors
        return set(rows(response))

    assert actions(f"actor={rep.pk}") == {"opportunity.advanced", "opportunityx.other"}
    assert actions("action=opportunity.") == {"opportunity.advanced"}  # a prefix
    assert actions("target_type=pipeline.account") == {"account.updated"}
    assert actions("target_type=pipeline.opportunity&target_id=1") == {"opportunity.advanced"}
    assert actions("channel=task") == {"hiring.candidates_anonymised"}
    assert actions("channel=import&actor=" + str(admin_user.pk)) == {"account.updated"}


def test_days_are_the_organisations_days(admin_client):
    organisation.pin(dataclasses.replace(organisation.defaults(), time_zone="Pacific/Auckland"))
    tz = organisation.current().tz()
    day = timezone.localdate() - dt.timedelta(days=3)
    late = dt.datetime.combine(day, dt.time(23, 30), tzinfo=tz)  # the day before in UTC
    early = dt.datetime.combine(day, dt.time(0, 15), tzinfo=tz)
    event(action="a.late", at=late)
    event(action="a.early", at=early)
    event(action="a.before", at=early - dt.timedelta(minutes=30))
    event(action="a.after", at=late + dt.timedelta(minutes=31))

    def actions(query: str) -> set[str]:
        return {a for a in rows(admin_client.get(f"/audit/?{query}")) if a.startswith("a.")}

    iso = day.isoformat()
    assert actions(f"date_from={iso}&date_to={iso}") == {"a.early", "a.late"}
    assert actions(f"date_to={iso}") == {"a.early", "a.late", "a.before"}
    assert actions(f"date_from={(day + dt.timedelta(days=1)).isoformat()}") == {"a.after"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("channel=fax", "channel"),
        ("actor=999999", "actor"),
        ("actor=abc", "actor"),
        ("target_type=nope.model", "target_type"),
        ("target_id=0", "target_id"),
        ("date_from=2026-13-01", "date_from"),
        ("date_from=2026-05-02&date_to=2026-05-01", "date_to"),
        ("action=" + "x" * 65, "action"),
    ],
)
def test_a_filter_that_does_not_parse_is_a_field_error_not_every_event(admin_client, query, field):
    event(action="should.not.show")
    response = admin_client.get(f"/audit/?{query}")
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert rows(response) == []
    assert 'aria-invalid="true"' in response.content.decode()


def test_fifty_a_page_newest_first(admin_client):
    for i in range(55):
        event(action=f"n.{i:02d}")
    first = admin_client.get("/audit/?action=n.")
    assert rows(first) == [f"n.{i:02d}" for i in range(54, 4, -1)]
    second = admin_client.get("/audit/?action=n.&page=2")
    assert rows(second) == [f"n.{i:02d}" for i in range(4, -1, -1)]
    assert "Older" in first.content.decode()


# The session and the user; the navbar's counts (one query); the events' count and their
# page (actor and key joined); the people of the Person filter.
PAGE_QUERIES = 6


def _many(n: int, admin_user, opportunity) -> None:
    key, _ = api_key_create(user=admin_user, name="k", scopes=["read"])
    for i in range(n):
        event(admin_user, f"q.{i}", target_type="pipeline.opportunity", target_id=opportunity.pk,
              channel=Channel.API_KEY, api_key=key, data={"i": i})  # fmt: skip


def test_the_query_count_does_not_grow_with_rows(
    admin_client, admin_user, opportunity, django_assert_num_queries
):
    _many(1, admin_user, opportunity)
    with django_assert_num_queries(PAGE_QUERIES):
        assert admin_client.get("/audit/").status_code == 200
    _many(60, admin_user, opportunity)
    with django_assert_num_queries(PAGE_QUERIES):
        response = admin_client.get("/audit/?channel=api_key")
    assert len(rows(response)) == 50
    # The CSV: one query for the rows, however many (after the session's and the user's).
    with django_assert_num_queries(3):
        b"".join(admin_client.get("/audit/?format=csv").streaming_content)


def test_csv_has_every_filtered_event(admin_client, admin_user, rep):
    for i in range(60):
        event(rep, f"opportunity.n{i}", target_type="pipeline.opportunity", target_id=i + 1,
              origin="POST /x", data={"n": i, "note": "=1+1"})  # fmt: skip
    event(admin_user, "account.updated")
    page = admin_client.get("/audit/?action=opportunity.")
    link = page.context["csv_query"]
    assert "format=csv" in link and "page" not in link
    response = admin_client.get(f"/audit/?{link}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["time", "person", "action", "target_type", "target_id", "channel",
                        "api_key", "request_id", "origin", "data"]  # fmt: skip
    assert len(table) == 61 and {r[2] for r in table[1:]} == {f"opportunity.n{i}" for i in
                                                              range(60)}  # fmt: skip
    first = table[1]
    assert first[1] == "rep" and first[3] == "pipeline.opportunity" and first[8] == "POST /x"
    assert json.loads(first[9]) == {"n": 59, "note": "=1+1"}
    # The time in the organisation's zone, with its offset.
    assert dt.datetime.fromisoformat(first[0]).utcoffset() is not None
