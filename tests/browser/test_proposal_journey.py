"""A proposal's journey in a real browser: the rep writes it against the live checklist and
submits it; the manager reviews and approves it; the rep sees it approved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from proposals.models import Proposal, ProposalStatus, ReviewChecklistItem
from salesops.models import Notification
from tests.factories import AccountFactory, BusinessIssueFactory, OpportunityFactory
from tests.proposals.conftest import GOOD_SUMMARY

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"
# Names the customer, but says nothing of their issue, its value or an outcome.
WEAK_SUMMARY = "Acme Logistics will love our platform. It is modern and easy to use."
CHECKLIST = [
    "Pricing and discounts are approved",
    "Scope and deliverables are clear",
    "Next steps and the decision date are agreed with the customer",
    "Terms are standard, or the exceptions are approved",
]


def sign_in(page, live_server, username: str, password: str = "secret-pass-123") -> None:
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("pipeline:board"))


def check(page, code: str):
    return page.locator(f"#summary-checks [data-check={code}]")


def test_rep_writes_submits_manager_approves(page, live_server, rep, manager, pipeline):
    # The live server's database is flushed between tests: make sure the seeded
    # reviewer checklist is there.
    for order, text in enumerate(CHECKLIST, start=1):
        ReviewChecklistItem.objects.get_or_create(text=text, defaults={"order": order})
    deal = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        name="Acme finance automation",
        account=AccountFactory(name="Acme Logistics GmbH"),
    )
    # The business issue the summary must restate, with its value.
    BusinessIssueFactory(
        opportunity=deal,
        issue="Manual invoice matching costs 3 FTE",
        our_value="Automated matching frees 2 FTE",
        quantified_value=140000,
    )

    # --- the rep opens the deal and starts a proposal
    sign_in(page, live_server, "rep")
    page.goto(live_server.url + reverse("pipeline:opportunity_detail", args=[deal.pk]))
    assert "No proposal yet" in page.locator("[data-testid=proposals-card]").inner_text()
    page.click("[data-testid=new-proposal]")
    page.wait_for_url(f"**/opportunities/{deal.pk}/proposals/new/")
    page.evaluate("window.__marker = 'same page'")
    # Nothing typed yet: every check is still open.
    assert page.locator("#summary-checks [data-passed=true]").count() == 0

    # A weak summary: the live checklist (debounced, no reload) names what is missing.
    page.fill("#id_title", "Finance automation for Acme Logistics")
    page.locator("#id_executive_summary").fill(WEAK_SUMMARY)
    page.wait_for_selector("#summary-checks [data-check=names_customer][data-passed=true]")
    assert check(page, "restates_issue").get_attribute("data-passed") == "false"
    assert check(page, "quantified_outcome").get_attribute("data-passed") == "false"
    assert check(page, "length").get_attribute("data-passed") == "false"
    assert "Manual invoice matching" in check(page, "restates_issue").inner_text()
    assert page.evaluate("window.__marker") == "same page"
    page.screenshot(path=f"{SCREENSHOTS}/salesops-proposal-checklist-failing.png", full_page=True)

    # Fix it until the checklist passes.
    page.locator("#id_executive_summary").fill(GOOD_SUMMARY)
    page.wait_for_selector("#summary-checks[data-state=passed]")
    assert page.locator("#summary-checks [data-passed=false]").count() == 0
    assert "Ready to submit" in page.locator("#summary-checks").inner_text()

    # Two sections: the second one added with "Add section" (no reload).
    page.fill("#id_sections-0-heading", "Scope")
    page.fill("#id_sections-0-body", "Invoice matching for all suppliers.")
    page.click("[data-testid=add-section]")
    page.wait_for_selector("#id_sections-1-heading")
    page.fill("#id_sections-1-heading", "Pricing")
    page.fill("#id_sections-1-body", "48,000 EUR, paid in two instalments.")
    assert page.input_value("#id_sections-0-heading") == "Scope"  # kept through the swap
    assert page.evaluate("window.__marker") == "same page"
    page.screenshot(path=f"{SCREENSHOTS}/salesops-proposal-form.png", full_page=True)

    page.click("[data-testid=save-submit]")
    proposal = Proposal.objects.get(opportunity=deal)
    page.wait_for_url(f"**/proposals/{proposal.pk}/")
    assert page.locator("[data-testid=proposal-status]").first.inner_text() == "In review"
    assert "submitted for review" in page.locator(".so-messages").inner_text()
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.IN_REVIEW
    assert [s.heading for s in proposal.sections.all()] == ["Scope", "Pricing"]

    # --- the manager reviews it from the queue
    sign_in(page, live_server, "manager")
    page.click("[data-testid=nav-reviews]")
    page.wait_for_url("**/proposals/review/")
    page.click("[data-testid=review-table] >> text=Finance automation for Acme Logistics")
    page.wait_for_url(f"**/proposals/{proposal.pk}/")
    review = page.locator("[data-testid=review-card]")
    # Approving with an item left unconfirmed is refused, naming it; the ticks stay.
    boxes = review.locator("input[name=checklist]")
    assert boxes.count() == len(CHECKLIST)
    for i in range(boxes.count() - 1):
        boxes.nth(i).check()
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=review-card] .invalid-feedback")
    assert CHECKLIST[-1] in page.locator("[data-testid=review-card]").inner_text()
    assert page.locator("[data-testid=review-card] input[name=checklist]").nth(0).is_checked()
    assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.IN_REVIEW
    # Confirm every item and approve.
    boxes = page.locator("[data-testid=review-card] input[name=checklist]")
    for i in range(boxes.count()):
        boxes.nth(i).check()
    page.fill("[data-testid=review-card] textarea[name=comment]", "Clear and well argued.")
    page.screenshot(path=f"{SCREENSHOTS}/salesops-proposal-review.png", full_page=True)
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=proposal-status]:has-text('Approved')")
    assert page.locator("[data-testid=review-card]").count() == 0
    assert Proposal.objects.get(pk=proposal.pk).status == ProposalStatus.APPROVED

    # --- the rep sees it approved, and was notified
    sign_in(page, live_server, "rep")
    assert Notification.objects.filter(
        recipient=rep, title__startswith="Proposal approved"
    ).exists()
    assert page.locator("[data-testid=nav-bell]").get_attribute("aria-label").endswith("unread")
    page.click("[data-testid=nav-bell]")
    page.wait_for_url("**/notifications/")
    page.click("text=Proposal approved: Finance automation for Acme Logistics")
    page.wait_for_url(f"**/proposals/{proposal.pk}/")
    assert page.locator("[data-testid=proposal-status]").first.inner_text() == "Approved"
    reviews = page.locator("[data-testid=reviews]").inner_text()
    assert "Clear and well argued." in reviews and "Approved" in reviews
    assert page.locator("[data-testid=mark-sent]").is_visible()
    assert page.locator("[data-testid=edit]").count() == 0
    page.screenshot(path=f"{SCREENSHOTS}/salesops-proposal-approved.png", full_page=True)

    # The printable page: no navigation, the customer and the validity on top.
    page.goto(live_server.url + reverse("proposals:print", args=[proposal.pk]))
    assert page.locator("nav").count() == 0
    assert page.locator("[data-testid=print-customer]").inner_text() == "Acme Logistics GmbH"
    page.emulate_media(media="print")
    page.screenshot(path=f"{SCREENSHOTS}/salesops-proposal-print.png", full_page=True)
