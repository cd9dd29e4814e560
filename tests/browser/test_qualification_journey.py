"""A rep's re-qualification in a real browser: the flag, the form's refusal, the new score."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline import services
from pipeline.models import Qualification
from tests.factories import (
    OpportunityFactory,
    OpportunityFlagFactory,
    QualificationElementFactory,
    QualificationFrameworkFactory,
)

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


def sign_in(page, live_server, username: str, password: str = "secret-pass-123") -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("pipeline:board"))


def test_rep_requalifies_a_flagged_deal(page, live_server, rep, teammate, manager, pipeline):
    framework = QualificationFrameworkFactory(name="MEDDICC (test)")
    names = [
        ("Metrics", "A number the customer's CFO agreed to, in writing."),
        ("Economic buyer", "Met; owns the budget; agreed the problem is worth solving."),
        ("Decision criteria", "The customer's written criteria, and how we rank on each."),
        ("Champion", "Sells for us when we are not in the room, and has tested it."),
    ]
    elements = [
        QualificationElementFactory(framework=framework, name=n, guidance=g, order=i)
        for i, (n, g) in enumerate(names)
    ]
    metrics, buyer = elements[0], elements[1]
    pipeline.framework = framework
    pipeline.save(update_fields=["framework"])
    opp = OpportunityFactory(owner=rep, stage=pipeline.discover, name="Acme rollout")
    old = services.qualification_create(
        opportunity_id=opp.pk,
        actor=rep,
        scores=[{"element": e.pk, "score": 1} for e in elements],
    )
    Qualification.objects.filter(pk=old.pk).update(
        assessed_at=timezone.now() - dt.timedelta(days=33)
    )
    OpportunityFlagFactory(
        opportunity=opp,
        kind="requalify_due",
        severity="warning",
        explanation="The last qualification expired 3 days ago; re-qualify the deal.",
        raised_at=timezone.now() - dt.timedelta(days=3),
    )
    other = OpportunityFactory(owner=rep, stage=pipeline.qualify, name="Globex expansion")
    OpportunityFlagFactory(
        opportunity=other,
        kind="past_close_date",
        severity="critical",
        explanation="The close date passed 5 days ago.",
    )
    OpportunityFactory(owner=rep, stage=pipeline.proposal, name="Initech renewal")
    teammate_deal = OpportunityFactory(owner=teammate, stage=pipeline.qualify, name="Umbrella")
    OpportunityFlagFactory(
        opportunity=teammate_deal, kind="no_activity", explanation="No customer activity."
    )

    sign_in(page, live_server, "rep")
    # The board: a badge per open flag, coloured by severity; the navbar counts them.
    card = page.locator("article.so-card", has_text="Acme rollout")
    assert "Re-qualification due" in card.locator("[data-testid=card-flags]").inner_text()
    assert page.locator(".so-flag-critical", has_text="Close date passed").count() == 1
    assert page.locator("[data-testid=nav-attention] .badge").inner_text() == "2"
    page.screenshot(path=f"{SCREENSHOTS}/salesops-board-flags.png", full_page=True)

    # The attention list: own deals only.
    page.click("[data-testid=nav-attention]")
    page.wait_for_url("**/attention/")
    table = page.locator("[data-testid=attention-table]").inner_text()
    assert "Acme rollout" in table and "Globex expansion" in table and "Umbrella" not in table
    page.screenshot(path=f"{SCREENSHOTS}/salesops-attention.png", full_page=True)

    # The deal: the Attention card and the expired qualification.
    page.click("text=Acme rollout")
    page.wait_for_url(f"**/opportunities/{opp.pk}/")
    attention = page.locator("[data-testid=attention-card]").inner_text()
    assert "Re-qualification due" in attention and "expired 3 days ago" in attention
    assert "expired" in page.locator("[data-testid=qualification-validity]").inner_text()
    page.click("[data-testid=qualify-button]")
    page.wait_for_url(f"**/opportunities/{opp.pk}/qualify/")

    # Score 2 without evidence: refused, next to the row, with everything typed kept.
    page.click(f"label[for=score-{metrics.pk}-3]")
    page.fill(f"#id_evidence_{metrics.pk}", "CFO: matching costs 3 FTE (email, 3 March)")
    page.select_option(f"#id_source_{metrics.pk}", "email")
    page.click(f"label[for=score-{buyer.pk}-2]")
    assert page.locator(f"#element-{buyer.pk} .so-evidence-hint").is_visible()  # the hint
    page.click("[data-testid=save-qualification]")
    page.wait_for_selector(f"#element-{buyer.pk}.has-error")
    row = page.locator(f"#element-{buyer.pk}")
    assert "needs evidence" in row.inner_text()
    assert "Say where the evidence comes from" in row.inner_text()
    assert page.locator(f"#score-{buyer.pk}-2").is_checked()
    assert page.locator(f"#score-{metrics.pk}-3").is_checked()
    assert page.input_value(f"#id_evidence_{metrics.pk}").startswith("CFO: matching costs")
    assert Qualification.objects.count() == 1
    page.screenshot(path=f"{SCREENSHOTS}/salesops-qualify-error.png", full_page=True)

    # Add the evidence and its source: saved; the page shows the new score and the trend.
    page.fill(f"#id_evidence_{buyer.pk}", "Jane Roe (CFO) owns the budget (meeting 5 March)")
    page.select_option(f"#id_source_{buyer.pk}", "meeting")
    page.click("[data-testid=save-qualification]")
    page.wait_for_url(f"**/opportunities/{opp.pk}/#qualification")
    latest = Qualification.objects.order_by("-assessed_at").first()
    assert latest.pk != old.pk
    score = page.locator("[data-testid=qualification-score]").inner_text()
    assert score == f"{latest.score_pct:.0f} %"
    assert "valid until" in page.locator("[data-testid=qualification-validity]").inner_text()
    trend = page.locator("[data-testid=score-trend]")
    assert trend.get_attribute("data-points") == "2"
    assert f"→ {latest.score_pct:.0f} %" in trend.get_attribute("aria-label")
    page.locator("#qualification").scroll_into_view_if_needed()
    page.screenshot(path=f"{SCREENSHOTS}/salesops-detail-qualification.png", full_page=True)
