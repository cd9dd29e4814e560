"""A refused action shown again in answer to its POST leaves the address bar on the page,
not on the action's URL (a failed approval did), so a reload shows the page instead of
posting again; what was entered stays."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.test_pipeline_setup_journey import sign_in
from tests.proposals.conftest import deal  # noqa: F401
from tests.proposals.test_views import checklist, draft, in_review  # noqa: F401

pytestmark = pytest.mark.browser


def test_a_failed_approval_stays_on_the_proposal_page(page, live_server, request, manager):
    proposal = request.getfixturevalue("in_review")
    request.getfixturevalue("checklist")
    sign_in(page, live_server, "manager")
    detail = live_server.url + reverse("proposals:detail", args=[proposal.pk])
    page.goto(detail)
    form = page.get_by_test_id("review-form")
    form.locator("textarea, input[name=comment]").first.fill("Pricing looks right to me.")
    form.get_by_test_id("approve").click()  # without ticking the checklist: refused
    page.wait_for_load_state()
    assert page.locator(".is-invalid, .alert-danger, .invalid-feedback").count() >= 1
    assert page.url == detail  # not …/approve/
    kept = page.get_by_test_id("review-form").locator("textarea, input[name=comment]").first
    assert kept.input_value() == "Pricing looks right to me."
    page.reload()
    assert page.url == detail
    proposal.refresh_from_db()
    assert proposal.status == "in_review"
