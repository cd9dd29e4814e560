"""A person brought in by a people import, in a real browser: the invitation email's link
opens the set-password page (their username shown), a mistyped repetition is refused, the
password is set, they are signed in and go on to Salesops; the link then no longer works.
A screenshot of the page at 390 px wide goes to /tmp (it fits without scrolling sideways)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from exchange import services
from salesops.models import User
from tests.conftest import make_admin

pytestmark = pytest.mark.browser

PEOPLE = (
    b"name,email,role,team,manager\n"
    b"Ana Souza,ana.souza@acme.io,Account Executive,Enterprise,mia@acme.io\n"
    b"Mia Manager,mia@acme.io,Sales Manager,Enterprise,mia@acme.io\n"
)


def test_an_invited_person_sets_their_password(page, live_server, transactional_db, mailoutbox):
    admin = make_admin()
    batch = services.batch_upload(
        actor=admin, kind="people", source="hr", file_name="people.csv", content=PEOPLE
    )
    services.batch_start(actor=admin, batch_id=batch.pk, background=False)
    mail = next(m for m in mailoutbox if m.to == ["ana.souza@acme.io"])
    (link,) = re.findall(r"https?://\S+/accounts/reset/\S+/", mail.body)
    path = urlsplit(link).path

    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(live_server.url + path)
    assert "Set your password" in page.inner_text("main")
    assert "ana.souza" in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path="/tmp/invitation_set_password_390.png", full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})

    page.fill("#id_new_password1", "Rainy-harbour-42")
    page.fill("#id_new_password2", "Rainy-harbour-43")
    page.click("button[type=submit]")
    assert "didn’t match" in page.inner_text("main") or "didn't match" in page.inner_text("main")
    assert not User.objects.get(username="ana.souza").has_usable_password()

    page.fill("#id_new_password1", "Rainy-harbour-42")
    page.fill("#id_new_password2", "Rainy-harbour-42")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/reset/done/$"))
    assert "Your password is set" in page.inner_text("main")
    assert "signed in as ana.souza" in page.inner_text("main")
    page.click("text=Go to Salesops")
    page.wait_for_url(live_server.url + "/")
    assert User.objects.get(username="ana.souza").check_password("Rainy-harbour-42")

    page.goto(live_server.url + path)
    assert "This link does not work any more" in page.inner_text("main")
