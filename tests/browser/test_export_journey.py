"""Products and the CSV export in a real browser: an administrator adds a product, a rep
sells it on a new deal, filters the opportunity list and downloads exactly those deals in
the import's columns."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline.columns import OPPORTUNITY_COLUMNS
from pipeline.models import Opportunity, Product
from salesops.columns import column_names
from tests.browser.test_pipeline_journey import sign_in
from tests.factories import AccountFactory, OpportunityFactory

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


def test_admin_adds_a_product_a_rep_sells_it_and_exports_the_filtered_list(
    chromium_browser, page, live_server, admin_user, rep, pipeline
):
    # The administrator adds the product from the user menu's "Products".
    sign_in(page, live_server, "admin")
    page.click("[data-testid=user-menu]")
    page.click("[data-testid=nav-products]")
    page.click("text=+ New product")
    page.fill("input[name=name]", "Analytics Suite")
    page.fill("input[name=family]", "Platform")
    page.fill("input[name=list_price]", "12500")
    page.fill("input[name=currency]", "EUR")
    page.click("button:has-text('Add product')")
    page.wait_for_url(live_server.url + reverse("pipeline:product_list"))
    assert page.locator("[data-testid=product-table]").inner_text().count("Analytics Suite") == 1
    product = Product.objects.get(name="Analytics Suite")
    assert (product.list_price, product.is_active) == (Decimal("12500.00"), True)

    # The rep sells it on a new deal (in a browser of their own).
    AccountFactory(name="Acme Logistics GmbH")
    OpportunityFactory(owner=rep, stage=pipeline.discover, name="Globex renewal")
    context = chromium_browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(10_000)
    rep_page = context.new_page()
    sign_in(rep_page, live_server, "rep")
    rep_page.goto(live_server.url + reverse("pipeline:opportunity_create"))
    rep_page.fill("input[name=name]", "Acme analytics")
    rep_page.select_option("select[name=account]", label="Acme Logistics GmbH")
    rep_page.fill("input[name=amount]", "12500")
    close = (timezone.localdate() + dt.timedelta(days=90)).isoformat()  # ahead of any clock
    rep_page.fill("input[name=close_date]", close)
    rep_page.select_option("select[name=product]", label="Analytics Suite")
    rep_page.click("button:has-text('Create opportunity')")
    rep_page.wait_for_selector("[data-testid=product]")
    assert rep_page.locator("[data-testid=product]").inner_text() == "Analytics Suite"
    deal = Opportunity.objects.get(name="Acme analytics")

    # The list, filtered, and its CSV: the same deals, every column.
    rep_page.goto(live_server.url + reverse("pipeline:opportunity_list"))
    rep_page.fill("input[name=search]", "acme")
    rep_page.click("button:has-text('Filter')")
    rep_page.wait_for_url("**/opportunities/?*search=acme*")
    assert "Globex renewal" not in rep_page.locator("[data-testid=opportunity-table]").inner_text()
    rep_page.screenshot(path=f"{SCREENSHOTS}/salesops-opportunity-list-csv.png", full_page=True)
    with rep_page.expect_download() as download_info:
        rep_page.click("[data-testid=opportunities-csv]")
    download = download_info.value
    assert download.suggested_filename.startswith("opportunities_")
    data = Path(download.path()).read_bytes()
    context.close()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8")[1:], newline="")))
    assert rows[0] == list(column_names(OPPORTUNITY_COLUMNS))
    assert len(rows) == 2  # the header and the one deal of the filter
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["external_id"] == f"salesops-{deal.pk}"
    assert (row["name"], row["account"], row["product"]) == (
        "Acme analytics",
        "Acme Logistics GmbH",
        "Analytics Suite",
    )
    assert (row["owner"], row["amount"], row["close_date"], row["status"]) == (
        "rep@example.com",
        "12500.00",
        close,
        "open",
    )
