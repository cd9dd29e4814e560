"""A 1:1 in a real browser: the manager opens the form for the rep, sees what was left
open last time (and ticks it off), picks a focus skill and gets its coaching guide without
a reload, records the 1:1 with an action item, and lands on the 1:1's page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from coaching.models import ActionItem, CoachingSession
from tests.browser.test_proposal_journey import sign_in
from tests.coaching.conftest import ensure_skills

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


def test_manager_records_a_one_on_one(page, live_server, rep, manager):
    # The live server's database is flushed between tests: make sure the framework is there.
    skills = ensure_skills()
    today = timezone.localdate()
    previous = CoachingSession.objects.create(
        rep=rep, manager=manager, focus_skill=skills[0], held_on=today - dt.timedelta(days=14)
    )
    left_open = ActionItem.objects.create(
        session=previous,
        owner=rep,
        title="Send the mutual action plan to Acme",
        due_on=today + dt.timedelta(days=1),
        created_by=manager,
    )

    sign_in(page, live_server, "manager")
    page.goto(live_server.url + reverse("coaching:session_create") + f"?rep={rep.pk}")
    page.evaluate("window.__marker = 'same page'")

    # It opens with last time's open action item, which can be ticked off right here.
    follow_ups = page.locator("[data-testid=follow-ups]")
    assert "Send the mutual action plan to Acme" in follow_ups.inner_text()
    assert page.locator("[data-testid=session-guide]").count() == 0

    # Choosing the focus skill brings its coaching guide (htmx, no reload).
    skill = skills[1]
    page.select_option("#id_focus_skill", str(skill.pk))
    guide = page.locator(f"[data-testid=session-guide][data-skill='{skill.name}']")
    guide.wait_for()
    text = guide.inner_text()
    assert "Questions to ask" in text and skill.question_list[0] in text
    assert "Common mistakes" in text and skill.mistake_list[0] in text
    assert "Send the mutual action plan to Acme" in page.locator("#session-context").inner_text()
    assert page.evaluate("window.__marker") == "same page"

    page.click(f"#action-item-{left_open.pk} button[type=submit]")
    page.wait_for_selector(f"#action-item-{left_open.pk}.is-done")
    left_open.refresh_from_db()
    assert left_open.done_at is not None

    # Record the 1:1 with one action item.
    page.fill("#id_notes", "Walked through the Acme discovery call: good questions on pain.")
    page.fill("#id_practice_assignment", "Role-play a discovery call with a peer.")
    page.fill("#id_items-0-title", "Book a role-play with Sam")
    due = today + dt.timedelta(days=5)
    page.fill("#id_items-0-due_on", due.isoformat())
    page.screenshot(path=f"{SCREENSHOTS}/salesops-session-form.png", full_page=True)
    page.click("[data-testid=save-session]")

    session = CoachingSession.objects.exclude(pk=previous.pk).get()
    page.wait_for_url(f"**/coaching/sessions/{session.pk}/")
    assert str(rep) in page.locator("[data-testid=session-title]").inner_text()
    assert "recorded" in page.locator(".so-messages").inner_text()
    items = page.locator("[data-testid=session-action-items]").inner_text()
    assert "Book a role-play with Sam" in items
    assert skill.question_list[0] in page.locator("[data-testid=session-guide]").inner_text()
    page.screenshot(path=f"{SCREENSHOTS}/salesops-session-detail.png", full_page=True)
    assert (session.rep, session.manager, session.focus_skill) == (rep, manager, skill)
    assert session.practice_assignment == "Role-play a discovery call with a peer."
    item = ActionItem.objects.get(session=session)
    assert (item.title, item.owner, item.due_on) == ("Book a role-play with Sam", rep, due)
