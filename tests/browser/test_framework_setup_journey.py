"""A sales leader edits a qualification framework in a real browser, from the navbar's Setup
on: adds an element (a refused weight first — the error at the field, what was typed
kept), renames it in place, removes one after the confirmation, and is told why an
element a milestone requires stays. Screenshots at 1440 and 390 px; at 390 px neither the
frameworks nor a framework's page scrolls sideways."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pipeline.models import AutoCheck, MilestoneElementLevel, QualificationElement
from tests.browser.test_pipeline_setup_journey import page_fits, screenshots, sign_in
from tests.factories import (
    MilestoneFactory,
    QualificationElementFactory,
    QualificationFrameworkFactory,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def framework(pipeline):
    fw = QualificationFrameworkFactory(name="Acme MEDDICC", description="Enterprise deals")
    for order, (name, weight) in enumerate(
        (("Metrics", 3), ("Economic buyer", 2), ("Champion", 1)), start=1
    ):
        QualificationElementFactory(framework=fw, name=name, weight=weight, order=order)
    pipeline.framework = fw
    pipeline.save(update_fields=["framework"])
    milestone = MilestoneFactory(
        stage=pipeline.qualify,
        title="Economic buyer agreed the problem is worth solving",
        auto_check=AutoCheck.QUALIFICATION,
    )
    MilestoneElementLevel.objects.create(
        milestone=milestone, element=fw.elements.get(name="Economic buyer"), min_level=2
    )
    return fw


def card(page, name: str):
    return page.locator(f"[data-testid=element-card][data-element='{name}']")


def names(framework) -> list[str]:
    return list(
        QualificationElement.objects.filter(framework=framework)
        .order_by("order", "id")
        .values_list("name", flat=True)
    )


def test_a_leader_edits_a_qualification_framework(page, live_server, leader, framework):
    sign_in(page, live_server, leader.username)
    page.get_by_test_id("nav-setup").click()
    page.get_by_test_id("setup-frameworks").click()
    page.wait_for_url(live_server.url + reverse("pipeline:framework_setup_list"))
    row = page.locator("[data-testid=framework-row][data-framework='Acme MEDDICC']")
    assert "New business · checked in Qualify" in row.inner_text()
    screenshots(page, "frameworks")
    row.get_by_role("link", name="Acme MEDDICC").click()
    page.wait_for_url("**/setup/frameworks/*/")

    # Add an element: a weight of 0 is refused at its field, with what was typed kept.
    page.get_by_test_id("add-element").locator("summary").click()
    new = page.get_by_test_id("new-element-form")
    new.get_by_label("Name").fill("Paper process")
    new.get_by_label("Weight").fill("0")
    new.get_by_label("Guidance").fill("Legal signed the order form")
    new.get_by_role("button", name="Add element").click()
    new = page.get_by_test_id("new-element-form")
    new.locator(".invalid-feedback", has_text="from 1 to 100").wait_for()
    assert new.get_by_label("Name").input_value() == "Paper process"
    assert new.get_by_label("Guidance").input_value() == "Legal signed the order form"
    assert names(framework) == ["Metrics", "Economic buyer", "Champion"]
    screenshots(page, "framework-element-refused")
    new.get_by_label("Weight").fill("2")
    new.get_by_role("button", name="Add element").click()
    page.get_by_text("Element “Paper process” added.").wait_for()
    assert names(framework)[-1] == "Paper process"

    # Rename it in place.
    added = card(page, "Paper process")
    added.get_by_label("Name").fill("Paper process signed")
    added.get_by_test_id("element-save").click()
    page.get_by_text("Element “Paper process signed” saved.").wait_for()
    assert card(page, "Paper process signed").count() == 1
    assert names(framework)[-1] == "Paper process signed"

    # Remove one, after the confirmation.
    card(page, "Champion").get_by_test_id("element-remove").click()
    page.get_by_test_id("confirm-delete").get_by_role("button", name="Remove").click()
    page.get_by_text("Element “Champion” removed.").wait_for()
    assert names(framework) == ["Metrics", "Economic buyer", "Paper process signed"]

    # One a milestone requires stays, and its card says why.
    card(page, "Economic buyer").get_by_test_id("element-remove").click()
    page.get_by_test_id("confirm-delete").get_by_role("button", name="Remove").click()
    error = card(page, "Economic buyer").get_by_test_id("element-error")
    error.wait_for()
    assert "Economic buyer agreed the problem is worth solving" in error.inner_text()
    assert "Economic buyer" in names(framework)

    screenshots(page, "framework-detail")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + reverse("pipeline:framework_setup_list"))
    assert page_fits(page)
