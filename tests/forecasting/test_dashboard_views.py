"""The dashboard and drill-down pages (/forecast/dashboard/, /forecast/deals/): who gets
what, the SVG charts and their tables, links whose totals match, empty states, 422 pages in
words for bad input, CSV downloads of every table, and fixed query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from forecasting import selectors
from forecasting import services as forecasting_services
from tests.factories import OpportunityFactory
from tests.forecasting import changes_data, summary_data
from tests.forecasting.changes_data import TODAY, W0, W1

pytestmark = pytest.mark.django_db

E = Decimal
Q3 = "2026-Q3"
DASHBOARD = "/forecast/dashboard/"
DEALS = "/forecast/deals/"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(forecasting_services, "local_today", lambda now=None: TODAY)


@pytest.fixture
def deals(rep, teammate, other_rep, team_b, pipeline):
    summary = summary_data.build(rep=rep, other_rep=other_rep, team_b=team_b, pipeline=pipeline)
    changes = changes_data.build(rep, teammate, other_rep, pipeline)
    return summary, changes


def signed_in(client, user):
    client.force_login(user)
    return client


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_routes_are_named():
    assert reverse("forecasting:dashboard") == DASHBOARD
    assert reverse("forecasting:deals") == DEALS


def test_a_leader_sees_the_charts_and_the_tables(client, deals, leader, rep):
    response = signed_in(client, leader).get(DASHBOARD, {"period": Q3})
    assert response.status_code == 200
    html = response.content.decode()
    for chart in ("attainment", "categories", "coverage", "history", "trend", "waterfall"):
        assert f'data-testid="chart-{chart}"' in html, chart
    assert html.count('data-testid="chart-bar"') > 10
    assert 'data-testid="chart-point"' in html
    # Accessible: a label per chart, a <title> per bar with its value, tables of numbers.
    assert 'role="img" aria-label="Closed won against quota per team"' in html
    # Team A: D1 30,000 + Winner 15,000.
    assert "<title>Team A — Closed won: EUR 45,000.00</title>" in html
    for table in ("attainment", "categories", "coverage", "trend", "changes", "history"):
        assert f'data-testid="table-{table}"' in html
    assert "The whole company" in html
    # No library from elsewhere: inline SVG only.
    assert '<script src="http' not in html and "cdn" not in html.lower()


def test_the_numbers_link_to_their_deals_and_the_totals_match(client, deals, leader, rep):
    client = signed_in(client, leader)
    html = client.get(DASHBOARD, {"period": Q3}).content.decode()
    links = re.findall(
        r'<a href="(/forecast/deals/\?[^"]+)" data-testid="([^"]+)"[^>]*data-value="([^"]+)"', html
    )
    assert len(links) > 30
    kinds = set()
    for href, testid, value in links:
        page = client.get(unescape(href))
        assert page.status_code == 200, href
        total = re.search(r'data-testid="deals-total" data-value="([^"]+)"', page.content.decode())
        assert E(total.group(1)) == E(value), (testid, href)
        kinds.add(testid.split("-")[0])
    assert kinds >= {"total", "team", "trend", "change"}


def test_a_team_s_commit_drills_into_its_deals(client, deals, leader, rep):
    summary, _ = deals
    client = signed_in(client, leader)
    response = client.get(DEALS, {"figure": "commit", "period": Q3, "team": rep.team_id})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Commit · 2026-Q3 · Team A" in html
    expected = selectors.forecast_summary(leader, Q3, rep.team_id).totals.commit
    assert f'data-value="{expected}"' in html
    assert f'href="/opportunities/{summary.d2.pk}/"' in html
    # Back to the dashboard of the same period and team.
    assert f'href="/forecast/dashboard/?period=2026-Q3&amp;team={rep.team_id}"' in html


def test_a_manager_sees_their_teams_only(client, deals, manager, rep, other_rep):
    client = signed_in(client, manager)
    html = client.get(DASHBOARD, {"period": Q3}).content.decode()
    assert "Your teams" in html and "Team B" not in html
    assert client.get(DASHBOARD, {"team": other_rep.team_id}).status_code == 404
    assert client.get(DEALS, {"figure": "commit", "team": other_rep.team_id}).status_code == 404
    assert client.get(DASHBOARD, {"team": rep.team_id}).status_code == 200


def test_a_rep_is_sent_to_their_forecast_page(client, rep):
    response = signed_in(client, rep).get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"] == reverse("forecasting:home")


def test_a_rep_drills_into_their_own_numbers(client, deals, rep, teammate):
    client = signed_in(client, rep)
    response = client.get(DEALS, {"figure": "closed_won", "period": Q3})
    assert response.status_code == 200
    assert client.get(DEALS, {"figure": "commit", "owner": teammate.pk}).status_code == 404
    assert client.get(DEALS, {"figure": "commit", "team": rep.team_id}).status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in (DASHBOARD, DEALS + "?figure=commit"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_empty_states_are_said_in_words(client, leader):
    html = signed_in(client, leader).get(DASHBOARD).content.decode()
    assert 'data-testid="empty-quota"' in html
    assert "the first snapshot is taken Monday at 02:00" in html
    assert 'data-testid="empty-changes"' in html


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"period": "2026-Q9"}, "the quarter must be Q1-Q4"),
        ({"period": "soon"}, "is not a period"),
        ({"format": "csv", "table": "secrets"}, "Pick a table"),
    ],
)
def test_bad_dashboard_input_is_a_422_page_in_words(client, leader, query, words):
    response = signed_in(client, leader).get(DASHBOARD, query)
    assert response.status_code == 422
    assert words in unescape(response.content.decode())


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({}, "Give exactly one of"),
        ({"figure": "commit", "change": "new"}, "Give exactly one of"),
        ({"figure": "quota"}, "Pick a figure"),
        ({"change": "sideways"}, "Pick a change"),
        ({"change": "new", "week": "2026-08-11"}, "A week starts on a Monday: 2026-08-10"),
        ({"category": "commit"}, "Say which week"),
        ({"category": "commit", "week": "yesterday"}, "Enter a date as YYYY-MM-DD"),
        ({"category": "hot", "week": "2026-08-10"}, "Pick a category"),
        ({"figure": "commit", "period": "2026-13"}, "the month must be 01-12"),
        ({"figure": "commit", "format": "csv", "table": "other"}, "table=deals"),
    ],
)
def test_bad_drill_down_input_is_a_422_page_in_words(client, leader, query, words):
    response = signed_in(client, leader).get(DEALS, query)
    assert response.status_code == 422
    assert words in unescape(response.content.decode())


@pytest.mark.parametrize(
    "query",
    [
        {"team": "abc"},
        {"team": "-1"},
        {"team": "1" * 30},
        {"figure": "commit", "owner": "x"},
        {"figure": "commit", "team": "\x00"},
        {"figure": "commit", "page": "-5"},
        {"change": "new", "week": "9999-12-27", "page": "abc"},
        {"category": "any", "week": "0001-01-01"},
        {"change": "new", "week": "0001-01-01"},  # a Monday with no week before it
        {"change": "new", "week": "0001-01-08"},
        {"figure": "commit", "period": "FY99999-Q1"},
        {"period": "0000-01"},
        {"figure": "commit", "period": "9999-Q4"},
        {"period": "9998-Q4"},  # the last period there is: no next one
        {"period": "0001-Q1"},  # the first: no previous one
        {"period": "0001-01"},
        {"period": "9998-12"},
    ],
)
def test_junk_never_answers_500(client, leader, query):
    for url in (DASHBOARD, DEALS):
        response = signed_in(client, leader).get(url, query)
        assert response.status_code in (200, 404, 422), (url, query, response.status_code)


def test_every_dashboard_table_downloads_as_csv(client, deals, leader, rep):
    client = signed_in(client, leader)
    expected_totals = selectors.forecast_summary(leader, Q3).totals
    for table in (
        "by_team",
        "by_owner",
        "trend",
        "changes",
        "history",
        "accuracy",
        "accuracy_rows",
    ):
        response = client.get(
            DASHBOARD, {"period": Q3, "team": "", "format": "csv", "table": table}
        )
        assert response.status_code == 200, table
        assert response["Content-Disposition"] == (
            f'attachment; filename="forecast-dashboard_2026-Q3_company_{table}.csv"'
        )
        rows = rows_of(response)
        assert rows[0] and all(rows[0])  # a header row
    by_team = rows_of(client.get(DASHBOARD, {"period": Q3, "format": "csv", "table": "by_team"}))
    assert by_team[0][:4] == ["Team", "Currency", "Closed won", "Commit"]
    total = by_team[-1]
    assert total[:3] == ["Total", "EUR", f"{expected_totals.closed_won}"]  # a plain decimal
    assert total[2] == "70000.00"
    changes = rows_of(client.get(DASHBOARD, {"period": Q3, "format": "csv", "table": "changes"}))
    assert changes[1][:2] == [W0.isoformat(), "Last week's total"]
    assert changes[-1][:2] == [W1.isoformat(), "This week's total"]
    team_csv = client.get(
        DASHBOARD, {"period": Q3, "team": rep.team_id, "format": "csv", "table": "trend"}
    )
    assert f"_team-{rep.team_id}_trend.csv" in team_csv["Content-Disposition"]


def test_the_drill_down_downloads_every_deal(client, deals, leader, rep, pipeline):
    for n in range(60):
        OpportunityFactory(
            owner=rep, stage=pipeline.discover, amount=E(100 + n), close_date=dt.date(2026, 8, 3),
            name=f"=cmd{n}" if n == 0 else f"Bulk {n}",
        )  # fmt: skip
    client = signed_in(client, leader)
    query = {"figure": "pipeline", "period": Q3, "team": rep.team_id}
    page = client.get(DEALS, query).content.decode()
    assert page.count('data-testid="deal-row"') == 50 and "Page 1 of 2" in page
    response = client.get(DEALS, query | {"format": "csv", "table": "deals"})
    assert response["Content-Disposition"] == (
        f'attachment; filename="forecast-deals_2026-Q3_team-{rep.team_id}_pipeline.csv"'
    )
    rows = rows_of(response)
    assert rows[0][:3] == ["Opportunity id", "Opportunity", "Owner"]
    assert rows[0][-1] == "Amount"
    expected = selectors.forecast_summary(leader, Q3, rep.team_id).totals.pipeline
    assert (
        len(rows) - 1
        == selectors.summary_figure_deals(leader, "pipeline", Q3, rep.team_id)[3].count()
    )
    assert sum(E(r[-1]) for r in rows[1:]) == expected
    # A formula-looking name stays text in a spreadsheet.
    assert any(r[1] == "'=cmd0" for r in rows[1:])
    change = client.get(DEALS, {"change": "amount_up", "week": W1, "period": Q3, "format": "csv"})
    assert rows_of(change)[0][-3:] == ["Change", "Amount last week", "Amount this week"]


def _queries(client, url, query) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, query).status_code == 200
    return len(ctx)


def test_the_pages_read_a_fixed_number_of_queries(client, deals, leader, rep, pipeline):
    client = signed_in(client, leader)
    dash_q = {"period": Q3}
    drill_q = {"figure": "pipeline", "period": Q3, "team": rep.team_id}
    trend_q = {"category": "pipeline", "week": W1.isoformat(), "period": Q3}
    small = (
        _queries(client, DASHBOARD, dash_q),
        _queries(client, DEALS, drill_q),
        _queries(client, DEALS, trend_q),
    )
    for n in range(80):
        opp = OpportunityFactory(
            owner=rep, stage=pipeline.discover, amount=E(100 + n),
            close_date=dt.date(2026, 8, 1 + n % 28),
        )  # fmt: skip
        changes_data.snap(W1, opp, str(100 + n), opp.close_date, "pipeline")
    large = (
        _queries(client, DASHBOARD, dash_q),
        _queries(client, DEALS, drill_q),
        _queries(client, DEALS, trend_q),
    )
    assert small == large
    assert large[0] <= 24 and large[1] <= 8 and large[2] <= 8, large
