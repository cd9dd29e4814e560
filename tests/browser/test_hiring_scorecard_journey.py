"""Structured interviews in a real browser: an interviewer finds their interview under
Hiring, fills the scorecard (a missing rating is refused with what they typed kept) and
submits it; the hiring manager opens the decision page and sees who said what, the
disagreement highlighted, makes an offer and hires with a ramped quota: the new rep's
account exists, their onboarding plan appears with the weakest selling skill as the focus
of the first 1:1s, and the 1:1 form opens with it chosen.
Screenshots at 1440 and 390 px (the page never scrolls
sideways at 390 px)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from coaching.models import Skill
from forecasting.models import Quota
from hiring import services
from hiring.models import Candidate, Scorecard
from tests.browser.test_pipeline_setup_journey import screenshots, sign_in
from tests.hiring.conftest import candidate, fill, position, recruiter, schedule, template  # noqa: F401

pytestmark = pytest.mark.browser


def test_an_interviewer_scores_and_the_hiring_manager_sees_who_said_what(
    page, live_server, request, manager, rep, teammate, admin_user
):
    # The hiring tests' fixtures (tests/hiring/conftest.py), imported above.
    applicant, hiring_lead = (request.getfixturevalue(n) for n in ("candidate", "recruiter"))
    discovery = applicant.position.template.attributes.get(name="Discovery")
    services.template_attribute_update(
        actor=admin_user, attribute_id=discovery.pk, skill=Skill.objects.get(name="Discovery").pk
    )
    mine = schedule(hiring_lead, applicant, teammate, "Discovery", "Coachability")
    other = schedule(hiring_lead, applicant, rep, "Discovery")
    fill(rep, other, 2, recommendation=2)
    services.scorecard_submit(actor=rep, interview_id=other.pk)

    sign_in(page, live_server, "teammate")
    page.get_by_test_id("user-menu").click()
    page.get_by_test_id("nav-hiring").click()
    page.wait_for_url("**/hiring/")
    page.get_by_role("link", name="Fill in the scorecard").click()
    page.wait_for_url(f"**/hiring/interviews/{mine.pk}/scorecard/")
    form = page.get_by_test_id("scorecard-form")
    form.get_by_role("radiogroup", name="Rating for Discovery").get_by_label("Strong yes").check()
    discovery = form.locator("fieldset", has_text="Discovery")
    discovery.get_by_label("Evidence").fill("Asked about the cost of the problem unprompted.")
    form.get_by_label("Overall recommendation").select_option(label="Strong yes")
    form.get_by_test_id("submit-scorecard").click()
    assert "Rate Coachability." in page.inner_text("main")
    kept = page.locator("fieldset", has_text="Discovery").get_by_label("Evidence")
    assert kept.input_value().startswith("Asked about the cost")  # nothing typed is lost
    screenshots(page, "hiring-scorecard")

    form = page.get_by_test_id("scorecard-form")
    form.get_by_role("radiogroup", name="Rating for Coachability").get_by_label(
        "Yes", exact=True
    ).check()
    coachability = form.locator("fieldset", has_text="Coachability")
    coachability.get_by_label("Evidence").fill("Took the role-play feedback and retried.")
    form.get_by_test_id("submit-scorecard").click()
    page.wait_for_url(f"**/hiring/candidates/{applicant.pk}/")
    assert "Scorecard submitted" in page.inner_text("main")
    assert Scorecard.objects.get(interview=mine).submitted_at is not None

    page.context.clear_cookies()
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server.url}/hiring/candidates/{applicant.pk}/")
    page.get_by_test_id("decision-link").click()
    grid = page.get_by_test_id("decision-grid")
    assert grid.get_by_test_id("disagreement").count() == 1  # Discovery: 5 against 2
    assert "They disagree" in grid.get_by_test_id("disagreement").inner_text()
    assert "Past attainment" in page.get_by_test_id("unassessed").inner_text()
    screenshots(page, "hiring-decision")

    # An offer, then the hire: the new rep's account with an invitation.
    page.goto(f"{live_server.url}/hiring/candidates/{applicant.pk}/")
    page.get_by_label("Stage").select_option(label="Offer")
    page.get_by_test_id("move-form").get_by_role("button", name="Move").click()
    assert page.get_by_test_id("candidate-stage").inner_text() == "Offer"
    page.get_by_test_id("decision-link").click()
    hire = page.get_by_test_id("hire-form")
    started = timezone.localdate() - dt.timedelta(days=3)  # started this week
    hire.get_by_label("Start date").fill(started.isoformat())
    hire.get_by_label("Full monthly quota (EUR) — optional").fill("20000")
    hire.get_by_label("Why we hire").fill("Best discovery in the role play")
    hire.get_by_test_id("hire").click()
    page.wait_for_url(f"**/hiring/candidates/{applicant.pk}/")
    assert "Dana Fischer is hired" in page.inner_text("main")
    assert page.get_by_test_id("candidate-stage").inner_text() == "Hired"
    person = Candidate.objects.get(pk=applicant.pk).hired_user
    assert (person.role, person.started_on) == ("rep", started)
    ramp = Quota.objects.filter(rep=person).order_by("period_start")
    assert [q.amount for q in ramp] == [Decimal(a) for a in ("5000", "10000", "15000", "20000")]
    page.get_by_test_id("onboarding-link").click()
    tasks = page.get_by_test_id("onboarding-task")
    assert tasks.count() == 9
    assert "Shadow an opportunity review" in page.get_by_test_id("onboarding-tasks").inner_text()
    assert "Discovery" in page.get_by_test_id("focus-skills").inner_text()
    screenshots(page, "hiring-onboarding")

    # The manager logs the first 1:1: the form opens on the new rep with the focus chosen.
    page.get_by_test_id("plan-one-on-one").click()
    page.wait_for_url("**/coaching/sessions/new/**")
    focus = page.locator("select[name=focus_skill] option:checked")
    assert focus.inner_text().strip() == "Discovery"
    assert "interview scorecards" in page.get_by_test_id("suggested-focus").inner_text()
