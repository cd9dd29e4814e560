"""A forecast category set by hand in a real browser: the rep overrides it with a reason,
moves the stage, is asked, and keeps it; on the board a drop asks in the move dialog."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from pipeline import services
from pipeline.models import OpportunityChange
from tests.browser.test_board_drag import card_in
from tests.browser.test_pipeline_journey import SCREENSHOTS, sign_in
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.browser


def qualify_met(opp, rep):
    for m in opp.stage.milestones.all():
        services.milestone_complete(
            opportunity_id=opp.pk, milestone_id=m.pk, actor=rep, evidence="Mapped with the CFO"
        )


def test_rep_overrides_the_category_moves_is_asked_and_keeps_it(page, live_server, rep, pipeline):
    opp = OpportunityFactory(
        owner=rep, stage=pipeline.qualify, name="Acme rollout", amount=Decimal("48500")
    )
    qualify_met(opp, rep)
    sign_in(page, live_server, "rep")
    page.goto(live_server.url + reverse("pipeline:opportunity_detail", args=[opp.pk]))

    # Set the forecast category by hand, with the reason.
    page.select_option("#id_forecast_category", "commit")
    page.fill("#id_forecast_category_override_reason", "Signed LOI, PO in procurement")
    page.click("#edit button[type=submit]")
    page.wait_for_selector(".so-keyfacts >> text=Commit")
    opp.refresh_from_db()
    assert (opp.forecast_category, opp.forecast_category_override_reason) == (
        "commit",
        "Signed LOI, PO in procurement",
    )

    # Advance: Proposal defaults to Best case, so the move asks instead of deciding.
    page.evaluate("window.__marker = 'same page'")
    page.click("[data-testid=advance]")
    question = page.locator("[data-testid=category-question]")
    question.wait_for()
    text = question.inner_text()
    assert "set by hand to Commit (reason: Signed LOI, PO in procurement)" in text
    assert "Stage 'Proposal' defaults to Best case. Keep Commit or use Best case?" in text
    assert page.evaluate("window.__marker") == "same page"  # asked in place (htmx)
    opp.refresh_from_db()
    assert opp.stage == pipeline.qualify  # nothing moved yet
    page.screenshot(path=f"{SCREENSHOTS}/salesops-category-question.png")

    # Keep Commit: the deal moves, the manual category and its reason stay.
    question.get_by_label("Keep Commit").check()
    question.locator("[data-testid=category-decide]").click()
    page.wait_for_selector(".so-path-step.is-current >> text=Proposal")
    assert "Commit" in page.locator(".so-keyfacts").inner_text()
    opp.refresh_from_db()
    assert opp.stage == pipeline.proposal
    assert (opp.forecast_category, opp.forecast_category_override_reason) == (
        "commit",
        "Signed LOI, PO in procurement",
    )


def test_board_drop_asks_and_follows_the_stage(page, live_server, rep, pipeline):
    opp = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        name="Globex pilot",
        forecast_category="commit",
        forecast_category_override_reason="Verbal yes",
    )
    qualify_met(opp, rep)
    sign_in(page, live_server, "rep")
    page.evaluate("window.__marker = 'same page'")

    page.drag_and_drop(f"[data-card='{opp.pk}']", "section.so-column[data-stage='Proposal']")
    dialog = page.locator("#board-move")
    dialog.locator("[data-testid=category-question]").wait_for()
    page.wait_for_selector("#board-move.show")
    assert "Keep Commit or use Best case?" in dialog.inner_text()
    assert page.locator(card_in(page, "Qualify", opp)).count() == 1  # the card stayed

    dialog.get_by_label("Use Best case").check()
    dialog.locator("[data-testid=category-decide]").click()
    page.wait_for_selector(card_in(page, "Proposal", opp))
    page.wait_for_selector("#board-move", state="hidden")
    assert page.evaluate("window.__marker") == "same page"  # no reload
    opp.refresh_from_db()
    assert (opp.stage, opp.forecast_category, opp.forecast_category_override_reason) == (
        pipeline.proposal,
        "best_case",
        "",
    )
    assert OpportunityChange.objects.get(
        opportunity=opp, field="forecast_category", changed_by=rep
    ).note.startswith("Manual override replaced")
