"""The forecast meeting pages: list (filters, pager, fixed queries), the new-meeting form
beside the numbers, the detail with its CSV tables, and the notes edit with a version."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.test import Client

from forecasting.models import ForecastMeeting
from forecasting.rules import PeriodKind
from forecasting.selectors import period_or_current
from forecasting.services import fiscal_calendar, local_today, meeting_create
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

LIST = "/forecast/meetings/"
NEW = "/forecast/meetings/new/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def period() -> str:
    return period_or_current(None).label


def make(actor, team, *, days_ago: int = 0, attendees=None, notes: str = "") -> ForecastMeeting:
    return meeting_create(
        actor=actor,
        period=period(),
        team_id=team.pk,
        held_on=local_today() - dt.timedelta(days=days_ago),
        attendee_ids=attendees or [actor.pk],
        notes=notes,
    )


@pytest.fixture
def risky_deal(rep, pipeline):
    """A commit deal of rep's closing this period without a next step: a risk."""
    return OpportunityFactory(
        owner=rep,
        stage=pipeline.qualify,
        forecast_category="commit",
        next_step="",
        amount=Decimal("4321"),
        close_date=period_or_current(None).last_day,
        name="Risky <deal>",
    )


# --- the list ---


def test_the_list_shows_the_meetings_in_scope(manager, rep, teammate, team_a):
    attended = make(manager, team_a, attendees=[manager.pk, rep.pk])
    make(manager, team_a, days_ago=2)
    page = client_for(manager).get(LIST)
    assert page.status_code == 200
    assert page.content.decode().count('data-testid="meeting-row"') == 2
    assert b'data-testid="new-meeting"' in page.content
    rep_page = client_for(rep).get(LIST).content.decode()
    assert rep_page.count('data-testid="meeting-row"') == 1
    assert f"/forecast/meetings/{attended.pk}/" in rep_page
    assert 'data-testid="new-meeting"' not in rep_page
    assert client_for(teammate).get(LIST).content.decode().count('data-testid="meeting-row"') == 0


def test_the_list_filters_and_says_what_is_wrong(manager, team_a):
    make(manager, team_a)
    assert (
        client_for(manager)
        .get(LIST, {"period": "2001-Q1"})
        .content.count(b'data-testid="meeting-row"')
        == 0
    )
    bad = client_for(manager).get(LIST, {"period": "2026-Q9", "team": "abc"})
    assert bad.status_code == 422
    assert b'data-testid="filter-errors"' in bad.content


@pytest.mark.parametrize("count", [1, 12])
def test_list_page_query_count_is_fixed(manager, team_a, django_assert_num_queries, count):
    for day in range(count):
        make(manager, team_a, days_ago=day)
    client = client_for(manager)
    with django_assert_num_queries(QUERIES_LIST):
        response = client.get(LIST)
    assert response.content.decode().count('data-testid="meeting-row"') == count


QUERIES_LIST = 7  # session, user, navbar counts (2), the teams, count, page


def test_the_list_pages(manager, team_a):
    for day in range(52):
        make(manager, team_a, days_ago=day)
    second = client_for(manager).get(LIST, {"page": 2}).content.decode()
    assert second.count('data-testid="meeting-row"') == 2


# --- the new meeting ---


def test_the_form_shows_the_numbers_and_ticks_the_teams_people(
    manager, rep, teammate, leader, team_a, risky_deal
):
    page = client_for(manager).get(NEW)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="numbers-preview"' in html
    assert 'data-figure="commit"' in html and 'data-value="4321.00"' in html
    assert "1 deal at risk" in html
    assert f'value="{period()}"' in html
    assert f'value="{local_today().isoformat()}"' in html
    for person in (manager, rep, teammate):
        assert f'value="{person.pk}"' in html
    form = page.context["form"]
    assert set(form.initial["attendees"]) == {manager.pk, rep.pk, teammate.pk}  # not the leader
    assert leader.pk in [pk for pk, _ in form.fields["attendees"].choices]


def test_a_rep_is_sent_to_the_list_and_refused_when_posting(rep, team_a):
    client = client_for(rep)
    assert client.get(NEW)["Location"] == LIST
    response = client.post(NEW, {"period": period(), "team": team_a.pk, "attendees": [rep.pk]})
    assert response.status_code == 403
    assert ForecastMeeting.objects.count() == 0


