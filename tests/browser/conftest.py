"""Real headless Chromium (Debian's) driven by Playwright's sync API against live_server.

Playwright's sync API runs an event loop in this thread, so Django would refuse ORM
calls from the test; they are safe here (no real async code), hence the flag below.
"""

from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Chromium is not installed, so the browser tests cannot run. "
            "Install it with `apt-get install -y chromium` (Debian) and run again.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
