"""Junk in query strings and forms on the forecasting pages is answered with a 4xx page or
the page with its error, never a 500 (out-of-range periods and weeks, NUL bytes, huge ids,
non-numbers, NaN and Infinity in money fields)."""

import pytest

pytestmark = pytest.mark.django_db

URLS = [
    "/forecast/?period=%00",
    "/forecast/?period=9999-Q4",
    "/forecast/?period=0000-Q1",
    "/forecast/?team=abc",
    "/forecast/?team=99999999999999999999",
    "/forecast/?format=csv&table=x",
    "/forecast/dashboard/?team=abc&period=9999-Q4",
    "/forecast/dashboard/?period=0001-Q1",
    "/forecast/dashboard/?period=FY0001-Q1",
    "/forecast/dashboard/?format=csv&table=%00",
    "/forecast/deals/?figure=x&page=-1",
    "/forecast/deals/?figure=commit&page=999999999999",
    "/forecast/deals/?change=new&week=0001-01-01",
    "/forecast/deals/?category=commit&week=x",
    "/forecast/deals/?category=commit&week=0001-01-01",
    "/forecast/deals/?figure=commit&period=9999-12",
    "/forecast/meetings/?team=1e5",
    "/forecast/meetings/?period=%FF",
    "/forecast/meetings/?page=abc",
    "/forecast/meetings/999999999999999999999/",
    "/forecast/meetings/new/?team=x&period=y",
    "/forecast/meetings/new/?period=9999-Q4",
]


@pytest.mark.parametrize("url", URLS)
def test_no_500(client, leader, url):
    client.force_login(leader)
    r = client.get(url)
    assert r.status_code < 500, (url, r.status_code)


@pytest.mark.parametrize(
    "data",
    [
        {"period": "9999-Q4", "commit": "1e30", "best_case": "x"},
        {"period": "\x00", "commit": "-1", "best_case": "NaN", "team": "abc"},
        {
            "period": "2099-Q4",
            "commit": "Infinity",
            "best_case": "1",
            "team": "999999999999999999999",
        },
    ],
)
def test_calls_no_500(client, leader, rep, data):
    for who in (leader, rep):
        client.force_login(who)
        r = client.post("/forecast/calls/", data)
        assert r.status_code < 500, (data, r.status_code)


@pytest.mark.parametrize(
    "data",
    [
        {"period": "9999-Q4", "team": "x", "held_on": "0001-01-01", "attendees": ["a"]},
        {"period": "\x00", "team": "99999999999999999999", "held_on": "9999-99-99"},
    ],
)
def test_meetings_no_500(client, leader, data):
    client.force_login(leader)
    r = client.post("/forecast/meetings/new/", data)
    assert r.status_code < 500, (data, r.status_code)
