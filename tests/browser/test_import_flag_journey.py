"""An imported deal in a real browser: its owner completes what the import could not give,
and the attention card follows — the milestones ticked in place, then the close date."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from pipeline import bulk, rules
from pipeline.models import Opportunity, OpportunityFlag
from tests.factories import AccountFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


def sign_in(page, live_server, username: str, password: str = "secret-pass-123") -> None:
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("pipeline:board"))


def test_rep_completes_an_imported_deal(page, live_server, rep, leader, pipeline):
    filled_close = timezone.localdate() + dt.timedelta(days=30)
    (opp_id,) = bulk.opportunities_import_create(
        actor=leader,
        source="crm",
        pipeline_id=pipeline.pk,
        deals=[
            bulk.ImportedDeal(
                external_id="006A1",
                name="Globex expansion",
                account_id=AccountFactory(name="Globex").pk,
                owner_id=rep.pk,
                stage_id=pipeline.qualify.pk,
                status="open",
                amount=Decimal("42000.00"),
                currency="EUR",
                close_date=filled_close,
                created_at=timezone.now() - dt.timedelta(days=3),
                gaps=("close_date",),
            )
        ],
        note="Imported from the CRM",
        tz=zoneinfo.ZoneInfo(settings.TIME_ZONE),
    )
    pain = pipeline.discover.milestones.get(title="Pain identified")
    buyer = pipeline.discover.milestones.get(requires_evidence=True)

    sign_in(page, live_server, "rep")
    page.goto(live_server.url + reverse("pipeline:opportunity_detail", args=[opp_id]))
    card = page.locator("[data-testid=attention-card]")
    assert "Complete the imported deal" in card.inner_text()
    assert (
        f"The import set the close date to {rules.format_day(filled_close)} (end of quarter)"
        in card.inner_text()
    )
    assert "2 milestones of earlier stages are not recorded" in card.inner_text()

    # Discover's milestones, under the earlier stages (its header counts the open ones).
    discover = page.locator(f"[data-bs-target='#stage-{pipeline.discover.pk}']")
    assert "2 required open" in discover.inner_text()
    discover.click()
    page.wait_for_selector(f"#stage-{pipeline.discover.pk}.show")
    # Tick the first one in place: the card follows without a reload.
    page.evaluate("window.__marker = 'same page'")
    page.locator(f"#ms-main-{pain.pk}-done").check()
    page.wait_for_selector(f"#ms-main-{pain.pk}.is-met")
    page.wait_for_selector(
        "[data-testid=attention-card]:has-text('1 milestone of an earlier stage is not recorded')"
    )
    assert page.evaluate("window.__marker") == "same page"

    # The one that needs evidence, with its evidence: only the close date is left.
    page.locator(f"#ms-main-{buyer.pk} textarea[name=evidence]").fill(
        "Their CFO: 'closing the books faster is this year's priority' (call, 2 Nov)"
    )
    page.locator(f"#ms-main-{buyer.pk}-done").check()
    page.wait_for_selector(f"#ms-main-{buyer.pk}.is-met")
    # A locator, not wait_for_function: that evals its string while polling, which the
    # page's CSP refuses.
    expect(card).not_to_contain_text("past the gate")
    assert "The import set the close date" in card.inner_text()
    page.screenshot(path=f"{SCREENSHOTS}/salesops-import-flag.png", full_page=True)

    # The real close date, in the deal's form: the flag is gone.
    real_close = timezone.localdate() + dt.timedelta(days=60)
    page.fill("input[name=close_date]", real_close.isoformat())
    page.click("#edit button[type=submit]")
    page.wait_for_load_state()
    page.wait_for_selector("#edit")
    assert page.locator("[data-testid=attention-card]").count() == 0
    opp = Opportunity.objects.get(pk=opp_id)
    assert (opp.close_date, opp.import_gaps) == (real_close, [])
    flag = OpportunityFlag.objects.get(opportunity_id=opp_id, kind="import_incomplete")
    assert flag.cleared_at is not None
