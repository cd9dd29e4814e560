"""The skills matrix is a heatmap in a real browser: each assessed cell is painted in its
level's colour (the same as the legend's), an unassessed cell is not, whatever the table's
own cell background says."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coaching import services
from coaching.models import Skill
from tests.browser.test_pipeline_journey import SCREENSHOTS, sign_in

pytestmark = pytest.mark.browser

# static/css/salesops.css: .so-heat-1 … .so-heat-5
LEVEL_BACKGROUNDS = {
    1: "rgb(255, 227, 227)",
    2: "rgb(255, 240, 214)",
    3: "rgb(255, 249, 219)",
    4: "rgb(211, 249, 216)",
    5: "rgb(140, 233, 154)",
}


def background(locator) -> str:
    return locator.evaluate("el => getComputedStyle(el).backgroundColor")


def test_matrix_cells_are_painted_in_their_levels_colour(page, live_server, rep, teammate, manager):
    skills = list(Skill.objects.filter(is_active=True).order_by("order", "pk")[:5])
    assert len(skills) == 5
    for level, skill in enumerate(skills, start=1):
        services.skill_assessment_create(
            actor=manager,
            rep_id=rep.pk,
            skill_id=skill.pk,
            level=level,
            evidence="Ran the discovery call with the CFO on her own" if level >= 4 else "",
        )

    sign_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("coaching:matrix"))
    page.screenshot(path=f"{SCREENSHOTS}/salesops-skills-matrix.png", full_page=True)
    rows = page.locator("[data-testid=matrix-row]")
    row = rows.filter(has=page.locator("th", has_text=str(rep)))
    for level, colour in LEVEL_BACKGROUNDS.items():
        cell = row.locator(f"td.so-heat-{level}")
        assert cell.count() == 1
        assert background(cell) == colour, f"level {level}"
        legend = page.locator(f".badge.so-heat-{level}")
        assert background(legend) == colour  # the legend says what the cells show
    # Not assessed: the table's own (white) cell, no level colour.
    blank = rows.filter(has=page.locator("th", has_text=str(teammate))).locator("td").first
    assert "so-heat-none" in (blank.get_attribute("class") or "")
    assert background(blank) not in LEVEL_BACKGROUNDS.values()
