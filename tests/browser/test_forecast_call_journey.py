"""A forecast call in a real browser: the rep sees their numbers and submits a call; the
manager sees it in the team roll-up, submits a team call that differs from it, is asked
for the adjustment note (the typed numbers kept), adds it and sees the team call saved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from forecasting.models import ForecastSubmission
from forecasting.services import local_today
from tests.browser.test_proposal_journey import sign_in
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


def test_rep_calls_then_the_manager_adjusts_the_team_call(
    page, live_server, rep, teammate, manager, team_a, pipeline
):
    OpportunityFactory(
        owner=rep,
        stage=pipeline.won,
        amount=Decimal("2500"),
        close_date=local_today(),
        status="won",
        closed_at=timezone.now() - dt.timedelta(hours=1),
    )
    OpportunityFactory(
        owner=rep, stage=pipeline.proposal, amount=Decimal("10000"), close_date=local_today()
    )
    home = live_server.url + reverse("forecasting:home")

    # The rep: their numbers beside the form, which opens with them; no call yet.
    sign_in(page, live_server, "rep")
    page.goto(home)
    numbers = page.locator("[data-testid=my-numbers]")
    assert "2,500.00" in numbers.locator("[data-figure=closed_won]").inner_text()
    assert "Not submitted this week" in page.locator("[data-testid=week-indicator]").inner_text()
    assert page.input_value("#id_commit") == "2500.00"
    assert page.input_value("#id_best_case") == "12500.00"
    page.fill("#id_commit", "5000")
    page.fill("#id_best_case", "11000")
    page.fill("#id_notes", "Acme signs in two weeks")
    page.click("[data-testid=call-submit]")
    page.wait_for_selector(".so-messages")
    assert "Your call for" in page.locator(".so-messages").inner_text()
    assert page.locator("[data-testid=latest-commit]").inner_text() == "5,000.00"
    assert "Submitted this week" in page.locator("[data-testid=week-indicator]").inner_text()
    assert page.locator("[data-testid=call-row]").count() == 1
    rep_call = ForecastSubmission.objects.get(submitter=rep)
    assert (rep_call.commit, rep_call.best_case) == (Decimal("5000.00"), Decimal("11000.00"))

    # The manager: the rep's call in the roll-up, the teammate has not called.
    sign_in(page, live_server, "manager")
    page.goto(home)
    rep_row = page.locator(f"[data-testid=rollup-row][data-person='{rep.pk}']")
    assert rep_row.locator("[data-testid=row-call-commit]").inner_text() == "5,000"
    assert rep_row.locator("[data-testid=submitted-badge]").count() == 1
    mate_row = page.locator(f"[data-testid=rollup-row][data-person='{teammate.pk}']")
    assert mate_row.locator("[data-testid=not-submitted-badge]").count() == 1
    assert page.locator("[data-testid=sum-commit]").inner_text() == "5,000"
    assert page.input_value("#id_commit") == "5000.00"  # opens with the reps' sum

    # A team call above the reps' sum without a note: asked for it, the numbers kept.
    page.fill("#id_commit", "6000")
    page.click("[data-testid=call-submit]")
    page.wait_for_selector("#id_adjustment_note.is-invalid")
    assert "say why the team's call differs" in page.locator("[data-testid=call-card]").inner_text()
    assert page.input_value("#id_commit") == "6000"
    assert not ForecastSubmission.objects.filter(level="team").exists()
    page.screenshot(path=f"{SCREENSHOTS}/salesops-forecast-adjustment.png", full_page=True)

    page.fill("#id_adjustment_note", "Globex renewal lands this quarter")
    page.click("[data-testid=call-submit]")
    page.wait_for_selector(".so-messages")
    assert f"{team_a.name}'s call for" in page.locator(".so-messages").inner_text()
    latest = page.locator("[data-testid=latest-call]").inner_text()
    assert "6,000.00" in latest and "Globex renewal lands this quarter" in latest
    assert "Submitted this week" in page.locator("[data-testid=week-indicator]").inner_text()
    page.screenshot(path=f"{SCREENSHOTS}/salesops-forecast-team.png", full_page=True)
    team_call = ForecastSubmission.objects.get(level="team")
    assert (team_call.submitter, team_call.team, team_call.commit) == (
        manager,
        team_a,
        Decimal("6000.00"),
    )
    assert team_call.adjustment_note == "Globex renewal lands this quarter"
