"""A forecast meeting in a real browser: the manager opens a new meeting, sees the team's
numbers that will be frozen and who is ticked to attend, saves, lands on the meeting with
the frozen numbers and the deal at risk, then edits the notes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from forecasting.models import ForecastMeeting
from forecasting.selectors import period_or_current
from tests.browser.test_proposal_journey import sign_in
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.browser


def test_manager_records_a_forecast_meeting(page, live_server, rep, teammate, manager, pipeline):
    period = period_or_current(None)
    deal = OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="commit",
        next_step="",
        amount=Decimal("12345"),
        close_date=period.last_day,
        name="Acme renewal",
    )

    sign_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("forecasting:meeting_create"))

    preview = page.locator("[data-testid=numbers-preview]")
    commit = preview.locator("tr[data-figure=commit] td[data-value]")
    assert commit.get_attribute("data-value") == "12345.00"
    assert "12,345" in commit.inner_text()
    assert "1 deal at risk" in preview.inner_text()
    for person in (manager, rep, teammate):
        assert page.locator(f"input[name=attendees][value='{person.pk}']").is_checked()

    page.fill("#id_notes", "Acme is the swing deal")
    page.click("[data-testid=save-meeting]")
    page.wait_for_selector("[data-testid=meeting-title]")

    meeting = ForecastMeeting.objects.get()
    assert page.url.endswith(reverse("forecasting:meeting_detail", args=[meeting.pk]))
    figures = page.locator("[data-testid=meeting-figures]")
    assert (
        figures.locator("tr[data-figure=commit] td[data-value]").get_attribute("data-value")
        == "12345.00"
    )
    risks = page.locator("[data-testid=risk-row]")
    assert risks.count() == 1
    assert "No next step" in risks.inner_text()
    assert risks.locator("a").get_attribute("href") == f"/opportunities/{deal.pk}/"
    assert page.locator("[data-testid=attendee]").count() == 3

    # The notes are edited in place; the numbers stay as they were frozen.
    deal.amount = Decimal("1")
    deal.save(update_fields=["amount"])
    page.click("[data-testid=meeting-edit] summary")
    page.fill("#id_notes", "Acme slipped: call the CFO")
    page.click("[data-testid=save-notes]")
    page.wait_for_selector("[data-testid=notes-text] >> text=Acme slipped")
    assert "Acme slipped: call the CFO" in page.locator("[data-testid=notes-text]").inner_text()
    assert (
        page.locator(
            "[data-testid=meeting-figures] tr[data-figure=commit] td[data-value]"
        ).get_attribute("data-value")
        == "12345.00"
    )
    meeting.refresh_from_db()
    assert (meeting.notes, meeting.version) == ("Acme slipped: call the CFO", 2)


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_team_and_period_are_picked_once_and_the_numbers_follow(
    page, live_server, rep, manager, pipeline, viewport
):
    """One Team and one Period (a select of fiscal periods); picking another period swaps
    the numbers in place, keeping what was typed; the page fits a phone."""
    period = period_or_current(None)
    OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="commit",
        amount=Decimal("12345"),
        close_date=period.last_day,
    )
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    sign_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("forecasting:meeting_create"))
    assert page.locator("[name=team]").count() == 1
    assert page.locator("[name=period]").count() == 1
    assert page.locator("select#id_period").input_value() == period.label

    commit = page.locator("[data-testid=numbers-preview] tr[data-figure=commit] td[data-value]")
    assert commit.get_attribute("data-value") == "12345.00"
    page.fill("#id_notes", "Typed before picking")
    page.evaluate("window.__marker = 'same page'")
    page.select_option("#id_period", period.next().label)
    page.wait_for_selector(f"[data-testid=numbers-preview] >> text={period.next().label}")
    assert commit.get_attribute("data-value") == "0.00"  # the deal closes this period
    assert page.evaluate("window.__marker") == "same page"
    assert page.input_value("#id_notes") == "Typed before picking"
    assert f"period={period.next().label}" in page.url
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
