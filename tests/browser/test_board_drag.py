"""Moving a deal on the board in a real browser: drag, get refused, complete, retry."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from pipeline import services
from pipeline.models import MilestoneCompletion, OpportunityChange
from tests.browser.test_pipeline_journey import SCREENSHOTS, sign_in
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.browser


def card_in(page, stage: str, opp) -> str:
    return f"section.so-column[data-stage='{stage}'] [data-card='{opp.pk}']"


def test_rep_drags_a_card_is_refused_completes_the_gate_and_retries(
    page, live_server, rep, pipeline
):
    opp = OpportunityFactory(
        owner=rep, stage=pipeline.discover, name="Acme rollout", amount=Decimal("48500")
    )
    OpportunityFactory(owner=rep, stage=pipeline.qualify, name="Globex pilot")
    pain = pipeline.discover.milestones.get(title="Pain identified")
    buyer = pipeline.discover.milestones.get(requires_evidence=True)

    sign_in(page, live_server, "rep")
    page.evaluate("window.__marker = 'same page'")
    assert page.locator(card_in(page, "Discover", opp)).count() == 1

    # Drop on Qualify: refused; the dialog names exactly what is missing.
    page.drag_and_drop(f"[data-card='{opp.pk}']", "section.so-column[data-stage='Qualify']")
    dialog = page.locator("#board-move")
    dialog.locator("[data-testid=missing-milestones]").wait_for()
    page.wait_for_selector("#board-move.show")
    missing = dialog.locator("[data-testid=missing-milestones]").inner_text()
    assert pain.title in missing and buyer.title in missing
    assert "Move “Acme rollout” to Qualify" in dialog.inner_text()
    assert dialog.locator("textarea[name=override_reason]").count() == 0  # no override for a rep
    assert page.locator(card_in(page, "Discover", opp)).count() == 1  # the card stayed
    assert page.locator(card_in(page, "Qualify", opp)).count() == 0
    page.wait_for_timeout(400)  # let the dialog's fade-in finish before the screenshot
    page.screenshot(path=f"{SCREENSHOTS}/salesops-board-refused.png")
    opp.refresh_from_db()
    assert opp.stage == pipeline.discover

    # Complete both right there, in the dialog.
    page.locator(f"#ms-board-{pain.pk}-done").check()
    page.wait_for_selector(f"#ms-board-{pain.pk}.is-met")
    page.locator(f"#ms-board-{buyer.pk} textarea[name=evidence]").fill(
        "CFO Jane Roe: 'fixing invoice matching is a 2025 priority' (email 3 March)"
    )
    page.locator(f"#ms-board-{buyer.pk}-done").check()
    page.wait_for_selector(f"#ms-board-{buyer.pk}.is-met")
    assert MilestoneCompletion.objects.filter(opportunity=opp).count() == 2

    # Retry from the dialog: the card lands in Qualify, the dialog closes, counts follow.
    dialog.locator("[data-testid=retry-move]").click()
    page.wait_for_selector(card_in(page, "Qualify", opp))
    page.wait_for_selector("#board-move", state="hidden")
    page.wait_for_selector(".modal-backdrop", state="detached")  # the board is usable again
    assert page.locator(card_in(page, "Discover", opp)).count() == 0
    discover = page.locator("section.so-column[data-stage='Discover']")
    qualify = page.locator("section.so-column[data-stage='Qualify']")
    assert discover.locator("[data-testid=column-count]").inner_text() == "0"
    assert qualify.locator("[data-testid=column-count]").inner_text() == "2"
    assert "Moved “Acme rollout” to Qualify." in page.locator("#board-status").inner_text()
    assert page.evaluate("window.__marker") == "same page"  # no reload
    opp.refresh_from_db()
    assert opp.stage == pipeline.qualify
    page.screenshot(path=f"{SCREENSHOTS}/salesops-board-moved.png")


def test_keyboard_moves_a_card_with_its_move_control(page, live_server, rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Acme rollout")
    for m in pipeline.discover.milestones.all():
        services.milestone_complete(
            opportunity_id=opp.pk, milestone_id=m.pk, actor=rep, evidence="CFO said so by email"
        )
    sign_in(page, live_server, "rep")

    # Tab to the card's "Move…" control, open it, pick Qualify, submit — all by keyboard.
    summary = page.locator(f"[data-card='{opp.pk}'] summary")
    summary.focus()
    page.keyboard.press("Enter")
    select = page.locator(f"[data-card='{opp.pk}'] select[name=stage]")
    select.wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "stage"
    select.select_option(label="Qualify")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    page.wait_for_selector(card_in(page, "Qualify", opp))
    # Focus followed the card to its new column. (A locator, not wait_for_function: that
    # evals its string while polling, which the page's CSP refuses.)
    expect(page.locator(f"[data-card='{opp.pk}']:focus-within")).to_have_count(1)
    opp.refresh_from_db()
    assert opp.stage == pipeline.qualify
    assert OpportunityChange.objects.filter(opportunity=opp, field="stage").exists()
