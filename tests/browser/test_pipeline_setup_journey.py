"""An administrator sets up a real company's pipeline and quotas in a real browser: a
pipeline from the "new_business" template, a stage renamed and a milestone added in
place (htmx), which a deal in that stage then shows; the quotas of a quarter typed into
the grid, a refused cell, saved. Screenshots at 1440 and 390 px; at 390 px the page
itself never scrolls sideways (a wide table scrolls inside its card)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from forecasting.models import Quota
from pipeline.models import Milestone, Stage
from tests.factories import OpportunityFactory, TeamFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"
NEW_MILESTONE = "Security review booked with the customer's IT"


def sign_in(page, live_server, username: str, password: str = "secret-pass-123") -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("pipeline:board"))


def page_fits(page) -> bool:
    """No sideways scrolling of the page itself."""
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def screenshots(page, name: str) -> None:
    page.screenshot(path=f"{SCREENSHOTS}/salesops-{name}-1440.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page_fits(page), f"{name} scrolls sideways at 390 px"
    page.screenshot(path=f"{SCREENSHOTS}/salesops-{name}-390.png", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_admin_sets_up_a_pipeline_from_the_template(page, live_server, admin_user, rep):
    sign_in(page, live_server, "admin")
    page.goto(live_server.url + reverse("pipeline:pipeline_setup_list"))
    form = page.get_by_test_id("template-form")
    form.get_by_label("New business", exact=False).check()
    form.get_by_label("Name of the new pipeline").fill("Acme new business")
    form.get_by_role("button", name="Create pipeline").click()
    page.wait_for_url("**/setup/pipelines/*/")
    assert "Acme new business” created with 7 stages" in page.inner_text("main")
    cards = page.get_by_test_id("stage-card")
    assert cards.count() == 7

    # Rename "Qualify" in place: the form replaces the card, the list comes back.
    qualify = page.locator("[data-testid=stage-card][data-stage='Qualify']")
    qualify.get_by_test_id("stage-edit").click()
    stage_form = page.get_by_test_id("stage-form-card")
    stage_form.get_by_label("Name").fill("Qualification")
    stage_form.get_by_label("Probability, %").fill("250")
    stage_form.get_by_role("button", name="Save stage").click()
    # Refused at the field, with what was typed kept.
    error = stage_form.locator(".invalid-feedback", has_text="from 0 to 100")
    error.wait_for()
    assert stage_form.get_by_label("Name").input_value() == "Qualification"
    screenshots(page, "pipeline-editor-stage-refused")
    stage_form.get_by_label("Probability, %").fill("25")
    stage_form.get_by_role("button", name="Save stage").click()
    page.get_by_test_id("notice").filter(has_text="Stage “Qualification” saved.").wait_for()
    renamed = page.locator("[data-testid=stage-card][data-stage='Qualification']")
    assert "25 %" in renamed.inner_text()

    # Add a milestone to it, in place.
    renamed.get_by_test_id("add-milestone").click()
    new = renamed.get_by_test_id("new-milestone")
    new.get_by_label("Title").fill(NEW_MILESTONE)
    new.get_by_label("Buyer commitment").check()
    new.get_by_label("Requires evidence").check()
    new.scroll_into_view_if_needed()
    screenshots(page, "pipeline-editor-new-milestone")
    new.get_by_role("button", name="Add milestone").click()
    page.get_by_test_id("notice").filter(has_text="added to “Qualification”").wait_for()
    titles = page.locator("[data-testid=stage-card][data-stage='Qualification']").get_by_test_id(
        "milestone-title"
    )
    assert titles.all_inner_texts()[-1] == NEW_MILESTONE
    stage = Stage.objects.get(pipeline__name="Acme new business", name="Qualification")
    milestone = Milestone.objects.get(title=NEW_MILESTONE)
    assert (milestone.stage_id, milestone.kind, milestone.requires_evidence) == (
        stage.pk,
        "buyer_commitment",
        True,
    )

    # Move it down and back: the arrows.
    page.locator("[data-testid=stage-card][data-stage='Qualification']").get_by_test_id(
        "stage-down"
    ).click()
    page.get_by_test_id("notice").filter(has_text="is now stage 3").wait_for()
    page.locator("[data-testid=stage-card][data-stage='Qualification']").get_by_test_id(
        "stage-up"
    ).click()
    page.get_by_test_id("notice").filter(has_text="is now stage 2").wait_for()

    screenshots(page, "pipeline-editor")

    # A deal in that stage shows the new milestone on its page.
    deal = OpportunityFactory(owner=rep, stage=stage, name="Globex rollout")
    page.goto(live_server.url + reverse("pipeline:opportunity_detail", kwargs={"pk": deal.pk}))
    assert NEW_MILESTONE in page.inner_text("main")


def test_admin_sets_the_quotas_of_a_quarter(page, live_server, admin_user, rep, teammate, team_a):
    TeamFactory(name="Team A1", parent=team_a)
    sign_in(page, live_server, "admin")
    page.goto(live_server.url + reverse("forecasting:quota_list") + "?period=2026-Q3")
    assert "Quotas · 2026-Q3" in page.inner_text("h1")

    grid = page.get_by_test_id("quota-form")
    grid.get_by_label(f"Quota of {rep}", exact=True).fill("120000")
    grid.get_by_label(f"Quota of {teammate}", exact=True).fill("-10")
    grid.get_by_label("Quota of Team A", exact=True).fill("300000")
    grid.get_by_test_id("quota-save").click()
    # Refused: the cell says why, nothing is saved, what was typed is kept.
    page.get_by_test_id("refusal").wait_for()
    assert "The amount cannot be negative." in page.get_by_test_id("cell-error").inner_text()
    assert not Quota.objects.exists()
    assert grid.get_by_label(f"Quota of {rep}", exact=True).input_value() == "120000"

    grid.get_by_label(f"Quota of {teammate}", exact=True).fill("90000")
    grid.get_by_test_id("quota-save").click()
    page.get_by_text("Quotas of 2026-Q3: 3 set.").wait_for()
    assert sorted(Quota.objects.values_list("amount", flat=True)) == [90000, 120000, 300000]

    screenshots(page, "quotas")
