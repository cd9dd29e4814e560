"""Every page fits the screen it is read on, in a real browser.

On a phone (390 × 844) no page reached from the navbar — its links and the user menu's,
read from the rendered navbar, so a new link is covered without touching this file — nor
a deal's page or the skills matrix scrolls sideways as a page, for a rep, a manager, a
leader and an administrator of the demo company (a wide table may scroll inside its
`.table-responsive` card, the board inside its own container). On a laptop (1440 × 900)
the board shows a six-stage pipeline in equal columns without scrolling at all; only past
six stages does the board scroll, inside its container. A deal's next move comes before
its history on a phone, and beside its guidance on a laptop."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from pipeline.models import OpportunityChange
from salesops.auth import DEMO_PASSWORD
from tests.browser.test_pipeline_journey import SCREENSHOTS, sign_in
from tests.factories import OpportunityFactory, OpportunityFlagFactory, StageFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1440, "height": 900}
DEMO_USERS = ("rep1", "manager1", "leader", "admin")

# The navbar's links and the user menu's, as rendered for whoever is signed in.
NAVBAR_PATHS = """() => [...new Set([...document.querySelectorAll('nav.so-navbar a[href]')]
    .map(a => a.getAttribute('href')).filter(h => h.startsWith('/')))]"""
# The elements that stick out past the right edge without a scrolling box to hold them:
# what a failure message names.
OVERFLOWING = """(width) => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    // An absolutely positioned element escapes a scrolling box that is not positioned.
    let held = false;
    const free = getComputedStyle(el).position === 'absolute';
    for (let p = el.parentElement; p && p !== document.body && !free; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible'
          && p.getBoundingClientRect().right <= width + 1) { held = true; break; }
    }
    if (!held) out.push(`${el.tagName.toLowerCase()}.${el.classList.value} (right edge ${
      Math.round(box.right)} px)`);
  }
  return out.slice(0, 3);
}"""


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def too_wide(page, live_server, path: str, width: int) -> str | None:
    """None when the page at `path` fits `width`, else what sticks out."""
    response = page.goto(live_server.url + path)
    assert response is not None and response.ok, f"{path}: {response and response.status}"
    scroll = page_width(page)
    if scroll <= width:
        return None
    return f"{path} is {scroll} px wide: " + "; ".join(page.evaluate(OVERFLOWING, width))


@pytest.fixture
def demo_company(settings):
    """The demo company, signed into with its own logins (the demo password is accepted
    only where DEBUG would accept it: here, for this test)."""
    settings.DEMO_PASSWORD_ALLOWED = True
    call_command("seed_demo", stdout=StringIO())


def test_every_navbar_page_fits_a_phone_for_every_role(chromium_browser, live_server, demo_company):
    problems: list[str] = []
    covered: dict[str, int] = {}
    for username in DEMO_USERS:
        context = chromium_browser.new_context(viewport=PHONE)
        context.set_default_timeout(15_000)
        page = context.new_page()
        sign_in(page, live_server, username, password=DEMO_PASSWORD)
        paths = page.evaluate(NAVBAR_PATHS)
        assert reverse("pipeline:board") in paths and reverse("api_keys") in paths
        # The pages the issue named besides the navbar's: a deal on their board (the
        # longest name) and the skills matrix.
        deal = page.evaluate(
            """() => [...document.querySelectorAll('[data-card] a[href]')]
                .sort((a, b) => b.textContent.length - a.textContent.length)[0]
                .getAttribute('href')"""
        )
        extra = [deal, reverse("coaching:matrix")]
        for path in [*paths, *extra]:
            problem = too_wide(page, live_server, path, PHONE["width"])
            if problem:
                problems.append(f"{username}: {problem}")
        covered[username] = len(paths)
        page.goto(live_server.url + reverse("pipeline:board"))
        page.screenshot(path=f"{SCREENSHOTS}/salesops-board-{username}-390.png", full_page=True)
        context.close()
    # A rep's navbar has the fewest links; a leader's and an administrator's (Setup) the most.
    assert 10 <= covered["rep1"] < covered["manager1"] < covered["leader"] <= covered["admin"]
    assert problems == [], "\n".join(problems)


def _six_open_stages(pipeline):
    """The fixture's three open stages and three more between Proposal and Closed won."""
    pipeline.won.order, pipeline.lost.order = 20, 21
    pipeline.won.save(update_fields=["order"])
    pipeline.lost.save(update_fields=["order"])
    return [
        pipeline.discover,
        pipeline.qualify,
        pipeline.proposal,
        *(
            StageFactory(pipeline=pipeline, name=name, order=order, probability=order * 10)
            for order, name in ((4, "Solution"), (5, "Negotiation"), (6, "Contract"))
        ),
    ]