def test_saving_freezes_the_numbers_and_lands_on_the_detail(manager, rep, team_a, risky_deal):
    response = client_for(manager).post(
        NEW,
        {
            "period": period(),
            "team": team_a.pk,
            "held_on": local_today().isoformat(),
            "attendees": [manager.pk, rep.pk],
            "notes": "Pipeline is thin",
        },
    )
    meeting = ForecastMeeting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/forecast/meetings/{meeting.pk}/"
    assert meeting.figures["totals"]["commit"] == "4321.00"
    assert [r["name"] for r in meeting.risks] == ["Risky <deal>"]
    risky_deal.amount = Decimal("1")
    risky_deal.save(update_fields=["amount"])
    detail = client_for(manager).get(response["Location"]).content.decode()
    assert 'data-value="4321.00"' in detail  # frozen, not the deal's amount now
    assert f'href="/opportunities/{risky_deal.pk}/"' in detail
    assert "Risky &lt;deal&gt;" in detail
    assert "No next step" in detail
    # The frozen codes and ISO dates are shown in words: the category's label, "31 Dec 2026".
    risk_row = detail[detail.index('data-testid="risk-row"') :].split("</tr>")[0]
    assert ">Commit<" in risk_row and ">commit<" not in risk_row
    assert f"{risky_deal.close_date:%-d %b %Y}" in risk_row


