"""A manager works through "Needs attention" in a real browser: one card per deal with its
flags as chips, what to do first on top, grouped by rep; a call logged and a next step set
in place (htmx) clear their flags on the card. Without JavaScript the same forms post and
come back to the list. Screenshots at 1440 and 390 px; at 390 px the page itself never
scrolls sideways, a quick-action form open included."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline.flags import flags_refresh
from pipeline.models import Activity
from tests.browser.test_pipeline_journey import SCREENSHOTS, sign_in
from tests.factories import OpportunityFactory, OpportunityFlagFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1440, "height": 900}


def fits(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.fixture
def deals(rep, teammate, pipeline):
    today = timezone.localdate()
    idle = OpportunityFactory(
        owner=rep,
        stage=pipeline.discover,
        name="Acme rollout",
        amount=40_000,
        created_at=timezone.now() - dt.timedelta(days=40),
        next_step="Send the pricing",
        next_step_date=today - dt.timedelta(days=2),
    )
    flags_refresh(opportunity_ids=[idle.pk])  # no customer activity (critical), step overdue
    late = OpportunityFactory(
        owner=teammate, stage=pipeline.qualify, name="Globex expansion", amount=90_000
    )
    OpportunityFlagFactory(
        opportunity=late,
        kind="past_close_date",
        severity="critical",
        explanation="The close date passed on 10 Nov 2026",
    )
    stuck = OpportunityFactory(
        owner=rep,
        stage=pipeline.discover,
        name="Initech renewal",
        stage_entered_at=timezone.now() - dt.timedelta(days=20),
    )
    flags_refresh(opportunity_ids=[stuck.pk])  # in Discover past its warning days
    return {"idle": idle, "late": late, "stuck": stuck}


def test_manager_clears_flags_in_place(page, live_server, manager, rep, teammate, deals):
    idle = deals["idle"]
    sign_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("pipeline:attention"))
    cards = page.get_by_test_id("attention-deal")
    # One card per deal, what to do first on top: critical and biggest, then critical,
    # then the warning.
    assert cards.count() == 3
    assert [cards.nth(i).locator("a.fw-semibold").inner_text() for i in range(3)] == [
        "Globex expansion",
        "Acme rollout",
        "Initech renewal",
    ]
    acme = page.locator(f"#deal-{idle.pk}")
    chips = acme.get_by_test_id("deal-flags").inner_text()
    assert "Critical: No customer activity" in chips and "Warning: Next step overdue" in chips
    overview = page.get_by_test_id("attention-owners").inner_text()
    assert f"{rep} · 2 deals" in overview and f"{teammate} · 1 deal" in overview
    page.screenshot(path=f"{SCREENSHOTS}/salesops-attention-1440.png", full_page=True)

    # Group by rep: the filter form submits itself.
    page.select_option("select[name=group]", "owner")
    page.wait_for_url("**/attention/?*group=owner*")
    headings = page.get_by_test_id("attention-group")
    assert headings.count() == 2
    assert str(rep) in headings.nth(0).inner_text()

    # Log a call in place: the card comes back without the flag it cleared.
    acme.get_by_text("Log activity").click()
    acme.get_by_label("Subject").fill("Called the CFO")
    acme.get_by_role("button", name="Log it").click()
    page.wait_for_selector(f"#deal-{idle.pk} [data-testid=deal-done]")
    acme = page.locator(f"#deal-{idle.pk}")
    assert "Call logged. Cleared: No customer activity." in acme.inner_text()
    assert acme.locator("[data-flag=no_activity]").count() == 0
    assert "group=owner" in page.url  # no page load: the list stays as it was
    assert Activity.objects.filter(opportunity=idle, subject="Called the CFO").exists()

    # On a phone: the cards stack, a form open does not widen the page.
    page.set_viewport_size(PHONE)
    acme.get_by_text("Set next step").click()
    assert fits(page), "the attention page scrolls sideways at 390 px"
    acme.get_by_label("Next step", exact=True).fill("Demo for IT")
    acme.get_by_label("By").fill((timezone.localdate() + dt.timedelta(days=3)).isoformat())
    page.screenshot(path=f"{SCREENSHOTS}/salesops-attention-form-390.png", full_page=True)
    acme.get_by_role("button", name="Save").click()
    page.wait_for_selector(f"#deal-{idle.pk} [data-testid=deal-clear]")
    acme = page.locator(f"#deal-{idle.pk}")
    assert "Next step set. Cleared: Next step overdue." in acme.inner_text()
    assert "Next step: Demo for IT" in acme.inner_text()
    assert fits(page)
    page.screenshot(path=f"{SCREENSHOTS}/salesops-attention-390.png", full_page=True)
    page.set_viewport_size(LAPTOP)


def test_quick_actions_work_without_javascript(chromium_browser, live_server, rep, deals):
    context = chromium_browser.new_context(viewport=LAPTOP, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    stuck = deals["stuck"]
    sign_in(page, live_server, "rep")
    page.goto(live_server.url + reverse("pipeline:attention") + "?sort=age")
    card = page.locator(f"#deal-{stuck.pk}")
    card.get_by_text("Log activity").click()  # <details>: opens without a script
    card.get_by_label("Kind").select_option("meeting")
    card.get_by_label("Subject").fill("Steering committee")
    card.get_by_role("button", name="Log it").click()
    page.wait_for_url(f"**/attention/?sort=age#deal-{stuck.pk}")
    assert "Initech renewal: Meeting logged." in page.inner_text("main")
    assert Activity.objects.filter(opportunity=stuck, kind="meeting").count() == 1
    # A refusal comes back as the list, the card's form open with what was typed.
    due = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    card = page.locator(f"#deal-{stuck.pk}")
    card.get_by_text("Set next step").click()
    card.get_by_label("Next step", exact=True).fill("   ")  # blank to the server
    card.get_by_label("By").fill(due)
    card.get_by_role("button", name="Save").click()
    page.wait_for_selector(f"#deal-{stuck.pk} .is-invalid")
    card = page.locator(f"#deal-{stuck.pk}")
    assert "This field is required." in card.inner_text()
    assert card.get_by_label("By").input_value() == due
    assert page.get_by_test_id("attention-deal").count() == 2  # the list is all there
    context.close()