def _board_geometry(page) -> dict:
    return page.evaluate(
        """() => {
          const board = document.querySelector('#board');
          const columns = [...board.querySelectorAll('.so-column')]
            .map(c => c.getBoundingClientRect());
          return {
            page: document.documentElement.scrollWidth,
            boardScroll: board.scrollWidth, boardClient: board.clientWidth,
            widths: columns.map(c => Math.round(c.width)),
            right: Math.max(...columns.map(c => c.right)),
          };
        }"""
    )


def test_the_board_shows_six_stages_on_a_laptop_and_one_column_at_a_time_on_a_phone(
    page, live_server, rep, pipeline
):
    stages = _six_open_stages(pipeline)
    for i, stage in enumerate(stages):
        # Long names, big amounts, owners and flags: what made columns grow to fit a card.
        opp = OpportunityFactory(
            owner=rep,
            stage=stage,
            name=f"Halvorsen Maschinenbau GmbH - Pilot to production - phase {i + 2}",
            amount=Decimal("1544000"),
        )
        OpportunityFlagFactory(opportunity=opp, kind="no_activity", severity="critical")
        OpportunityFlagFactory(opportunity=opp, kind="next_step_overdue", severity="warning")
        OpportunityFlagFactory(opportunity=opp, kind="requalify_due", severity="warning")
    page.set_viewport_size(LAPTOP)
    sign_in(page, live_server, "rep")

    laptop = _board_geometry(page)
    page.screenshot(path=f"{SCREENSHOTS}/salesops-board-six-stages-1440.png")
    assert len(laptop["widths"]) == 6
    assert laptop["page"] <= LAPTOP["width"]
    assert laptop["boardScroll"] <= laptop["boardClient"], laptop  # all six in view
    assert laptop["right"] <= LAPTOP["width"]
    assert max(laptop["widths"]) - min(laptop["widths"]) <= 1, laptop  # equal columns

    # A seventh stage: the board scrolls inside its container, the page still does not.
    StageFactory(pipeline=pipeline, name="Legal review", order=7, probability=85)
    page.reload()
    seven = _board_geometry(page)
    assert len(seven["widths"]) == 7 and seven["page"] <= LAPTOP["width"]
    assert max(seven["widths"]) - min(seven["widths"]) <= 1, seven

    # A phone: one column across (the next one peeks in), the page itself never scrolls.
    page.set_viewport_size(PHONE)
    phone = _board_geometry(page)
    page.screenshot(path=f"{SCREENSHOTS}/salesops-board-six-stages-390.png")
    assert phone["page"] <= PHONE["width"], phone
    assert all(w <= PHONE["width"] - 32 for w in phone["widths"]), phone
    assert phone["boardScroll"] > phone["boardClient"]  # the others are a swipe away
    card = page.locator("[data-card]").first.bounding_box()
    assert card["x"] + card["width"] <= PHONE["width"]


def test_a_deals_next_move_comes_before_its_history_on_a_phone(page, live_server, rep, pipeline):
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Acme rollout")
    OpportunityChange.objects.create(
        opportunity=opp,
        field="amount",
        old_value="1000",
        new_value="2000",
        new_display="EUR 2,000",
        changed_by=rep,
        changed_at=timezone.now(),
    )
    sign_in(page, live_server, "rep")
    page.goto(live_server.url + reverse("pipeline:opportunity_detail", args=[opp.pk]))

    def top(selector: str) -> float:
        return page.locator(selector).bounding_box()["y"]

    def left(selector: str) -> float:
        return page.locator(selector).bounding_box()["x"]

    # A laptop: the move beside the guidance, the history below it.
    assert left("#advance-panel") > left(".so-guidance") + 300
    assert top("#history") > top(".so-guidance")

    page.set_viewport_size(PHONE)
    page.screenshot(path=f"{SCREENSHOTS}/salesops-detail-390.png", full_page=True)
    assert page_width(page) <= PHONE["width"]
    assert top("#advance-panel") < top(".so-guidance") < top("#history")
    assert top("[data-testid=advance]") < top("#history")
