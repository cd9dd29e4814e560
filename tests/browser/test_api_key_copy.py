"""A new API key is shown once: its Copy button puts it on the clipboard and says so."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.test_pipeline_setup_journey import sign_in

pytestmark = pytest.mark.browser


def test_the_new_key_is_copied_with_one_click(page, live_server, rep):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server, "rep")
    page.goto(live_server.url + reverse("api_keys"))
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#raw-key").input_value()
    assert len(key) > 20
    page.get_by_test_id("copy-key").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == key
    assert page.get_by_test_id("copy-key").inner_text() == "Copied"
