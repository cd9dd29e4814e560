"""The leader dashboard in a real browser: a leader opens it, the inline SVG charts are
drawn (bars, trend points, the waterfall), and every number they click — a team's commit
in the table, a bar of the chart — lands on the deals behind it, whose total is that
number."""

from __future__ import annotations

import pytest

from forecasting import services as forecasting_services
from tests.browser.test_proposal_journey import sign_in
from tests.forecasting import changes_data, summary_data
from tests.forecasting.changes_data import TODAY

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(forecasting_services, "local_today", lambda now=None: TODAY)


def test_leader_reads_the_dashboard_and_drills_into_a_team_s_commit(
    page, live_server, leader, rep, teammate, other_rep, team_b, pipeline
):
    summary_data.build(rep=rep, other_rep=other_rep, team_b=team_b, pipeline=pipeline)
    changes_data.build(rep, teammate, other_rep, pipeline)

    sign_in(page, live_server, "leader")
    page.goto(f"{live_server.url}/forecast/dashboard/?period=2026-Q3")
    assert "The whole company" in page.locator("[data-testid=dashboard-scope]").inner_text()
    for chart in ("attainment", "categories", "coverage", "history", "waterfall"):
        bars = page.locator(f"svg[data-testid=chart-{chart}] rect[data-testid=chart-bar]")
        assert bars.count() > 0, chart
        box = bars.first.bounding_box()
        assert box is not None and box["width"] > 0, chart  # drawn, not just in the markup
    assert page.locator("svg[data-testid=chart-trend] circle[data-testid=chart-point]").count() > 0
    page.screenshot(path=f"{SCREENSHOTS}/salesops-forecast-dashboard.png", full_page=True)

    # A team's commit in the table under the category chart.
    link = page.locator(f"[data-testid=table-categories] [data-testid=team-{rep.team_id}-commit]")
    clicked = link.inner_text()
    link.click()
    page.wait_for_url("**/forecast/deals/?*figure=commit*")
    assert page.locator("[data-testid=deals-title]").inner_text() == "Commit · 2026-Q3 · Team A"
    assert page.locator("[data-testid=deals-total]").inner_text() == clicked
    rows = page.locator("[data-testid=deal-row]")
    assert rows.count() >= 1
    page.screenshot(path=f"{SCREENSHOTS}/salesops-forecast-deals.png", full_page=True)

    # A bar of the chart: Team B's closed won in the attainment chart.
    page.go_back()
    bar = page.locator("svg[data-testid=chart-attainment] a[data-testid=chart-bar-link]").filter(
        has=page.locator("title", has_text="Team B — Closed won")
    )
    value = bar.locator("rect").get_attribute("data-value")
    bar.click()
    page.wait_for_url("**/forecast/deals/?*figure=closed_won*")
    assert page.locator("[data-testid=deals-total]").get_attribute("data-value") == value
    assert value == "25000.00"  # D8, summary_data
