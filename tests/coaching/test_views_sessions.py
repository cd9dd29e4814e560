"""The 1:1 pages through the Django test client: the list (scope, filter, query counts),
the form (follow-ups and coaching guide of the chosen rep and skills, errors with
everything typed kept), the 1:1 page (edit, add action items)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from coaching import services
from coaching.models import ActionItem, CoachingSession
from tests.coaching.conftest import assess
from tests.coaching.test_services_sessions import days, stored_item, stored_session

LIST = reverse("coaching:session_list")
NEW = reverse("coaching:session_create")
HTMX = {"HTTP_HX_REQUEST": "true"}


def detail(session) -> str:
    return reverse("coaching:session_detail", args=[session.pk])


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def form_data(rep, skill, **extra) -> dict:
    data = {
        "rep": rep.pk,
        "held_on": days(0).isoformat(),
        "focus_skill": skill.pk,
        "second_focus_skill": "",
        "notes": "Talked through the Acme call",
        "practice_assignment": "Role-play the opener",
        "items-TOTAL_FORMS": 3,
        "items-INITIAL_FORMS": 0,
    }
    for i in range(3):
        data |= {f"items-{i}-title": "", f"items-{i}-owner": "rep", f"items-{i}-due_on": ""}
    return data | extra


# --- list ---------------------------------------------------------------------------------


def test_list_in_scope_with_rep_filter(logged_in, rep, teammate, manager, other_rep, skills):
    stored_session(rep, manager, skills[0], practice_assignment="Cold-call drill")
    stored_session(teammate, manager, skills[1])
    page = logged_in(manager).get(LIST)
    assert page.status_code == 200
    assert page.content.decode().count('data-testid="session-row"') == 2
    filtered = logged_in(manager).get(LIST, {"rep": rep.pk}).content.decode()
    assert filtered.count('data-testid="session-row"') == 1 and "Cold-call drill" in filtered
    # A rep of another team is not a choice: the filter says so and is ignored.
    other = logged_in(manager).get(LIST, {"rep": other_rep.pk}).content.decode()
    assert "Select a valid choice" in other
    own = logged_in(rep).get(LIST).content.decode()
    assert own.count('data-testid="session-row"') == 1
    assert 'data-testid="new-session"' not in own


def test_list_query_count_is_fixed(
    django_assert_max_num_queries, logged_in, rep, teammate, manager, skills
):
    client = logged_in(manager)
    stored_item(stored_session(rep, manager, skills[0], days_ago=50))

    # The same bound with 1 row and with 31: nothing is read per row.
    with django_assert_max_num_queries(7):
        assert client.get(LIST).status_code == 200
    for i in range(30):
        s = stored_session(
            (rep, teammate)[i % 2], manager, skills[i % 4], days_ago=i,
            second_focus_skill=skills[5],
        )  # fmt: skip
        stored_item(s, done=bool(i % 2))
    with django_assert_max_num_queries(7):
        assert client.get(LIST).status_code == 200


# --- the form -----------------------------------------------------------------------------


def test_a_rep_is_sent_to_their_sessions(logged_in, rep, skills):
    response = logged_in(rep).get(NEW)
    assert response.status_code == 302 and response["Location"] == LIST


def test_form_opens_with_follow_ups_and_the_guide(logged_in, rep, manager, skills):
    previous = stored_session(rep, manager, skills[0], days_ago=14)
    open_item = stored_item(previous, title="Send the mutual action plan")
    stored_item(previous, title="Already done", done=True)
    assess(rep, skills[1], 2, by=manager)
    page = logged_in(manager).get(NEW, {"rep": rep.pk, "focus_skill": skills[1].pk})
    body = page.content.decode()
    assert page.status_code == 200
    assert "Send the mutual action plan" in body and "Already done" not in body
    # The open item can be ticked off right there.
    assert reverse("coaching:action_item_done", args=[open_item.pk]) in body
    assert escape(skills[1].question_list[0]) in body and escape(skills[1].mistake_list[0]) in body
    assert 'data-testid="guide-latest-level"' in body
    assert 'data-testid="rep-levels"' in body


def test_htmx_gets_only_the_context_panel(logged_in, rep, manager, skills):
    stored_item(stored_session(rep, manager, skills[0], days_ago=7), title="Follow the CFO")
    response = logged_in(manager).get(
        NEW,
        {"rep": rep.pk, "focus_skill": skills[2].pk},
        HTTP_HX_TARGET="session-context",
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="session-context"') or "session-context" in body
    assert "Follow the CFO" in body and escape(skills[2].good_list[0]) in body


def test_no_js_show_button_keeps_what_was_typed(logged_in, rep, manager, skills):
    response = logged_in(manager).get(
        NEW,
        {
            "rep": rep.pk,
            "focus_skill": skills[0].pk,
            "notes": "Half-written notes",
            "items-0-title": "Book the demo",
        },
    )
    body = response.content.decode()
    assert "Half-written notes" in body and 'value="Book the demo"' in body
    assert escape(skills[0].question_list[0]) in body


def test_manager_records_a_session(logged_in, rep, manager, skills):
    data = form_data(
        rep,
        skills[0],
        second_focus_skill=skills[1].pk,
        **{
            "items-0-title": "Book a role-play",
            "items-0-due_on": days(3).isoformat(),
            "items-1-title": "Share the rubric",
            "items-1-owner": "manager",
            "items-1-due_on": days(1).isoformat(),
        },
    )
    response = logged_in(manager).post(NEW, data)
    session = CoachingSession.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(session)
    assert (session.rep, session.manager, session.second_focus_skill) == (rep, manager, skills[1])
    assert sorted(ActionItem.objects.values_list("title", "owner")) == [
        ("Book a role-play", rep.pk),
        ("Share the rubric", manager.pk),
    ]


def test_bad_input_is_422_with_everything_kept(logged_in, rep, manager, skills):
    data = form_data(
        rep,
        skills[0],
        held_on=days(1).isoformat(),
        second_focus_skill=skills[0].pk,
        notes="Notes I must not lose",
        **{
            "items-0-title": "Good item",
            "items-0-due_on": days(2).isoformat(),
            "items-2-title": "Late item",
            "items-2-due_on": days(-1).isoformat(),
        },
    )
    response = logged_in(manager).post(NEW, data)
    body = response.content.decode()
    assert response.status_code == 422
    assert "cannot be in the future" in body
    assert "Choose a different second focus skill" in body
    assert "The due date cannot be in the past" in body
    assert "Notes I must not lose" in body
    assert 'value="Late item"' in body and 'value="Good item"' in body
    assert CoachingSession.objects.count() == 0 and ActionItem.objects.count() == 0


def test_a_row_with_a_date_but_no_title_is_an_error(logged_in, rep, manager, skills):
    data = form_data(rep, skills[0], **{"items-1-due_on": days(2).isoformat()})
    response = logged_in(manager).post(NEW, data)
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert CoachingSession.objects.count() == 0


def test_refusals_of_the_form(logged_in, rep, teammate, manager, other_rep, skills):
    assert logged_in(rep).post(NEW, form_data(teammate, skills[0])).status_code == 403
    assert logged_in(manager).post(NEW, form_data(other_rep, skills[0])).status_code == 404
    assert logged_in(manager).post(NEW, {"rep": "x"}).status_code == 422
    assert CoachingSession.objects.count() == 0
    assert logged_in(manager).post(NEW, form_data(rep, skills[0])).status_code == 302
    again = logged_in(manager).post(NEW, form_data(rep, skills[0]))
    assert again.status_code == 422 and "already recorded" in again.content.decode()
    assert CoachingSession.objects.count() == 1


# --- the 1:1 page -------------------------------------------------------------------------


def test_session_page(logged_in, rep, teammate, manager, skills):
    previous = stored_session(rep, manager, skills[0], days_ago=14)
    stored_item(previous, title="Open from last time")
    session = stored_session(
        rep, manager, skills[1], notes="We covered discovery", practice_assignment="Drill"
    )
    stored_item(session, title="New item")
    body = logged_in(manager).get(detail(session)).content.decode()
    for text in ("We covered discovery", "Drill", "Open from last time", "New item"):
        assert text in body
    assert escape(skills[1].question_list[0]) in body
    assert 'data-testid="session-edit"' in body and 'data-testid="add-action-item"' in body
    as_rep = logged_in(rep).get(detail(session)).content.decode()
    assert "We covered discovery" in as_rep and 'data-testid="session-edit"' not in as_rep
    assert logged_in(teammate).get(detail(session)).status_code == 404


def test_edit_session(logged_in, rep, manager, skills):
    session = stored_session(rep, manager, skills[0], notes="Old")
    path = reverse("coaching:session_edit", args=[session.pk])
    version = services.session_version(session)
    data = {"focus_skill": skills[0].pk, "notes": "New", "practice_assignment": "",
            "version": version}  # fmt: skip
    bad = logged_in(manager).post(path, data | {"second_focus_skill": skills[0].pk})
    assert (
        bad.status_code == 422 and "Choose a different second focus skill" in bad.content.decode()
    )
    assert logged_in(rep).post(path, data).status_code == 403
    ok = logged_in(manager).post(path, data)
    assert ok.status_code == 302
    session.refresh_from_db()
    assert session.notes == "New"
    stale = logged_in(manager).post(path, data | {"notes": "Lost"})
    assert stale.status_code == 412 and "Lost" in stale.content.decode()
    session.refresh_from_db()
    assert session.notes == "New"


def test_add_action_item_with_htmx(logged_in, rep, manager, skills):
    session = stored_session(rep, manager, skills[0])
    path = reverse("coaching:session_action_item_add", args=[session.pk])
    client = logged_in(manager)
    ok = client.post(path, {"title": "Call the CFO", "owner": "rep",
                            "due_on": days(2).isoformat()}, **HTMX)  # fmt: skip
    assert ok.status_code == 200 and "Call the CFO" in ok.content.decode()
    bad = client.post(path, {"title": "Late", "owner": "rep", "due_on": days(-1).isoformat()},
                      **HTMX)  # fmt: skip
    assert bad.status_code == 422 and "cannot be in the past" in bad.content.decode()
    plain = client.post(path, {"title": "Plain", "owner": "manager", "due_on": days(1)})
    assert plain.status_code == 302
    assert sorted(ActionItem.objects.values_list("title", "owner")) == [
        ("Call the CFO", rep.pk),
        ("Plain", manager.pk),
    ]
    refused = logged_in(rep).post(path, {"title": "Mine", "owner": "rep", "due_on": days(1)})
    assert refused.status_code == 403
    assert ActionItem.objects.count() == 2
