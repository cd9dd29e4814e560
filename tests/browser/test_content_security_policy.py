"""The pages work under the Content-Security-Policy in a real Chromium: a rep and a sales
leader open the main pages (board, a deal, Needs attention, the forecast, a candidate, an
import, the API docs) and the browser refuses nothing — no inline script, handler or style
left anywhere. The forms that delete for good still ask first (data-confirm), and a
"Cancel" sends nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from exchange.models import BatchStatus, ImportBatch
from hiring.models import Candidate
from pipeline.flags import flags_refresh
from tests.browser.test_pipeline_journey import sign_in
from tests.clock import default_clock
from tests.exchange import corpus
from tests.exchange.conftest import make_import_pipeline, sellers  # noqa: F401
from tests.exchange.test_views import configure_data, upload
from tests.hiring.conftest import candidate, position, recruiter, schedule, template  # noqa: F401

pytestmark = pytest.mark.browser

# Chromium reports a refusal twice: a `securitypolicyviolation` event in the page and an
# error line in the console. Both are collected, from the first script of every page on.
WATCH = """
window.__refused = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__refused.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at "
    + e.sourceFile + ":" + e.lineNumber);
});
"""


@pytest.fixture
def refused(page) -> list[str]:
    """What the browser refused (or complained about in the security headers) so far."""
    console: list[str] = []
    page.add_init_script(WATCH)
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if "Content Security Policy" in message.text or "Permissions-Policy" in message.text
            else None
        ),
    )
    return console


def visit(page, refused: list[str], url: str, ready: str) -> None:
    """Open `url`, wait for `ready` (proof that the page's scripts ran where it matters)
    and fail on anything the policy refused."""
    response = page.goto(url)
    assert response is not None and response.ok, url
    assert "script-src 'self'" in response.headers["content-security-policy"], url
    page.locator(ready).first.wait_for()
    page.wait_for_load_state("load")
    page.wait_for_timeout(150)  # a refusal's event is dispatched after the fact
    assert page.evaluate("window.__refused") == [], url
    assert refused == [], url


@pytest.fixture
def world(request, rep, leader, opportunity, admin_user):
    """A deal of the rep with flags, a candidate both interview, and a finished import."""
    flags_refresh(opportunity_ids=[opportunity.pk])
    applicant = request.getfixturevalue("candidate")
    hiring_lead = request.getfixturevalue("recruiter")
    schedule(hiring_lead, applicant, rep, "Discovery")
    schedule(hiring_lead, applicant, leader, "Coachability")
    imports_into = make_import_pipeline("Imported business")  # beside the cast's pipeline
    request.getfixturevalue("sellers")
    importer = Client()
    importer.force_login(leader)
    upload(importer, corpus.salesforce(corpus.true_deals(default_clock().date(), count=5)))
    batch = ImportBatch.objects.get()
    importer.post(
        reverse("exchange:batch_configure", args=[batch.pk]),
        configure_data(batch, pipeline_id=str(imports_into.pk), **{"import": "1"}),
    )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE
    return {"opp": opportunity, "candidate": applicant, "batch": batch}


def main_pages(world) -> list[tuple[str, str]]:
    return [
        (reverse("pipeline:board"), "#board"),
        (reverse("pipeline:opportunity_detail", args=[world["opp"].pk]), "main h1"),
        (reverse("pipeline:attention"), "main h1"),
        (reverse("hiring:candidate", args=[world["candidate"].pk]), "[data-testid=candidate-name]"),
        # Swagger UI drew the operations: its scripts (bundle and start-up) ran.
        (reverse("api:docs"), ".opblock"),
    ]


def test_a_rep_meets_no_refusal(page, live_server, refused, world):
    sign_in(page, live_server, "rep")
    for url, ready in [*main_pages(world), (reverse("forecasting:home"), "main h1")]:
        visit(page, refused, live_server.url + url, ready)


def test_a_leader_meets_no_refusal(page, live_server, refused, world):
    sign_in(page, live_server, "leader")
    pages = [
        *main_pages(world),
        (reverse("forecasting:dashboard"), "main h1"),
        (reverse("insights:home"), "main h1"),
        (reverse("exchange:batch_detail", args=[world["batch"].pk]), "[data-testid=undo]"),
    ]
    for url, ready in pages:
        visit(page, refused, live_server.url + url, ready)


def test_erasing_a_candidate_asks_first(page, live_server, refused, world):
    applicant = world["candidate"]
    sign_in(page, live_server, "admin")
    visit(
        page,
        refused,
        live_server.url + reverse("hiring:candidate", args=[applicant.pk]),
        "[data-testid=erase]",
    )
    questions: list[str] = []

    def answer(accept: bool):
        def handle(dialog):
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    page.once("dialog", answer(False))
    page.get_by_test_id("erase").click()
    page.wait_for_timeout(300)  # what a submitted form would have needed to leave
    assert questions == ["Erase this candidate’s personal data for good?"]
    assert Candidate.objects.get(pk=applicant.pk).anonymised_at is None

    page.once("dialog", answer(True))
    page.get_by_test_id("erase").click()
    page.get_by_text("Their personal data is erased").wait_for()
    assert Candidate.objects.get(pk=applicant.pk).anonymised_at is not None
    assert page.evaluate("window.__refused") == [] and refused == []


def test_undoing_an_import_asks_first(page, live_server, refused, world):
    batch = world["batch"]
    sign_in(page, live_server, "leader")
    url = live_server.url + reverse("exchange:batch_detail", args=[batch.pk])
    visit(page, refused, url, "[data-testid=undo]")
    questions: list[str] = []
    page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
    page.get_by_test_id("undo").click()
    page.wait_for_timeout(300)
    assert questions == ["Delete everything this import created?"]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE

    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("undo").click()
    page.get_by_text("Undone by").wait_for()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.UNDONE
