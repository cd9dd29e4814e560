"""/api/v1/proposals/: the contract, the workflow over HTTP, the one error shape."""

from __future__ import annotations

import pytest

from proposals.models import Proposal, ReviewChecklistItem
from tests.proposals.conftest import GOOD_SUMMARY, proposal_data

URL = "/api/v1/proposals/"


def items() -> list[int]:
    return list(ReviewChecklistItem.objects.values_list("id", flat=True))


@pytest.fixture
def created(key_for, rep, deal):
    response = key_for(rep).post(URL, {"opportunity": deal.pk, **proposal_data()}, format="json")
    assert response.status_code == 201, response.json()
    return response


def test_create_returns_the_draft_with_its_etag(created, deal):
    body = created.json()
    assert body["opportunity"] == deal.pk and body["number"] == 1
    assert body["status"] == "draft" and body["total_value"] == "48000.00"
    assert [s["heading"] for s in body["sections"]] == ["Scope", "Pricing"]
    assert created["ETag"] == f'"{body["revision"]}"'


def test_workflow_over_the_api(key_for, rep, manager, created):
    pk = created.json()["id"]
    rep_api, manager_api = key_for(rep), key_for(manager)
    submitted = rep_api.post(f"{URL}{pk}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "in_review"
    # The rep cannot approve their own proposal.
    refused = rep_api.post(f"{URL}{pk}/approve/", {"checklist": items()}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    approved = manager_api.post(f"{URL}{pk}/approve/", {"checklist": items()}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["reviews"][0]["decision"] == "approved"
    sent = rep_api.post(f"{URL}{pk}/mark-sent/")
    assert sent.json()["status"] == "sent"
    frozen = rep_api.patch(f"{URL}{pk}/", {"title": "Edited"}, format="json")
    assert frozen.status_code == 409 and frozen.json()["code"] == "proposal_sent"
    copy = rep_api.post(f"{URL}{pk}/new-version/")
    assert copy.status_code == 201 and copy.json()["number"] == 2
    assert Proposal.objects.get(pk=pk).title == proposal_data()["title"]


def test_submit_with_a_failing_summary_is_a_422_listing_the_checks(key_for, rep, created):
    pk = created.json()["id"]
    api = key_for(rep)
    api.patch(f"{URL}{pk}/", {"executive_summary": "Hello there."}, format="json")
    response = api.post(f"{URL}{pk}/submit/")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "summary_checks_failed"
    assert {"names_customer", "length"} <= set(body["details"]["failed"])
    assert all({"code", "label", "passed", "message"} == set(c) for c in body["details"]["checks"])
    assert Proposal.objects.get(pk=pk).status == "draft"


def test_patch_with_a_stale_if_match_is_412(key_for, rep, created):
    pk, etag = created.json()["id"], created["ETag"]
    api = key_for(rep)
    assert (
        api.patch(f"{URL}{pk}/", {"title": "One"}, format="json", HTTP_IF_MATCH=etag).status_code
        == 200
    )
    stale = api.patch(f"{URL}{pk}/", {"title": "Two"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["code"] == "stale_version"
    assert Proposal.objects.get(pk=pk).title == "One"


def test_read_only_and_unknown_fields_are_refused(key_for, rep, created):
    pk = created.json()["id"]
    response = key_for(rep).patch(
        f"{URL}{pk}/", {"status": "approved", "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    details = response.json()["details"]
    assert "/submit/" in details["status"][0] and "Unknown field" in details["colour"][0]
    assert Proposal.objects.get(pk=pk).status == "draft"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"executive_summary": "x" * 100_000}, "executive_summary"),
        ({"total_value": "lots"}, "total_value"),
        ({"valid_until": "tomorrow"}, "valid_until"),
        ({"sections": [{"heading": "", "body": "x"}]}, "sections"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(key_for, rep, deal, payload, field):
    response = key_for(rep).post(
        URL, {"opportunity": deal.pk, **proposal_data(**payload)}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["details"]
    assert not Proposal.objects.exists()


def test_html_is_stored_as_text_and_returned_as_is(key_for, rep, deal):
    summary = GOOD_SUMMARY + " <script>alert(1)</script>"
    response = key_for(rep).post(
        URL, {"opportunity": deal.pk, **proposal_data(executive_summary=summary)}, format="json"
    )
    assert response.json()["executive_summary"] == summary  # JSON is not HTML


def test_check_summary_saves_nothing(key_for, rep, deal):
    response = key_for(rep).post(
        f"{URL}check-summary/",
        {"opportunity": deal.pk, "executive_summary": GOOD_SUMMARY},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["passed"] is True, body
    assert len(body["checks"]) == 6
    failing = key_for(rep).post(
        f"{URL}check-summary/",
        {"opportunity": deal.pk, "executive_summary": "Dear Globex team."},
        format="json",
    )
    assert failing.json()["passed"] is False
    assert not Proposal.objects.exists()


def test_check_summary_of_a_deal_outside_scope_is_404(key_for, other_rep, deal):
    response = key_for(other_rep).post(
        f"{URL}check-summary/",
        {"opportunity": deal.pk, "executive_summary": GOOD_SUMMARY},
        format="json",
    )
    assert response.status_code == 404


def test_visibility_follows_the_deal(key_for, created, other_rep, other_manager, manager, leader):
    pk = created.json()["id"]
    for user, expected in ((manager, 200), (leader, 200), (other_rep, 404), (other_manager, 404)):
        assert key_for(user).get(f"{URL}{pk}/").status_code == expected
        listed = [p["id"] for p in key_for(user).get(URL).json()["results"]]
        assert (pk in listed) == (expected == 200)


def test_list_filters_and_fixed_query_count(
    key_for, rep, pipeline, deal, django_assert_max_num_queries
):
    from proposals import services
    from tests.factories import OpportunityFactory

    api = key_for(rep)
    api.get(URL)  # the key's first use records it; not part of the list's cost

    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = api.get(URL, {"status": "draft"})
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()["count"]

    services.proposal_create(actor=rep, opportunity_id=deal.pk, **proposal_data())
    one = count_queries()
    for _ in range(20):
        opp = OpportunityFactory(owner=rep, stage=pipeline.discover)
        services.proposal_create(actor=rep, opportunity_id=opp.pk, **proposal_data())
    many = count_queries()
    assert (one[1], many[1]) == (1, 21)
    assert one[0] == many[0]
    bad = api.get(URL, {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()["details"]


def test_delete_a_draft(key_for, rep, created):
    pk = created.json()["id"]
    assert key_for(rep).delete(f"{URL}{pk}/").status_code == 204
    assert not Proposal.objects.exists()


def test_comments_on_a_section(key_for, rep, manager, created):
    body = created.json()
    section = body["sections"][0]["id"]
    response = key_for(manager).post(
        f"{URL}{body['id']}/comments/", {"body": "Clear.", "section": section}, format="json"
    )
    assert response.status_code == 201 and response.json()["section"] == section
    fetched = key_for(rep).get(f"{URL}{body['id']}/").json()
    assert [c["body"] for c in fetched["comments"]] == ["Clear."]