def test_errors_keep_what_was_typed(manager, other_rep, team_a):
    tomorrow = (local_today() + dt.timedelta(days=1)).isoformat()
    response = client_for(manager).post(
        NEW,
        {
            "period": period(),
            "team": team_a.pk,
            "held_on": tomorrow,
            "attendees": [other_rep.pk],
            "notes": "Keep me",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "cannot be in the future" in html
    assert "Keep me" in html
    assert f'value="{tomorrow}"' in html
    assert ForecastMeeting.objects.count() == 0


def test_a_duplicate_is_shown_on_the_form(manager, team_a):
    make(manager, team_a)
    response = client_for(manager).post(
        NEW,
        {
            "period": period(),
            "team": team_a.pk,
            "attendees": [manager.pk],
            "held_on": local_today().isoformat(),
        },
    )
    assert response.status_code == 422
    assert "already has a forecast meeting" in response.content.decode()
    assert ForecastMeeting.objects.count() == 1


def period_select(html: str) -> list[tuple[str, bool]]:
    """The period <select>'s options: (value, selected)."""
    match = re.search(r'<select name="period"[^>]*>(.*?)</select>', html, re.S)
    assert match, "the period is a select"
    return [(v, bool(s)) for v, s in re.findall(r'<option value="([^"]*)"( selected)?', match[1])]


def test_team_and_period_are_asked_once_and_the_period_is_picked(manager, team_a):
    html = client_for(manager).get(NEW).content.decode()
    assert html.count('name="team"') == 1
    assert html.count('name="period"') == 1
    options = period_select(html)
    calendar = fiscal_calendar()
    quarter = calendar.period_of(local_today(), PeriodKind.QUARTER)
    month = calendar.period_of(local_today(), PeriodKind.MONTH)
    offered = [value for value, _ in options]
    near = (quarter.previous(), quarter, quarter.next(), month.previous(), month, month.next())
    assert {p.label for p in near} <= set(offered)
    assert [value for value, selected in options if selected] == [quarter.label]


def test_a_period_from_a_link_is_offered_even_when_far(manager, team_a):
    far = period_or_current(None).shifted(-8)
    html = client_for(manager).get(NEW, {"period": far.label}).content.decode()
    assert [value for value, selected in period_select(html) if selected] == [far.label]


def test_a_bad_period_in_a_link_is_explained_once_beside_the_field(manager, team_a):
    page = client_for(manager).get(NEW, {"period": "2026-Q9", "team": "junk"})
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("the quarter must be Q1-Q4") == 1
    assert 'id="period-error"' in html
    current = period_or_current(None).label
    assert [value for value, selected in period_select(html) if selected] == [current]
    assert page.context["numbers"].period.label == current  # the current quarter's numbers


def test_a_bad_period_posted_is_refused_once_next_to_the_field(manager, team_a):
    response = client_for(manager).post(
        NEW,
        {
            "period": "2026-Q9",
            "team": team_a.pk,
            "held_on": local_today().isoformat(),
            "attendees": [manager.pk],
            "notes": "Keep me",
        },
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert html.count("the quarter must be Q1-Q4") == 1
    assert list(response.context["form"].errors) == ["period"]
    assert "Keep me" in html
    assert ForecastMeeting.objects.count() == 0


def test_another_teams_id_falls_back_to_a_managed_team(manager, team_a, team_b):
    page = client_for(manager).get(NEW, {"team": team_b.pk})
    assert page.context["team"] == team_a


# --- the detail ---


def test_the_detail_and_its_neighbours(manager, team_a):
    first = make(manager, team_a, days_ago=4)
    second = make(manager, team_a, days_ago=2)
    html = client_for(manager).get(f"/forecast/meetings/{second.pk}/").content.decode()
    assert f'href="/forecast/meetings/{first.pk}/"' in html
    assert 'data-testid="next-meeting"' not in html
    assert 'data-testid="meeting-edit"' in html


def test_outside_the_scope_is_404(manager, teammate, other_manager, team_a):
    meeting = make(manager, team_a)
    for user in (teammate, other_manager):
        assert client_for(user).get(f"/forecast/meetings/{meeting.pk}/").status_code == 404


def test_a_rep_who_attended_reads_without_the_edit_form(manager, rep, team_a):
    meeting = make(manager, team_a, attendees=[manager.pk, rep.pk])
    html = client_for(rep).get(f"/forecast/meetings/{meeting.pk}/").content.decode()
    assert 'data-testid="meeting-title"' in html
    assert 'data-testid="meeting-edit"' not in html


def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_tables(manager, rep, team_a, risky_deal):
    meeting = make(manager, team_a)
    url = f"/forecast/meetings/{meeting.pk}/"
    client = client_for(manager)
    figures = read_csv(client.get(url, {"format": "csv", "table": "figures"}))
    assert figures[0][:3] == ["owner", "closed_won", "commit"]
    assert figures[-1][0] == "Total" and figures[-1][2] == "4321.00"
    risks = read_csv(client.get(url, {"format": "csv", "table": "risks"}))
    assert risks[1][:2] == [str(risky_deal.pk), "Risky <deal>"]
    assert risks[1][-1] == "No next step"
    changes = read_csv(client.get(url, {"format": "csv", "table": "changes"}))
    assert changes == [
        [
            "change",
            "deal id",
            "deal",
            "currency",
            "delta",
            "amount before",
            "amount after",
            "close date before",
            "close date after",
        ]
    ]
    assert client.get(url, {"format": "csv", "table": "nope"}).status_code == 422


# --- editing ---


def test_editing_the_notes_with_the_version(manager, rep, team_a):
    meeting = make(manager, team_a, attendees=[manager.pk, rep.pk], notes="Before")
    url = f"/forecast/meetings/{meeting.pk}/edit/"
    data = {
        "held_on": meeting.held_on.isoformat(),
        "attendees": [manager.pk, rep.pk],
        "notes": "After",
        "version": "1",
    }
    response = client_for(manager).post(url, data)
    assert response.status_code == 302
    stored = ForecastMeeting.objects.get()
    assert (stored.notes, stored.version) == ("After", 2)
    stale = client_for(manager).post(url, data | {"notes": "Lost"})
    assert stale.status_code == 412
    assert "changed by someone else" in stale.content.decode()
    assert "Lost" in stale.content.decode()  # what was typed is kept
    assert ForecastMeeting.objects.get().notes == "After"


def test_a_rep_cannot_edit(manager, rep, team_a):
    meeting = make(manager, team_a, attendees=[manager.pk, rep.pk], notes="Before")
    response = client_for(rep).post(
        f"/forecast/meetings/{meeting.pk}/edit/",
        {"held_on": meeting.held_on.isoformat(), "attendees": [rep.pk], "notes": "Mine"},
    )
    assert response.status_code == 403
    assert ForecastMeeting.objects.get().notes == "Before"


@pytest.mark.parametrize(
    "url",
    [
        LIST + "?period=%00&team=%00",
        LIST + "?page=abc&team=99999999999999999999",
        NEW + "?team=%00&period=%00&held_on=junk",
        NEW + "?team=99999999999999999999&period=FY99999-Q1",
    ],
)
def test_junk_query_strings_never_500(manager, team_a, url):
    make(manager, team_a)
    assert client_for(manager).get(url).status_code in (200, 422)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"team": "abc", "period": "\x00", "attendees": ["x", "1" * 30], "held_on": "junk"},
        {"team": "1", "period": "2026-Q4", "attendees": [str(2**70)]},
    ],
)
def test_junk_posts_are_422_and_save_nothing(manager, team_a, data):
    meeting = make(manager, team_a)
    assert client_for(manager).post(NEW, data).status_code == 422
    edit = client_for(manager).post(f"/forecast/meetings/{meeting.pk}/edit/", data)
    assert edit.status_code == 422
    assert ForecastMeeting.objects.count() == 1
    assert ForecastMeeting.objects.get().version == 1
