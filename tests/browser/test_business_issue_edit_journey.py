"""A rep fixes "Our value: not mapped yet" in place in a real browser (issue 16, item 6):
the issue's edit form maps our value, the automatic milestone "a business issue is mapped
to our value" turns met at once and the move panel's count follows; a refused edit keeps
what was typed; deleting asks first. At 390 px the card fits the width."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from pipeline.models import AutoCheck, BusinessIssue
from tests.browser.test_pipeline_journey import SCREENSHOTS, sign_in
from tests.factories import BusinessIssueFactory, MilestoneFactory, OpportunityFactory

pytestmark = pytest.mark.browser

VALUE = "Replenishment forecasts cut stock-outs by half"
# The elements of the business-issues card that stick out past the right edge.
CARD_OVERFLOW = """() => [...document.querySelectorAll('#business-issues, #business-issues *')]
    .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(el => el.tagName + '.' + el.className)"""


def test_rep_maps_the_value_in_place_and_the_milestone_follows(page, live_server, rep, pipeline):
    mapped = MilestoneFactory(
        stage=pipeline.discover,
        title="Business issue mapped to our value",
        auto_check=AutoCheck.BUSINESS_ISSUE_MAPPED,
        order=3,
    )
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Acme rollout")
    issue = BusinessIssueFactory(
        opportunity=opp, issue="Stock-outs cost 2 % of revenue", our_value=""
    )
    sign_in(page, live_server, "rep")
    page.goto(live_server.url + reverse("pipeline:opportunity_detail", args=[opp.pk]))
    page.evaluate("window.__marker = 'same page'")
    card = page.locator("#business-issues")
    summary = page.locator("#gate-summary")
    assert "not mapped yet" in card.inner_text()
    assert "3 required milestones" in summary.inner_text()
    assert "is-met" not in (page.locator(f"#ms-main-{mapped.pk}").get_attribute("class") or "")

    # Refused first (the issue emptied): the message at the field, what was typed kept.
    card.get_by_text("Edit — map our value").click()
    form = page.get_by_test_id("issue-edit")
    form.get_by_label("Business issue").fill("  ")
    form.get_by_label("Our value").fill(VALUE)
    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_test_id("issue-edit").locator(".invalid-feedback")).to_contain_text(
        "This field is required."
    )
    form = page.get_by_test_id("issue-edit")
    assert form.get_by_label("Our value").input_value() == VALUE
    assert BusinessIssue.objects.get(pk=issue.pk).our_value == ""

    # Mapped: the card, the automatic milestone and the move panel's count follow at once.
    form.get_by_label("Business issue").fill("Stock-outs cost 2 % of revenue")
    form.get_by_role("button", name="Save changes").click()
    expect(card).not_to_contain_text("not mapped yet")
    expect(card).to_contain_text(VALUE)
    expect(page.locator(f"#ms-main-{mapped.pk}")).to_have_class(re.compile(r"\bis-met\b"))
    expect(summary).to_contain_text("2 required milestones")
    assert page.evaluate("window.__marker") == "same page"  # in place (htmx)
    assert BusinessIssue.objects.get(pk=issue.pk).our_value == VALUE
    page.screenshot(path=f"{SCREENSHOTS}/salesops-issue-mapped-1440.png", full_page=True)

    # At 390 px the card with its edit form open fits the width.
    page.set_viewport_size({"width": 390, "height": 844})
    card.get_by_text("Edit", exact=True).click()
    expect(page.get_by_test_id("issue-edit")).to_be_visible()
    assert page.evaluate(CARD_OVERFLOW) == []
    card.scroll_into_view_if_needed()
    page.screenshot(path=f"{SCREENSHOTS}/salesops-issue-edit-390.png")
    page.set_viewport_size({"width": 1440, "height": 1000})

    # Deleting asks first; then the issue is gone and the milestone is open again.
    card.get_by_text("Delete…").click()
    delete = page.get_by_test_id("issue-delete")
    expect(delete).to_contain_text("Delete “Stock-outs cost 2 % of revenue”?")
    delete.get_by_role("button", name="Yes, delete it").click()
    expect(card).to_contain_text("No business issue recorded yet")
    expect(summary).to_contain_text("3 required milestones")
    assert not BusinessIssue.objects.filter(pk=issue.pk).exists()
