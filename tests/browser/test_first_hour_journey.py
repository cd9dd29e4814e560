"""A real company's first hour in a real browser: an empty install, the first administrator
and the setup page, a pipeline from the template, the people from one export and a year of
deals from another (columns mapped, the preview's errors seen, the import watched on its
progress bar — a real Celery worker runs it), and last year's wins in last year's quarters
on the forecast dashboard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from exchange.models import BatchStatus, ImportBatch
from pipeline.models import Opportunity
from salesops.models import User
from tests.celery_worker import running_worker
from tests.clock import default_clock
from tests.exchange import corpus

pytestmark = pytest.mark.browser

PEOPLE = (
    "Full name,Email,Role,Team,Parent team,Manager\r\n"
    "Maria Keller,maria.keller@example.com,VP Sales,Sales,,\r\n"
    "Ana Souza,ana.souza@example.com,Account Executive,Field sales,Sales,"
    "maria.keller@example.com\r\n"
    "Ben Okafor,ben.okafor@example.com,AE,Field sales,Sales,maria.keller@example.com\r\n"
    "Chloé Durand,chloe.durand@example.com,Account Executive,Field sales,Sales,\r\n"
    "Dmitri Ivanov,dmitri.ivanov@example.com,SDR,Field sales,Sales,\r\n"
).encode()


def screenshots(page, name: str) -> None:
    """At 1440 and 390 px wide; at 390 the page itself never scrolls sideways (a wide table
    scrolls inside its card)."""
    page.screenshot(path=f"/tmp/salesops-{name}-1440.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    fits = page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    page.screenshot(path=f"/tmp/salesops-{name}-390.png", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})
    assert fits, f"{name} scrolls sideways at 390 px"


def upload(page, live_server, *, kind: str, source: str, name: str, content: bytes) -> None:
    page.goto(live_server.url + reverse("exchange:batch_list"))
    form = page.get_by_test_id("upload-form")
    form.locator("#id_kind").select_option(kind)
    form.locator("#id_source").fill(source)
    form.locator("#id_file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    form.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url("**/imports/*/")


def test_an_empty_install_gets_its_own_data_and_a_true_dashboard(
    page, live_server, transactional_db, settings
):
    settings.IMPORT_BACKGROUND_ROWS = 100  # the deals file goes to the worker
    today = default_clock().date()
    deals = corpus.true_deals(today, count=160)
    bad_row = (
        "Ana Souza,Initech,Impossible deal,Discover,,100,50,2/31/2027,1/5/2026,Web,006BAD,,\r\n"
    )
    deals_file = corpus.salesforce(deals) + bad_row.encode()

    # The first administrator, then the setup page.
    page.goto(live_server.url + reverse("login"))
    page.wait_for_url("**/setup/first-admin/")
    page.fill("#id_username", "ada")
    page.fill("#id_email", "ada@example.com")
    page.fill("#id_password", "a-long-passphrase")
    page.fill("#id_password_again", "a-long-passphrase")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("setup"))
    assert page.is_visible("[data-testid=setup-imports]")

    # A pipeline from the template.
    page.click("[data-testid=setup-pipelines]")
    form = page.get_by_test_id("template-form")
    form.get_by_label("New business", exact=False).check()
    form.get_by_label("Name of the new pipeline").fill("New business")
    form.get_by_role("button", name="Create pipeline").click()
    page.wait_for_url("**/setup/pipelines/*/")

    # The people: mapped from their header, imported at once.
    upload(page, live_server, kind="people", source="HR", name="people.csv", content=PEOPLE)
    assert "Full name" in page.inner_text("[data-testid=columns]")
    page.get_by_test_id("import").click()
    page.get_by_test_id("status").filter(has_text="Imported").wait_for()
    assert User.objects.exclude(username="ada").count() == 5

    # The deals: a Salesforce report with owners by full name and US dates.
    upload(page, live_server, kind="opportunities", source="Salesforce", name="deals.csv",
           content=deals_file)  # fmt: skip
    columns = page.inner_text("[data-testid=columns]")
    assert "Opportunity Owner" in columns and "Close Date" in columns
    problems = page.inner_text("[data-testid=problems]")
    assert "'2/31/2027' is not a date." in problems
    assert page.inner_text("[data-testid=count-created]") == str(len(deals))
    assert page.inner_text("[data-testid=count-rejected]") == "1"
    assert not Opportunity.objects.exists()  # the preview wrote nothing
    screenshots(page, "import-mapping")

    with running_worker(env={"SALESOPS_IMPORT_TEST_DELAY": "2"}):
        page.get_by_test_id("import").click()
        page.get_by_test_id("progress").wait_for()  # the bar, while the worker runs
        page.get_by_test_id("status").filter(has_text="Imported").wait_for(timeout=60_000)
    screenshots(page, "import-done")
    batch = ImportBatch.objects.get(kind="opportunities")
    assert batch.status == BatchStatus.DONE
    assert batch.counts["created"] == len(deals) and batch.counts["rejected"] == 1

    # Last year's quarters on the dashboard: the wins where they were won.
    won = corpus.won_by_quarter(deals)
    year = today.year - 1
    for quarter in (1, 2, 3, 4):
        page.goto(live_server.url + reverse("forecasting:dashboard") + f"?period={year}-Q{quarter}")
        shown = page.get_attribute("[data-testid=total-closed_won]", "data-value")
        assert Decimal(shown) == won.get((year, quarter), Decimal(0)), (year, quarter)
    assert any(won.get((year, q)) for q in (1, 2, 3, 4))
    assert dt.date(year, 1, 1) < today
