"""A rep's journey in a real browser: tick, get refused, complete, advance."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline.models import MilestoneCompletion
from tests.factories import BusinessIssueFactory, OpportunityFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


def sign_in(page, live_server, username: str, password: str = "secret-pass-123") -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("pipeline:board"))


def test_rep_ticks_gets_refused_completes_and_advances(page, live_server, rep, pipeline):
    pipeline.discover.guidance = (
        "Find a business problem worth solving and the person who owns it.\n"
        "Do not pitch yet: ask, listen, and write down the customer's words."
    )
    pipeline.discover.save(update_fields=["guidance"])
    opp = OpportunityFactory(
        owner=rep, stage=pipeline.discover, name="Acme rollout", amount=Decimal("48500")
    )
    BusinessIssueFactory(opportunity=opp, quantified_value=Decimal("120000"))
    for i, stage in enumerate([pipeline.discover, pipeline.qualify, pipeline.proposal] * 3):
        OpportunityFactory(
            owner=rep,
            stage=stage,
            name=f"Deal {i + 1}",
            stage_entered_at=timezone.now() - dt.timedelta(days=i * 4),
        )
    pain = pipeline.discover.milestones.get(title="Pain identified")
    buyer = pipeline.discover.milestones.get(requires_evidence=True)

    sign_in(page, live_server, "rep")
    page.screenshot(path=f"{SCREENSHOTS}/salesops-board.png", full_page=True)
    page.click("text=Acme rollout")
    page.wait_for_url(f"**/opportunities/{opp.pk}/")

    # Tick a milestone: saved without a page reload.
    page.evaluate("window.__marker = 'same page'")
    page.locator(f"#ms-main-{pain.pk}-done").check()
    page.wait_for_selector(f"#ms-main-{pain.pk}.is-met")
    assert page.locator(f"#ms-main-{pain.pk}-done").is_checked()
    assert page.evaluate("window.__marker") == "same page"
    assert MilestoneCompletion.objects.filter(opportunity=opp, milestone=pain).exists()

    # Advance: refused, naming exactly the missing milestone.
    page.click("[data-testid=advance]")
    missing = page.locator("[data-testid=missing-milestones]")
    missing.wait_for()
    assert buyer.title in missing.inner_text()
    assert pain.title not in missing.inner_text()
    assert page.locator("textarea[name=override_reason]").count() == 0  # no override for a rep
    assert page.evaluate("window.__marker") == "same page"

    # Complete it right there — without evidence first: refused, next to the milestone.
    page.locator(f"#ms-gate-{buyer.pk}-done").check()
    page.wait_for_selector(f"#ms-gate-{buyer.pk}.has-error")
    assert "needs evidence" in page.locator(f"#ms-gate-{buyer.pk}").inner_text()
    assert not page.locator(f"#ms-gate-{buyer.pk}-done").is_checked()
    page.locator(f"#ms-gate-{buyer.pk} textarea[name=evidence]").fill(
        "CFO Jane Roe: 'fixing invoice matching is a 2025 priority' (email 3 March)"
    )
    page.locator(f"#ms-gate-{buyer.pk}-done").check()
    page.wait_for_selector(f"#ms-gate-{buyer.pk}.is-met")
    page.wait_for_selector(f"#ms-main-{buyer.pk}.is-met")  # the main list followed along
    completion = MilestoneCompletion.objects.get(opportunity=opp, milestone=buyer)
    assert completion.evidence.startswith("CFO Jane Roe")
    page.screenshot(path=f"{SCREENSHOTS}/salesops-detail-gate.png", full_page=True)

    # Advance again: the stage path now shows Qualify as the current stage.
    page.click("[data-testid=advance]")
    page.wait_for_selector("[data-testid=stage-path] [aria-current=step]:has-text('Qualify')")
    assert "Moved to Qualify" in page.content()
    done = page.locator("[data-testid=stage-path] .is-done")
    assert done.count() == 1 and "Discover" in done.inner_text()
    opp.refresh_from_db()
    assert opp.stage == pipeline.qualify
    page.screenshot(path=f"{SCREENSHOTS}/salesops-detail.png", full_page=True)
