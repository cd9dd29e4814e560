"""A manager overrides a gate in a real browser and sends a reason of only spaces (the
textarea's `required` lets spaces through): the refusal says so under the reason, which
keeps the focus; with a real reason the deal moves. The same on Close as won. At 390 px
the message is on screen and the move panel fits the width (issue 16, item 8)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from pipeline.models import OpportunityChange
from tests.browser.test_pipeline_journey import SCREENSHOTS, sign_in
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.browser

BLANK_MESSAGE = "Write why the deal may move without these milestones"
# The elements of the move panel that stick out past the right edge of the window.
PANEL_OVERFLOW = """() => [...document.querySelectorAll('#advance-panel, #advance-panel *')]
    .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(el => el.tagName + '.' + el.className)"""


def _refused_blank(page) -> None:
    """Send only spaces as the reason and check the refusal is said under the reason."""
    reason = page.locator("#override-reason")
    reason.fill("   ")
    reason.evaluate("el => { el.dataset.sent = '1' }")  # the answer replaces this textarea
    page.get_by_role("button", name="Override and move").click()
    # The new reason has the focus (htmx focuses [autofocus] once the swap settles). A
    # locator, not wait_for_function: that evals its string, which the page's CSP refuses.
    expect(page.locator("#override-reason:not([data-sent])")).to_be_focused()
    error = page.get_by_test_id("override-error")
    assert BLANK_MESSAGE in error.inner_text()
    assert page.locator("#override-reason").input_value() == "   "  # what was typed is kept
    gate = page.get_by_test_id("gate-refused")
    assert "The override needs a reason" in gate.inner_text()
    # Scrolled to (smoothly: Bootstrap's scroll-behavior) where the user now looks.
    expect(error).to_be_in_viewport(ratio=1)


def test_manager_blank_override_is_refused_with_its_message(page, live_server, rep, pipeline):
    opp = OpportunityFactory(
        owner=rep, stage=pipeline.discover, name="Acme rollout", amount=Decimal("48500")
    )
    sign_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("pipeline:opportunity_detail", args=[opp.pk]))
    page.evaluate("window.__marker = 'same page'")

    page.get_by_test_id("advance").click()
    page.get_by_test_id("gate-refused").wait_for()
    _refused_blank(page)
    assert page.evaluate("window.__marker") == "same page"  # in place (htmx)
    opp.refresh_from_db()
    assert opp.stage == pipeline.discover
    page.screenshot(path=f"{SCREENSHOTS}/salesops-gate-override-blank-1440.png", full_page=True)

    # At 390 px the refusal is where the user looks, and the panel fits the width.
    page.set_viewport_size({"width": 390, "height": 844})
    _refused_blank(page)
    assert page.evaluate(PANEL_OVERFLOW) == []
    page.screenshot(path=f"{SCREENSHOTS}/salesops-gate-override-blank-390.png")
    page.set_viewport_size({"width": 1440, "height": 1000})

    # A real reason moves the deal and is recorded.
    page.locator("#override-reason").fill("Met the CFO myself; the budget is signed off")
    page.get_by_role("button", name="Override and move").click()
    page.wait_for_selector("[data-testid=stage-path] [aria-current=step]:has-text('Qualify')")
    change = OpportunityChange.objects.get(opportunity=opp, field="stage", old_value__gt="")
    assert change.override_reason == "Met the CFO myself; the budget is signed off"


def test_manager_blank_override_on_close_won(page, live_server, rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.qualify, name="Globex renewal")
    sign_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("pipeline:opportunity_detail", args=[opp.pk]))
    page.get_by_role("button", name="Close as won").click()
    page.get_by_test_id("gate-refused").wait_for()
    _refused_blank(page)
    opp.refresh_from_db()
    assert opp.status == "open"
