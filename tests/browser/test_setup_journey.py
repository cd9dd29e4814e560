"""A real company's first minutes in a real browser: an empty install (no demo, nobody has
an account) sends sign-in to the first-run page; the first administrator is created and
signed in, lands on the setup hub, and saves the organisation's settings. Screenshots of
/setup/ at 390 px and 1440 px wide go to /tmp (the page fits 390 px without scrolling
sideways)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salesops import organisation
from salesops.models import Organisation, Role, User

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_first_admin_then_the_organisations_settings(page, live_server, transactional_db):
    assert not User.objects.exists()

    # Sign-in has nobody to sign in: it sends the visitor to the first-run page.
    page.goto(live_server.url + reverse("login"))
    page.wait_for_url(live_server.url + reverse("setup_first_admin"))
    assert "Nobody has an account here yet" in page.inner_text("main")
    page.set_viewport_size({"width": 390, "height": 900})
    assert fits_the_width(page)
    page.screenshot(path=f"{SCREENSHOTS}/setup_first_admin_390.png", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})

    # Two different passwords: refused, nothing created, what was typed is still there.
    page.fill("#id_username", "ada")
    page.fill("#id_email", "ada@example.com")
    page.fill("#id_password", "a-long-passphrase")
    page.fill("#id_password_again", "another-passphrase")
    page.click("button[type=submit]")
    assert "The two passwords differ." in page.inner_text("main")
    assert page.input_value("#id_username") == "ada"
    assert not User.objects.exists()

    page.fill("#id_password", "a-long-passphrase")
    page.fill("#id_password_again", "a-long-passphrase")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("setup"))
    assert "you are the administrator" in page.inner_text("main")
    admin = User.objects.get()
    assert (admin.username, admin.role, admin.is_superuser) == ("ada", Role.ADMIN, True)
    # The navbar shows Setup to the administrator, marked as the current page.
    assert "active" in page.get_attribute("[data-testid=nav-setup]", "class")

    # The form warns before saving what a new calendar does to past figures.
    assert page.is_visible("[data-testid=calendar-warning]")
    assert "Not saved yet" in page.inner_text("[data-testid=organisation-saved]")
    page.fill("#id_name", "Acme Logistics")
    page.fill("#id_default_currency", "usd")
    page.select_option("#id_fiscal_year_start_month", "4")
    page.select_option("#id_time_zone", "America/New_York")
    page.click("[data-testid=organisation-card] button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert "Organisation settings saved." in page.inner_text(".so-messages")
    assert "Acme Logistics" in page.inner_text("[data-testid=organisation-name]")
    assert "Last saved by ada" in page.inner_text("[data-testid=organisation-saved]")
    assert page.input_value("#id_default_currency") == "USD"
    assert page.input_value("#id_fiscal_year_start_month") == "4"
    assert page.input_value("#id_time_zone") == "America/New_York"

    row = Organisation.objects.get()
    assert (row.name, row.default_currency, row.fiscal_year_start_month, row.time_zone) == (
        "Acme Logistics",
        "USD",
        4,
        "America/New_York",
    )
    assert organisation.current().time_zone == "America/New_York"
    # The first-run page is gone now that someone exists.
    assert page.goto(live_server.url + reverse("setup_first_admin")).status == 404

    page.goto(live_server.url + reverse("setup"))
    page.screenshot(path=f"{SCREENSHOTS}/setup_1440.png", full_page=True)
    # The administrator's navbar (Setup included) stays one line, even at its narrowest.
    for width in (1200, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        assert fits_the_width(page), width
        tops = page.evaluate(
            "[...document.querySelectorAll('nav .nav-link, nav .btn')]"
            ".map(e => Math.round(e.getBoundingClientRect().top))"
        )
        assert max(tops) - min(tops) < 20, (width, tops)
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(live_server.url + reverse("setup"))
    assert fits_the_width(page)
    page.screenshot(path=f"{SCREENSHOTS}/setup_390.png", full_page=True)
