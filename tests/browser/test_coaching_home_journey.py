"""The coaching home in a real browser: the cadence refresh flags a rep's overdue 1:1; the
manager follows the navbar to the coaching home, sees it in their coverage, their overdue
list and their flags, and goes on to log the 1:1; a leader switches the coverage window."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from coaching.cadence import cadence_refresh
from tests.browser.test_proposal_journey import sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


def test_manager_finds_the_overdue_1_1_and_a_leader_the_coverage(
    page, live_server, rep, teammate, manager
):
    rep.started_on = timezone.localdate() - dt.timedelta(days=30)
    rep.save(update_fields=["started_on"])
    assert cadence_refresh().raised == 1
    UserFactory(username="boss", role="leader")

    sign_in(page, live_server, "manager")
    page.click("[data-testid=nav-coaching]")
    page.wait_for_url(f"{live_server.url}/coaching/")
    card = page.locator("[data-testid=coverage-card]").inner_text()
    assert "1 of 2" in card  # teammate is within cadence, rep is not
    overdue = page.locator("[data-testid=overdue-rep]")
    assert overdue.count() == 1 and str(rep) in overdue.inner_text()
    assert "23 days overdue" in overdue.inner_text()
    flags = page.locator("[data-testid=coaching-flag]")
    assert flags.count() == 1 and f"1:1 with {rep}" in flags.inner_text()
    page.screenshot(path=f"{SCREENSHOTS}/salesops-coaching-home-manager.png", full_page=True)
    overdue.get_by_role("link", name="Log a 1:1").click()
    page.wait_for_url(f"**/coaching/sessions/new/?rep={rep.pk}")

    sign_in(page, live_server, "boss")
    page.goto(f"{live_server.url}/coaching/")
    assert page.locator("[data-testid=coverage-row]").count() == 1
    assert "Last 30 days" in page.locator("#days").inner_text()
    page.select_option("#days", "90")  # the filter form submits itself
    page.wait_for_url("**/coaching/?*days=90*")
    assert page.locator("#days").input_value() == "90"
    total = page.locator("[data-testid=coverage-total]").inner_text()
    assert "50%" in total
    page.screenshot(path=f"{SCREENSHOTS}/salesops-coaching-home-leader.png", full_page=True)
