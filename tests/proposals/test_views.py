"""The proposal pages through the Django test client: scope, the form with its live
checklist, the review, the frozen sent version, print, bad input and query counts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from proposals import services
from proposals.models import (
    Proposal,
    ProposalComment,
    ProposalReview,
    ProposalStatus,
    ReviewChecklistItem,
)
from salesops.models import Notification
from tests.factories import AccountFactory, BusinessIssueFactory, OpportunityFactory
from tests.proposals.conftest import GOOD_SUMMARY, proposal_data

HTMX = {"HTTP_HX_REQUEST": "true"}
BAD_SUMMARY = "We are pleased to offer our solution. It is great."
CHECKLIST = [
    "Pricing and discounts are approved",
    "Scope and deliverables are clear",
    "Next steps and the decision date are agreed with the customer",
    "Terms are standard, or the exceptions are approved",
]


def url(name, *args):
    return reverse(f"proposals:{name}", args=args)


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def checklist(db):
    """The seeded reviewer checklist (a flushed database may have lost the seed)."""
    return [
        ReviewChecklistItem.objects.get_or_create(text=text, defaults={"order": i})[0]
        for i, text in enumerate(CHECKLIST, start=1)
    ]


def create(actor, opp, **overrides) -> Proposal:
    return services.proposal_create(
        actor=actor, opportunity_id=opp.pk, **proposal_data(**overrides)
    )


@pytest.fixture
def draft(rep, deal):
    return create(rep, deal)


@pytest.fixture
def in_review(rep, draft):
    return services.proposal_submit(actor=rep, proposal_id=draft.pk)


@pytest.fixture
def approved(manager, in_review, checklist):
    return services.proposal_approve(
        actor=manager, proposal_id=in_review.pk, checked_items=[i.pk for i in checklist]
    )


def form_post(opp, **overrides) -> dict:
    """What the proposal form posts (two sections, Save draft)."""
    data = proposal_data()
    sections = overrides.pop("sections", data.pop("sections"))
    post = {
        "opportunity": str(opp.pk),
        "title": data["title"],
        "executive_summary": data["executive_summary"],
        "total_value": data["total_value"],
        "currency": data["currency"],
        "valid_until": data["valid_until"],
        "action": "save",
        "sections-TOTAL_FORMS": str(len(sections)),
        "sections-INITIAL_FORMS": "0",
        "sections-MIN_NUM_FORMS": "0",
        "sections-MAX_NUM_FORMS": "30",
    }
    for i, s in enumerate(sections):
        post[f"sections-{i}-heading"] = s["heading"]
        post[f"sections-{i}-body"] = s["body"]
    post.update(overrides)
    return post


def in_review_proposal(owner, *, submitted_at=None) -> Proposal:
    """A proposal in review on a new deal of `owner`, written straight to the table (the
    query-count tests need many; the workflow itself is tested through the services)."""
    opp = OpportunityFactory(owner=owner, stage__name="Qualify", account=AccountFactory())
    return Proposal.objects.create(
        opportunity=opp,
        number=1,
        title=f"Proposal for {opp.name}",
        executive_summary="Summary",
        valid_until=timezone.localdate() + dt.timedelta(days=30),
        status=ProposalStatus.IN_REVIEW,
        submitted_at=submitted_at or timezone.now(),
        created_by=owner,
    )


def _count_queries(client, path, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def checks_in(body: str) -> dict[str, str]:
    """{check code: "true"/"false"} as the checklist partial renders them."""
    return dict(re.findall(r'data-check="([a-z_]+)" data-passed="(true|false)"', body))


# --- login, 404 outside the scope, 405 on GET ---------------------------------------------


@pytest.mark.parametrize(
    "name", ["list", "review_queue", "detail", "edit", "print", "create", "check_summary"]
)
def test_pages_require_login(client, draft, name):
    args = () if name in ("list", "review_queue", "check_summary") else (draft.pk,)
    if name == "create":
        args = (draft.opportunity_id,)
    response = client.get(url(name, *args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "name",
    [
        "submit",
        "approve",
        "request_changes",
        "mark_sent",
        "new_version",
        "comment",
        "delete",
        "check_summary",
    ],
)
def test_action_endpoints_refuse_get(logged_in, rep, draft, name):
    args = () if name == "check_summary" else (draft.pk,)
    assert logged_in(rep).get(url(name, *args)).status_code == 405
    assert Proposal.objects.get(pk=draft.pk).status == ProposalStatus.DRAFT


@pytest.mark.parametrize("who", ["teammate", "other_manager", "other_rep"])
@pytest.mark.parametrize("name", ["detail", "edit", "print"])
def test_a_proposal_outside_the_scope_is_404(request, logged_in, draft, who, name):
    client = logged_in(request.getfixturevalue(who))
    assert client.get(url(name, draft.pk)).status_code == 404
    assert client.post(url("submit", draft.pk)).status_code == 404
    assert client.post(url("comment", draft.pk), {"body": "Hi"}).status_code == 404


@pytest.mark.parametrize("who", ["rep", "manager", "leader", "admin_user"])
def test_detail_renders_for_owner_managers_and_leaders(request, logged_in, draft, who):
    response = logged_in(request.getfixturevalue(who)).get(url("detail", draft.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert draft.title in body and "Acme finance automation" in body
    assert "EUR 48,000.00" in body
    assert 'data-testid="proposal-status">Draft<' in body


def test_unknown_proposal_is_404(logged_in, rep, db):
    assert logged_in(rep).get(url("detail", 999_999)).status_code == 404


# --- list ---------------------------------------------------------------------------------


def test_list_shows_the_users_scope(logged_in, rep, teammate, manager, other_manager, pipeline):
    mine = in_review_proposal(rep)
    theirs = in_review_proposal(teammate)
    body = logged_in(rep).get(url("list")).content.decode()
    assert mine.title in body and theirs.title not in body
    assert 'name="owner"' not in body  # a rep sees only their own: no owner filter
    body = logged_in(manager).get(url("list")).content.decode()
    assert mine.title in body and theirs.title in body and 'name="owner"' in body
    body = logged_in(other_manager).get(url("list")).content.decode()
    assert mine.title not in body and "No proposals yet" in body


def test_list_filters_by_status_and_owner(logged_in, rep, teammate, manager, draft):
    waiting = in_review_proposal(teammate)
    client = logged_in(manager)
    body = client.get(url("list"), {"status": "in_review"}).content.decode()
    assert waiting.title in body and draft.title not in body
    body = client.get(url("list"), {"owner": rep.pk}).content.decode()
    assert draft.title in body and waiting.title not in body
    # An invalid filter is ignored with a message, never a 500.
    response = client.get(url("list"), {"status": "nonsense"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_list_query_count_is_fixed(
    logged_in, rep, manager, pipeline, django_assert_max_num_queries
):
    client = logged_in(manager)
    in_review_proposal(rep)
    one = _count_queries(client, url("list"))
    for _ in range(29):
        in_review_proposal(rep)
    many = _count_queries(client, url("list"))
    assert one == many
    # 10 for a manager: session, user, their team in the navbar, the navbar's counts, the
    # teams they manage (for the owner filter and for the scope), the chosen owner, the
    # owner filter's options, the count and the page.
    with django_assert_max_num_queries(10):
        client.get(url("list"), {"status": "in_review", "owner": rep.pk})


def test_list_is_paginated(logged_in, rep, pipeline):
    for _ in range(51):
        in_review_proposal(rep)
    client = logged_in(rep)
    first = client.get(url("list"))
    assert len(first.context["page"].object_list) == 50
    assert "1 / 2" in first.content.decode()
    assert len(client.get(url("list"), {"page": 2}).context["page"].object_list) == 1


# --- review queue ------------------------------------------------------------------------


def test_review_queue_for_managers_and_leaders(
    logged_in, rep, teammate, manager, other_rep, other_manager, leader, pipeline
):
    old = in_review_proposal(teammate, submitted_at=timezone.now() - dt.timedelta(days=3))
    new = in_review_proposal(rep)
    elsewhere = in_review_proposal(other_rep)
    own = in_review_proposal(manager)  # a manager never reviews their own deal
    body = logged_in(manager).get(url("review_queue")).content.decode()
    assert old.title in body and new.title in body
    assert elsewhere.title not in body and own.title not in body
    assert body.index(old.title) < body.index(new.title)  # oldest submission first
    body = logged_in(leader).get(url("review_queue")).content.decode()
    assert all(p.title in body for p in (old, new, elsewhere, own))
    body = logged_in(other_manager).get(url("review_queue")).content.decode()
    assert elsewhere.title in body and old.title not in body


def test_review_queue_for_a_rep_explains_who_reviews(logged_in, rep, pipeline):
    in_review_proposal(rep)
    response = logged_in(rep).get(url("review_queue"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="review-queue-empty"' in body
    assert "Reviews are done by sales managers and leaders" in body
    assert 'data-testid="nav-reviews"' not in body  # no "Reviews" link for a rep


def test_review_queue_query_count_is_fixed(
    logged_in, rep, teammate, manager, pipeline, django_assert_max_num_queries
):
    client = logged_in(manager)
    in_review_proposal(rep)
    one = _count_queries(client, url("review_queue"))
    for i in range(29):
        in_review_proposal(teammate if i % 2 else rep)
    many = _count_queries(client, url("review_queue"))
    assert one == many
    # 7: session, user, their team, the navbar's counts, the teams they manage, count, page.
    with django_assert_max_num_queries(7):
        client.get(url("review_queue"))


def test_navbar_links(logged_in, rep, manager, db):
    body = logged_in(manager).get(url("list")).content.decode()
    assert 'data-testid="nav-proposals"' in body and 'data-testid="nav-reviews"' in body
    body = logged_in(rep).get(reverse("pipeline:board")).content.decode()
    assert 'data-testid="nav-proposals"' in body and 'data-testid="nav-reviews"' not in body


# --- the live checklist ------------------------------------------------------------------


def test_check_summary_passes_a_good_summary(logged_in, rep, deal):
    response = logged_in(rep).post(
        url("check_summary"),
        {"opportunity": deal.pk, "executive_summary": GOOD_SUMMARY},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<div") or body.lstrip().startswith("{")  # a partial
    assert "<nav" not in body and 'id="summary-checks"' in body
    results = checks_in(body)
    assert results and set(results.values()) == {"true"}
    assert "Ready to submit" in body


def test_check_summary_flags_what_fails_with_its_message(logged_in, rep, deal):
    body = (
        logged_in(rep)
        .post(url("check_summary"), {"opportunity": deal.pk, "executive_summary": BAD_SUMMARY})
        .content.decode()
    )
    results = checks_in(body)
    assert results["names_customer"] == "false"
    assert results["restates_issue"] == "false"
    assert results["length"] == "false"
    checks = services.summary_checks(opportunity=deal, text=BAD_SUMMARY)
    for check in checks:
        if not check.passed:
            assert check.message.replace("'", "&#x27;").replace('"', "&quot;") in body


def test_check_summary_empty_text_fails_every_check(logged_in, rep, deal):
    body = (
        logged_in(rep)
        .post(url("check_summary"), {"opportunity": deal.pk, "executive_summary": ""})
        .content.decode()
    )
    assert set(checks_in(body).values()) == {"false"}


def test_check_summary_too_long_says_so_without_checking(logged_in, rep, deal):
    text = "Acme Logistics " * 7_000  # ~100 kB
    response = logged_in(rep).post(
        url("check_summary"), {"opportunity": deal.pk, "executive_summary": text}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="summary-too-long"' in body and "105,000 characters" in body
    assert not checks_in(body)


def test_check_summary_outside_scope_or_without_deal(logged_in, teammate, deal):
    client = logged_in(teammate)
    response = client.post(url("check_summary"), {"opportunity": deal.pk, "executive_summary": "x"})
    assert response.status_code == 404
    assert client.post(url("check_summary"), {"executive_summary": "x"}).status_code == 400


def test_check_summary_needs_the_csrf_token(rep, deal):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    response = client.post(url("check_summary"), {"opportunity": deal.pk, "executive_summary": "x"})
    assert response.status_code == 403


def test_check_summary_escapes_the_text(logged_in, rep, deal):
    text = '<script>alert("x")</script> Acme Logistics <b>bold</b>'
    body = (
        logged_in(rep)
        .post(url("check_summary"), {"opportunity": deal.pk, "executive_summary": text})
        .content.decode()
    )
    assert "<script>" not in body and "<b>" not in body


# --- create -------------------------------------------------------------------------------


def test_create_form_has_the_live_checklist(logged_in, rep, deal):
    response = logged_in(rep).get(url("create", deal.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'hx-post="{url("check_summary")}"' in body
    assert 'hx-trigger="input changed delay:500ms"' in body
    assert 'hx-target="#summary-checks"' in body
    assert f'name="opportunity" value="{deal.pk}"' in body
    assert 'id="summary-checks"' in body
    assert "Save draft" in body and "Save and submit for review" in body
    assert 'name="sections-0-heading"' in body  # a new proposal starts with one section
    assert 'value="Proposal for Acme Logistics GmbH"' in body  # sensible starting values
    assert 'value="10000.00"' in body


def test_create_saves_a_draft_with_its_sections(logged_in, rep, deal):
    response = logged_in(rep).post(url("create", deal.pk), form_post(deal))
    proposal = Proposal.objects.get(opportunity=deal)
    assert response.status_code == 302
    assert response["Location"] == url("detail", proposal.pk)
    assert proposal.status == ProposalStatus.DRAFT and proposal.number == 1
    assert proposal.total_value == Decimal("48000.00")
    assert [s.heading for s in proposal.sections.order_by("order")] == ["Scope", "Pricing"]


def test_create_drops_blank_and_removed_sections(logged_in, rep, deal):
    post = form_post(
        deal,
        sections=[
            {"heading": "Scope", "body": "All suppliers."},
            {"heading": "", "body": ""},
            {"heading": "Old idea", "body": "Remove me."},
        ],
    )
    post["sections-2-DELETE"] = "on"
    logged_in(rep).post(url("create", deal.pk), post)
    proposal = Proposal.objects.get(opportunity=deal)
    assert [s.heading for s in proposal.sections.all()] == ["Scope"]


def test_create_keeps_the_input_on_errors(logged_in, rep, deal):
    post = form_post(deal, title="", total_value="-5", valid_until="not a date")
    post["sections-1-heading"] = ""  # a section with text needs a heading
    response = logged_in(rep).post(url("create", deal.pk), post)
    assert response.status_code == 422
    assert not Proposal.objects.exists()
    body = response.content.decode()
    assert "This field is required." in body
    assert "Ensure this value is greater than or equal to 0." in body
    assert "Enter a valid date." in body
    assert "Give this section a heading." in body
    # Everything typed is still there, the summary with its checklist.
    assert "manual invoice matching" in body
    assert "48,000 EUR, paid in two instalments." in body
    assert 'value="-5"' in body
    assert checks_in(body)


def test_create_with_an_empty_summary_saves_a_draft(logged_in, rep, deal):
    """A draft may be unfinished; the empty summary only stops the submission."""
    response = logged_in(rep).post(url("create", deal.pk), form_post(deal, executive_summary=""))
    assert response.status_code == 302
    assert Proposal.objects.get(opportunity=deal).executive_summary == ""


def test_a_100_kb_summary_is_refused_with_a_clear_error(logged_in, rep, deal):
    text = ("Acme Logistics saves 2 FTE on invoice matching. " * 2100)[:100_000]
    response = logged_in(rep).post(
        url("create", deal.pk), form_post(deal, executive_summary=text, action="submit")
    )
    assert response.status_code == 422
    assert not Proposal.objects.exists()
    body = response.content.decode()
    assert "Keep the executive summary under 20000 characters (this one has 100000)" in body
    assert 'data-testid="summary-too-long"' in body
    assert "Acme Logistics saves 2 FTE" in body  # the text is kept to be shortened


def test_create_by_someone_else_than_the_owner(logged_in, manager, deal):
    client = logged_in(manager)
    response = client.get(url("create", deal.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("pipeline:opportunity_detail", args=[deal.pk])
    response = client.post(url("create", deal.pk), form_post(deal))
    assert response.status_code == 422
    assert "Only the deal&#x27;s owner" in response.content.decode()
    assert not Proposal.objects.exists()


def test_create_when_a_version_is_in_progress(logged_in, rep, deal, draft):
    client = logged_in(rep)
    response = client.get(url("create", deal.pk))
    assert response.status_code == 302 and response["Location"] == url("edit", draft.pk)
    response = client.post(url("create", deal.pk), form_post(deal, title="Another one"))
    assert response.status_code == 422
    body = response.content.decode()
    assert "Version 1 of this deal" in body and url("detail", draft.pk) in body
    assert 'value="Another one"' in body
    assert Proposal.objects.count() == 1


def test_add_section_adds_an_empty_one_and_saves_nothing(logged_in, rep, deal):
    client = logged_in(rep)
    response = client.post(url("create", deal.pk), form_post(deal, title="", add_section="1"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="sections-2-heading"' in body and "autofocus" in body
    assert "This field is required." not in body  # no errors for what is not finished yet
    assert 'value="Scope"' in body
    assert not Proposal.objects.exists()
    response = client.post(url("create", deal.pk), form_post(deal, add_section="1"), **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="sections"') or 'id="sections"' in body[:300]
    assert 'name="sections-2-heading"' in body and "<nav" not in body


# --- save and submit -----------------------------------------------------------------------


def test_save_and_submit_a_good_proposal(logged_in, rep, manager, deal):
    response = logged_in(rep).post(url("create", deal.pk), form_post(deal, action="submit"))
    proposal = Proposal.objects.get(opportunity=deal)
    assert response.status_code == 302 and response["Location"] == url("detail", proposal.pk)
    assert proposal.status == ProposalStatus.IN_REVIEW
    assert Notification.objects.filter(recipient=manager, link=url("detail", proposal.pk)).exists()


def test_submit_refused_by_the_checks_keeps_the_saved_draft_and_the_input(logged_in, rep, deal):
    response = logged_in(rep).post(
        url("create", deal.pk), form_post(deal, executive_summary=BAD_SUMMARY, action="submit")
    )
    assert response.status_code == 422
    proposal = Proposal.objects.get(opportunity=deal)
    assert proposal.status == ProposalStatus.DRAFT  # saved, not submitted
    assert proposal.executive_summary == BAD_SUMMARY
    body = response.content.decode()
    assert 'data-testid="saved-not-submitted"' in body and "Your draft is saved" in body
    assert "The executive summary does not pass its checks" in body
    results = checks_in(body)
    assert results["names_customer"] == "false" and results["length"] == "false"
    # From now on the form edits the saved draft, at its current revision.
    assert f'action="{url("edit", proposal.pk)}"' in body
    assert f'name="revision" value="{proposal.revision}"' in body
    assert BAD_SUMMARY in body and 'value="Scope"' in body


def test_submit_refused_for_a_past_date_and_no_sections(logged_in, rep, deal):
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    post = form_post(deal, valid_until=yesterday, action="submit", sections=[])
    response = logged_in(rep).post(url("create", deal.pk), post)
    assert response.status_code == 422
    body = response.content.decode()
    assert "The validity date has passed" in body
    assert "Add at least one section" in body
    assert Proposal.objects.get(opportunity=deal).status == ProposalStatus.DRAFT


def test_resubmitting_after_the_fix_goes_to_review(logged_in, rep, deal):
    client = logged_in(rep)
    client.post(
        url("create", deal.pk), form_post(deal, executive_summary=BAD_SUMMARY, action="submit")
    )
    proposal = Proposal.objects.get(opportunity=deal)
    post = form_post(deal, action="submit", revision=str(proposal.revision))
    response = client.post(url("edit", proposal.pk), post)
    assert response.status_code == 302
    assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.IN_REVIEW


# --- edit -------------------------------------------------------------------------------------


def test_edit_form_shows_the_stored_proposal(logged_in, rep, draft):
    response = logged_in(rep).get(url("edit", draft.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'value="{draft.title}"' in body and 'value="Pricing"' in body
    assert f'name="revision" value="{draft.revision}"' in body
    assert checks_in(body)


def test_edit_saves_and_replaces_the_sections(logged_in, rep, deal, draft):
    post = form_post(
        deal,
        title="Revised",
        revision=str(draft.revision),
        sections=[{"heading": "Only one", "body": "Now."}],
    )
    response = logged_in(rep).post(url("edit", draft.pk), post)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title == "Revised"
    assert [s.heading for s in draft.sections.all()] == ["Only one"]


def test_edit_with_a_stale_revision_keeps_the_input(logged_in, rep, deal, draft):
    services.proposal_update(actor=rep, proposal_id=draft.pk, title="Changed elsewhere")
    post = form_post(deal, title="Mine", revision=str(draft.revision))
    response = logged_in(rep).post(url("edit", draft.pk), post)
    assert response.status_code == 422
    body = response.content.decode()
    assert "changed by someone else" in body and 'value="Mine"' in body
    assert Proposal.objects.get(pk=draft.pk).title == "Changed elsewhere"
    # The form now carries the current revision: saving again is deliberate and works.
    current = Proposal.objects.get(pk=draft.pk).revision
    assert f'name="revision" value="{current}"' in body


@pytest.mark.parametrize("who", ["manager", "leader"])
def test_edit_is_for_the_owner_only(request, logged_in, deal, draft, who):
    client = logged_in(request.getfixturevalue(who))
    response = client.get(url("edit", draft.pk))
    assert response.status_code == 302 and response["Location"] == url("detail", draft.pk)
    response = client.post(url("edit", draft.pk), form_post(deal, title="Hijacked"))
    assert response.status_code == 422
    assert Proposal.objects.get(pk=draft.pk).title != "Hijacked"


def test_in_review_cannot_be_edited(logged_in, rep, deal, in_review):
    client = logged_in(rep)
    response = client.get(url("edit", in_review.pk))
    assert response.status_code == 302 and response["Location"] == url("detail", in_review.pk)
    response = client.post(url("edit", in_review.pk), form_post(deal, title="Sneaky"))
    assert response.status_code == 422
    assert "in review" in response.content.decode()
    assert Proposal.objects.get(pk=in_review.pk).title != "Sneaky"


# --- the proposal page: actions -----------------------------------------------------------------


def test_owner_sees_the_buttons_the_state_allows(logged_in, rep, draft):
    body = logged_in(rep).get(url("detail", draft.pk)).content.decode()
    for testid in ("edit", "submit", "delete", "print"):
        assert f'data-testid="{testid}"' in body
    for testid in ("mark-sent", "new-version", "review-card"):
        assert f'data-testid="{testid}"' not in body


def test_submit_from_the_page(logged_in, rep, draft):
    response = logged_in(rep).post(url("submit", draft.pk))
    assert response.status_code == 302 and response["Location"] == url("detail", draft.pk)
    assert Proposal.objects.get(pk=draft.pk).status == ProposalStatus.IN_REVIEW


def test_submit_from_the_page_refused_shows_the_failing_checks(logged_in, rep, deal):
    proposal = create(rep, deal, executive_summary=BAD_SUMMARY)
    response = logged_in(rep).post(url("submit", proposal.pk))
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-testid="action-error"' in body
    assert "does not pass its checks" in body
    assert checks_in(body)["names_customer"] == "false"
    assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.DRAFT


def test_manager_sees_the_review_form_only_while_in_review(logged_in, manager, draft, checklist):
    client = logged_in(manager)
    assert 'data-testid="review-card"' not in client.get(url("detail", draft.pk)).content.decode()
    services.proposal_submit(actor=draft.opportunity.owner, proposal_id=draft.pk)
    body = client.get(url("detail", draft.pk)).content.decode()
    assert 'data-testid="review-card"' in body
    for item in checklist:
        assert f'value="{item.pk}"' in body
    assert 'data-testid="edit"' not in body  # not the manager's to edit


def test_manager_approves(logged_in, rep, manager, in_review, checklist):
    response = logged_in(manager).post(
        url("approve", in_review.pk),
        {"checklist": [i.pk for i in checklist], "comment": "Good to go."},
    )
    assert response.status_code == 302 and response["Location"] == url("detail", in_review.pk)
    proposal = Proposal.objects.get(pk=in_review.pk)
    assert proposal.status == ProposalStatus.APPROVED and proposal.approved_by == manager
    note = Notification.objects.get(recipient=rep, title__startswith="Proposal approved")
    assert note.link == url("detail", in_review.pk)
    body = logged_in(rep).get(url("detail", in_review.pk)).content.decode()
    assert "Good to go." in body and 'data-testid="proposal-status">Approved<' in body


def test_approve_needs_every_checklist_item(logged_in, manager, in_review, checklist):
    ticked = [checklist[0].pk, checklist[2].pk]
    response = logged_in(manager).post(url("approve", in_review.pk), {"checklist": ticked})
    assert response.status_code == 422
    body = response.content.decode()
    assert "Confirm every item before approving" in body
    assert f'value="{checklist[0].pk}" id="checklist-{checklist[0].pk}" checked' in body
    assert f'value="{checklist[1].pk}" id="checklist-{checklist[1].pk}">' in body
    assert Proposal.objects.get(pk=in_review.pk).status == ProposalStatus.IN_REVIEW
    assert not ProposalReview.objects.exists()


def test_request_changes_needs_a_comment(logged_in, rep, manager, in_review, checklist):
    client = logged_in(manager)
    response = client.post(url("request_changes", in_review.pk), {"comment": "  "})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert Proposal.objects.get(pk=in_review.pk).status == ProposalStatus.IN_REVIEW
    response = client.post(url("request_changes", in_review.pk), {"comment": "Lower the price."})
    assert response.status_code == 302
    assert Proposal.objects.get(pk=in_review.pk).status == ProposalStatus.CHANGES_REQUESTED
    # The owner can edit it again.
    assert logged_in(rep).get(url("edit", in_review.pk)).status_code == 200


def test_rep_cannot_approve_their_own(logged_in, rep, in_review, checklist):
    response = logged_in(rep).post(
        url("approve", in_review.pk), {"checklist": [i.pk for i in checklist]}
    )
    assert response.status_code == 422
    assert "You cannot review a proposal for your own deal" in response.content.decode()
    assert Proposal.objects.get(pk=in_review.pk).status == ProposalStatus.IN_REVIEW
    assert not ProposalReview.objects.exists()


def test_leader_may_review(logged_in, leader, in_review, checklist):
    response = logged_in(leader).post(
        url("approve", in_review.pk), {"checklist": [i.pk for i in checklist]}
    )
    assert response.status_code == 302
    assert Proposal.objects.get(pk=in_review.pk).status == ProposalStatus.APPROVED


def test_mark_sent_freezes_it(logged_in, rep, approved):
    client = logged_in(rep)
    body = client.get(url("detail", approved.pk)).content.decode()
    assert 'data-testid="mark-sent"' in body and 'data-testid="edit"' not in body
    response = client.post(url("mark_sent", approved.pk))
    assert response.status_code == 302
    assert Proposal.objects.get(pk=approved.pk).status == ProposalStatus.SENT
    body = client.get(url("detail", approved.pk)).content.decode()
    assert 'data-testid="frozen"' in body
    for testid in ("edit", "submit", "mark-sent", "delete"):
        assert f'data-testid="{testid}"' not in body
    assert 'data-testid="new-version"' in body
    assert client.get(url("edit", approved.pk)).status_code == 302
    assert client.post(url("mark_sent", approved.pk)).status_code == 422


def test_new_version_copies_into_a_draft(logged_in, rep, approved):
    services.proposal_mark_sent(actor=rep, proposal_id=approved.pk)
    response = logged_in(rep).post(url("new_version", approved.pk))
    copy = Proposal.objects.get(opportunity=approved.opportunity, number=2)
    assert response.status_code == 302 and response["Location"] == url("edit", copy.pk)
    assert copy.status == ProposalStatus.DRAFT and copy.title == approved.title
    assert [s.heading for s in copy.sections.all()] == ["Scope", "Pricing"]


def test_new_version_of_a_draft_is_refused(logged_in, rep, draft):
    response = logged_in(rep).post(url("new_version", draft.pk))
    assert response.status_code == 422
    assert "edit it instead" in response.content.decode()
    assert Proposal.objects.count() == 1


def test_delete_a_draft(logged_in, rep, deal, draft):
    response = logged_in(rep).post(url("delete", draft.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("pipeline:opportunity_detail", args=[deal.pk]) + (
        "#proposals"
    )
    assert not Proposal.objects.exists()


def test_delete_after_submission_is_refused(logged_in, rep, in_review):
    response = logged_in(rep).post(url("delete", in_review.pk))
    assert response.status_code == 422
    assert "never submitted" in response.content.decode()
    assert Proposal.objects.filter(pk=in_review.pk).exists()


def test_delete_by_the_manager_is_refused(logged_in, manager, draft):
    assert logged_in(manager).post(url("delete", draft.pk)).status_code == 422
    assert Proposal.objects.filter(pk=draft.pk).exists()


# --- comments -------------------------------------------------------------------------------


def test_comment_on_a_section_and_on_the_whole(logged_in, rep, manager, in_review):
    section = in_review.sections.get(heading="Pricing")
    client = logged_in(manager)
    response = client.post(
        url("comment", in_review.pk), {"body": "Too low?", "section": section.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == url("detail", in_review.pk) + f"#section-{section.pk}"
    response = client.post(url("comment", in_review.pk), {"body": "Nice work overall."})
    assert response["Location"] == url("detail", in_review.pk) + "#comments"
    assert ProposalComment.objects.filter(section=section).count() == 1
    body = logged_in(rep).get(url("detail", in_review.pk)).content.decode()
    pricing = body[body.index(f'id="section-{section.pk}"') :]
    assert "Too low?" in pricing[: pricing.index("</section>")]
    assert "Nice work overall." in body[body.index('id="comments"') :]
    assert Notification.objects.filter(recipient=rep, title__startswith="Comment on").count() == 2


def test_empty_comment_is_refused_next_to_its_section(logged_in, manager, in_review):
    section = in_review.sections.get(heading="Scope")
    response = logged_in(manager).post(
        url("comment", in_review.pk), {"body": "", "section": section.pk}
    )
    assert response.status_code == 422
    body = response.content.decode()
    scope = body[body.index(f'id="section-{section.pk}"') :]
    assert "This field is required." in scope[: scope.index("</section>")]
    assert not ProposalComment.objects.exists()


def test_comment_on_a_section_of_another_proposal_is_refused(logged_in, rep, manager, in_review):
    other = create(manager, OpportunityFactory(owner=manager, stage=in_review.opportunity.stage))
    foreign = other.sections.first()
    response = logged_in(manager).post(
        url("comment", in_review.pk), {"body": "Hi", "section": foreign.pk}
    )
    assert response.status_code == 422
    assert "No such section in this proposal." in response.content.decode()


def test_leader_comments_but_an_outsider_cannot(logged_in, leader, other_manager, in_review):
    assert logged_in(leader).post(url("comment", in_review.pk), {"body": "OK"}).status_code == 302
    client = Client()
    client.force_login(other_manager)
    assert client.post(url("comment", in_review.pk), {"body": "OK"}).status_code == 404


# --- escaping -------------------------------------------------------------------------------------


def test_user_text_is_escaped_everywhere(logged_in, rep, manager, deal, checklist):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    proposal = create(
        rep,
        deal,
        title=f"Title {evil}",
        executive_summary=f"Acme Logistics {evil}\nsecond line",
        sections=[{"heading": f"H {evil}", "body": f"B {evil}"}],
    )
    services.proposal_comment_add(actor=rep, proposal_id=proposal.pk, body=f"C {evil}")
    client = logged_in(rep)
    pages = [
        client.get(url("detail", proposal.pk)),
        client.get(url("print", proposal.pk)),
        client.get(url("list")),
        client.get(url("edit", proposal.pk)),
        client.get(reverse("pipeline:opportunity_detail", args=[deal.pk])),
    ]
    for response in pages:
        body = response.content.decode()
        assert response.status_code == 200
        assert "<script>alert" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "Acme Logistics &lt;script&gt;" in pages[0].content.decode()
    assert "second line" in pages[0].content.decode().split("<br>")[1]


# --- print --------------------------------------------------------------------------------------


def test_print_page(logged_in, rep, manager, approved):
    response = logged_in(manager).get(url("print", approved.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "css/print.css" in body and "bootstrap" not in body
    assert "so-navbar" not in body and "Sign out" not in body
    assert 'data-testid="print-customer">Acme Logistics GmbH<' in body
    assert approved.valid_until.strftime("%-d %B %Y") in body
    assert body.count('data-testid="print-section"') == 2
    assert "Invoice matching for all suppliers." in body
    assert 'data-testid="print-draft"' not in body  # approved: no draft marker


def test_print_page_of_a_draft_says_draft(logged_in, rep, draft):
    body = logged_in(rep).get(url("print", draft.pk)).content.decode()
    assert 'data-testid="print-draft"' in body


def test_print_stylesheet_is_a4_and_keeps_sections_together():
    from django.contrib.staticfiles import finders

    css = Path(finders.find("css/print.css")).read_text(encoding="utf-8")
    assert "size: A4" in css and "@media print" in css
    assert "break-inside: avoid" in css


# --- the opportunity page -------------------------------------------------------------------------


def test_opportunity_page_lists_versions_and_offers_new_proposal(logged_in, rep, manager, deal):
    client = logged_in(rep)
    body = client.get(reverse("pipeline:opportunity_detail", args=[deal.pk])).content.decode()
    assert 'data-testid="proposals-card"' in body and 'data-testid="new-proposal"' in body
    assert "No proposal yet" in body
    proposal = create(rep, deal)
    body = client.get(reverse("pipeline:opportunity_detail", args=[deal.pk])).content.decode()
    card = body[body.index('data-testid="proposals-card"') :]
    assert url("detail", proposal.pk) in card and "v1 · " in card and ">Draft<" in card
    assert 'data-testid="new-proposal"' not in card  # one version in progress at a time
    body = logged_in(manager).get(reverse("pipeline:opportunity_detail", args=[deal.pk]))
    body = body.content.decode()
    assert url("detail", proposal.pk) in body and 'data-testid="new-proposal"' not in body


def test_closed_deal_offers_no_new_proposal(logged_in, rep, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.lost,
        status="lost",
        closed_at=timezone.now(),
        loss_reason="No budget",
    )
    BusinessIssueFactory(opportunity=opp)
    client = logged_in(rep)
    body = client.get(reverse("pipeline:opportunity_detail", args=[opp.pk])).content.decode()
    assert 'data-testid="new-proposal"' not in body
    assert client.get(url("create", opp.pk)).status_code == 302
