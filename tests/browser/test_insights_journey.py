"""A leader learns from the top performers in a real browser, and an administrator turns
what they do into the framework: the leader opens Insights and sees the top group and the
first gap (with its chart); the administrator accepts the suggestion, and the stage's
setup page shows the milestone required, in the stage's new rules version. Screenshots
at 1440 and 390 px; at 390 px the page itself never scrolls sideways."""

from __future__ import annotations

import pytest
from django.urls import reverse

from insights import services
from pipeline.models import Milestone, StageRuleChange
from tests.browser.test_pipeline_setup_journey import screenshots, sign_in
from tests.insights.data import build_team

pytestmark = pytest.mark.browser


def test_leader_sees_the_gap_and_an_admin_makes_it_a_required_milestone(
    page, live_server, pipeline, team_a, manager, leader, admin_user
):
    team = build_team(pipeline, team_a)
    services.suggestions_refresh()  # what the nightly task does

    sign_in(page, live_server, "leader")
    page.get_by_test_id("nav-insights").click()
    page.wait_for_url("**/insights/")
    top = page.get_by_test_id("top-group").inner_text()
    assert all(str(rep) in top for rep in team.top)
    first_gap = page.get_by_test_id("gap").first
    text = first_gap.inner_text()
    assert f"'{team.optional.title}' done before leaving Proposal" in text
    assert "top performers in 100 % of cases, the rest in 33 %" in text
    assert "2 vs 6 reps, 30 deals" in text
    assert first_gap.get_by_test_id("gap-chart").count() == 1
    screenshots(page, "insights-leader")

    page.context.clear_cookies()
    sign_in(page, live_server, "admin")
    page.goto(live_server.url + reverse("insights:home") + "#suggestions")
    suggestion = page.get_by_test_id("suggestion").first
    assert team.optional.title in suggestion.inner_text()
    suggestion.get_by_test_id("accept").click()
    page.wait_for_url("**/insights/#suggestions")
    assert "rules are now version 2" in page.inner_text("main")
    assert "Proposal v2" in page.get_by_test_id("experiment").first.inner_text()
    screenshots(page, "insights-accepted")

    page.goto(live_server.url + reverse("pipeline:pipeline_setup_edit", args=[pipeline.pk]))
    card = page.locator("[data-testid=stage-card][data-stage='Proposal']")
    milestone = card.get_by_test_id("milestone").filter(has_text=team.optional.title)
    assert "optional" not in milestone.inner_text()
    assert card.get_by_test_id("rules-version").inner_text() == "rules v2"
    assert Milestone.objects.get(pk=team.optional.pk).required is True
    assert StageRuleChange.objects.get().changed_by == admin_user
