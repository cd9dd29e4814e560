"""An opportunity review in a real browser: the manager opens the review queue, starts a
review of the riskiest deal, sees the agenda generated from its gaps, adds an action item
(a past due date is refused first, in place); the rep then sees the review and ticks the
action item off."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from coaching.models import ActionItem, OpportunityReview
from tests.factories import AccountFactory, OpportunityFactory, OpportunityFlagFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


def sign_in(page, live_server, username: str, password: str = "secret-pass-123") -> None:
    page.context.clear_cookies()
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("pipeline:board"))


def test_manager_reviews_a_deal_and_the_rep_sees_the_action_item(
    page, live_server, rep, teammate, manager, pipeline
):
    risky = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        name="Acme finance automation",
        account=AccountFactory(name="Acme Logistics GmbH"),
    )
    OpportunityFlagFactory(
        opportunity=risky,
        kind="past_close_date",
        severity="critical",
        explanation="The close date passed 5 days ago.",
    )
    OpportunityFactory(owner=teammate, stage=pipeline.discover, name="Calm deal")

    # --- the manager opens the queue: the flagged deal is first, with its reasons
    sign_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("coaching:review_queue"))
    rows = page.locator("[data-testid=queue-row]")
    assert rows.first.get_attribute("data-opportunity") == "Acme finance automation"
    assert "1 critical flag open" in rows.first.inner_text()
    page.screenshot(path=f"{SCREENSHOTS}/salesops-review-queue.png", full_page=True)
    rows.first.locator("[data-testid=start-review]").click()

    # --- the review page with the generated agenda
    page.wait_for_selector("[data-testid=review-agenda]")
    review = OpportunityReview.objects.get(opportunity=risky)
    assert page.url.endswith(reverse("coaching:review_detail", args=[review.pk]))
    titles = page.locator("[data-testid=agenda-title]").all_inner_texts()
    assert titles[0] == "Critical: Close date passed"
    assert "“Decision process mapped with the customer” not met (current stage, Qualify)" in titles
    assert any(t.startswith("Not qualified yet") for t in titles)

    # --- a past due date is refused in place (htmx, 422), nothing saved
    form = page.locator("[data-testid=action-form]")
    page.evaluate("window.__marker = 'same page'")
    form.locator("input[name=title]").fill("Map the decision process with the CFO")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    form.locator("input[name=due_on]").fill(yesterday.isoformat())
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#actions .invalid-feedback, #actions .text-danger")
    assert "cannot be in the past" in page.locator("#actions").inner_text()
    assert not ActionItem.objects.exists()

    # --- then a good one: the section is swapped, no reload
    due = timezone.localdate() + dt.timedelta(days=7)
    form = page.locator("[data-testid=action-form]")
    form.locator("input[name=due_on]").fill(due.isoformat())
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#actions [data-testid=action-item]")
    assert page.evaluate("window.__marker") == "same page"
    item_text = page.locator("#actions [data-testid=action-item]").inner_text()
    assert "Map the decision process with the CFO" in item_text
    assert ActionItem.objects.get().owner == rep
    page.screenshot(path=f"{SCREENSHOTS}/salesops-review-detail.png", full_page=True)

    # --- the rep sees the review and the action item, and ticks it off
    sign_in(page, live_server, "rep")
    page.goto(live_server.url + reverse("coaching:review_list"))
    page.click("text=Acme finance automation")
    page.wait_for_selector("[data-testid=review-agenda]")
    assert page.locator("[data-testid=action-form]").count() == 0  # the rep reads it
    item = page.locator("#actions [data-testid=action-item]")
    assert "Map the decision process with the CFO" in item.inner_text()
    item.locator("button[type=submit]").click()
    page.wait_for_selector("#actions .so-action-item.is-done")
    assert ActionItem.objects.get().done_at is not None


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_long_agenda_is_folded_and_completing_asks_about_undiscussed_points(
    page, live_server, rep, manager, pipeline, viewport
):
    # Flags, unmet milestones of this stage and the next, no qualification, no proposal.
    deal = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Long agenda deal")
    OpportunityFlagFactory(opportunity=deal, kind="past_close_date", severity="critical")
    OpportunityFlagFactory(opportunity=deal)  # a warning
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    sign_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("coaching:review_queue"))
    page.locator("[data-testid=queue-row][data-opportunity='Long agenda deal']").locator(
        "[data-testid=start-review]"
    ).click()
    page.wait_for_selector("[data-testid=review-agenda]")
    review = OpportunityReview.objects.get(opportunity=deal)
    generated = review.agenda_items.count()
    assert generated > 6

    # The top five in view, the rest folded under "n more points".
    top = page.locator("[data-testid=agenda-top] [data-testid=agenda-item]")
    assert top.count() == 5
    more = page.locator("[data-testid=agenda-more]")
    assert f"{generated - 5} more points" in more.locator("summary").inner_text()
    folded = more.locator("[data-testid=agenda-item]")
    assert not folded.first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]

    # Ticking a folded point keeps the fold open (htmx swaps the agenda).
    more.locator("summary").click()
    folded.first.locator("button").click()
    page.wait_for_selector("[data-testid=agenda-more][open] .so-discussed")
    assert folded.first.is_visible()

    # Completing with points left asks first, listing them; nothing is frozen yet.
    top.first.locator("button").click()
    page.wait_for_selector("[data-testid=agenda-top] .so-discussed")
    page.click("[data-testid=complete-review]")
    confirm = page.locator("[data-testid=confirm-complete]")
    confirm.wait_for()
    listed = confirm.locator("[data-testid=undiscussed-points] li")
    assert listed.count() == generated - 2
    assert page.url.endswith("#complete")  # scrolled to the question
    # A locator, not wait_for_function: that evals its string, which the page's CSP refuses.
    expect(page.locator("#complete")).to_be_in_viewport()
    review.refresh_from_db()
    assert review.status == "open"
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
    page.screenshot(path=f"{SCREENSHOTS}/salesops-review-confirm-{viewport[0]}.png")
    page.click("[data-testid=confirm-complete-review]")
    page.wait_for_selector("[data-testid=review-status] >> text=Completed")
    review.refresh_from_db()
    assert review.status == "completed"
