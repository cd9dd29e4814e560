"""The opportunity list opens on the open deals, soonest close first; closed deals are a
filter away ("Won", "Lost", "All"), newest close first."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pipeline.models import OpportunityStatus
from tests.factories import OpportunityFactory

LIST = reverse("pipeline:opportunity_list")


@pytest.fixture
def deals(rep, pipeline):
    """Open deals due in two weeks, in a month and (overdue) last week; deals won and lost
    last year and last month — the closed ones close earliest of all."""
    today = timezone.localdate()
    now = timezone.now()

    def open_deal(name, days):
        return OpportunityFactory(
            owner=rep, stage=pipeline.discover, name=name, close_date=today + dt.timedelta(days)
        )

    def closed(name, status, days):
        won = status == OpportunityStatus.WON
        return OpportunityFactory(
            owner=rep,
            stage=pipeline.won if won else pipeline.lost,
            name=name,
            status=status,
            closed_at=now,
            forecast_category="closed" if won else "omitted",
            loss_reason="" if won else "Budget",
            close_date=today + dt.timedelta(days),
        )

    return {
        "month": open_deal("Open in a month", 30),
        "overdue": open_deal("Open overdue", -7),
        "fortnight": open_deal("Open in two weeks", 14),
        "won_last_year": closed("Won last year", OpportunityStatus.WON, -400),
        "lost_last_month": closed("Lost last month", OpportunityStatus.LOST, -30),
        "won_last_month": closed("Won last month", OpportunityStatus.WON, -20),
    }


def names(response) -> list[str]:
    assert response.status_code == 200
    return [o.name for o in response.context["page"].object_list]


OPEN_ORDER = ["Open overdue", "Open in two weeks", "Open in a month"]


def test_list_opens_on_the_open_deals_soonest_close_first(client, rep, deals):
    client.force_login(rep)
    response = client.get(LIST)
    assert names(response) == OPEN_ORDER
    # The status filter says so: "Open" is chosen, the closed deals are one choice away.
    body = response.content.decode()
    assert '<option value="open" selected>Open</option>' in body
    for value, label in (("won", "Won"), ("lost", "Lost"), ("all", "All")):
        assert f'<option value="{value}">{label}</option>' in body
    assert "3 open opportunities" in body


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("open", OPEN_ORDER),
        # Closed deals: the most recent close first, last year's at the end.
        ("won", ["Won last month", "Won last year"]),
        ("lost", ["Lost last month"]),
        # Everything: the open deals first as above, then the closed ones, newest first.
        ("all", [*OPEN_ORDER, "Won last month", "Lost last month", "Won last year"]),
        # An empty or unknown status is the default (and an unknown one says so).
        ("", OPEN_ORDER),
        ("bogus", OPEN_ORDER),
    ],
)
def test_list_status_filter_and_order(client, rep, deals, status, expected):
    client.force_login(rep)
    response = client.get(LIST, {"status": status})
    assert names(response) == expected
    if status == "bogus":
        assert "Select a valid choice" in response.content.decode()


def test_other_filters_keep_the_open_default(client, rep, deals, pipeline):
    client.force_login(rep)
    none_open = client.get(LIST, {"search": "last"})
    assert names(none_open) == []
    # An empty list of open deals offers the other statuses, keeping the search.
    assert 'href="?search=last&amp;status=all" data-testid="all-statuses"' in (
        none_open.content.decode()
    )
    assert names(client.get(LIST, {"search": "last", "status": "all"})) == [
        "Won last month",
        "Lost last month",
        "Won last year",
    ]
    # A bad date range is refused; the valid filters still apply: the start and the status.
    today = timezone.localdate()
    response = client.get(
        LIST,
        {
            "status": "won",
            "close_date_from": today - dt.timedelta(days=100),
            "close_date_to": today - dt.timedelta(days=200),
        },
    )
    assert "before its start" in response.content.decode()
    assert names(response) == ["Won last month"]


def csv_text(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def test_csv_link_and_export_follow_the_default(client, rep, deals):
    client.force_login(rep)
    body = client.get(LIST).content.decode()
    assert 'href="?format=csv"' in body
    exported = csv_text(client.get(LIST, {"format": "csv"}))
    assert "Open in a month" in exported and "Won last year" not in exported
    everything = csv_text(client.get(LIST, {"format": "csv", "status": "all"}))
    assert "Open in a month" in everything and "Won last year" in everything


def _queries(client, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(LIST, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("status", [None, "all", "won"])
def test_list_query_count_is_fixed_for_every_status(
    client, rep, manager, pipeline, deals, django_assert_num_queries, status
):
    client.force_login(manager)
    params = {"status": status} if status else {}
    one = _queries(client, params)
    OpportunityFactory.create_batch(60, owner=rep, stage=pipeline.qualify)
    OpportunityFactory.create_batch(
        60,
        owner=rep,
        stage=pipeline.won,
        status=OpportunityStatus.WON,
        closed_at=timezone.now(),
        forecast_category="closed",
    )
    with django_assert_num_queries(one):
        client.get(LIST, {**params, "page": 2})
