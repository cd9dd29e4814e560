"""/forecast/quotas/: administrators and sales leaders edit the grid (all changed cells or
none, the refusal at its cell, what was typed kept); managers and reps read it in their
scope."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from forecasting.models import Quota
from salesops.models import Role
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("forecasting:quota_list")
Q3 = dt.date(2026, 7, 1)
NOW = dt.datetime.fromisoformat("2026-11-25T10:00:00+01:00")


def quota(**fields) -> Quota:
    return Quota.objects.create(
        **{"period_kind": "quarter", "period_start": Q3, "amount": 1, "currency": "EUR"} | fields
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def grid_post(response_html: str, **typed: str) -> dict[str, str]:
    """What the page's form posts as it stands, with `typed` cells changed (keys like
    "rep-12-amount"): every input and hidden field of the form."""
    form = response_html[response_html.index('data-testid="quota-form"') :]
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            data[name.group(1)] = value.group(1) if value else ""
    return data | typed


def cell_errors(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", e).strip()
        for e in re.findall(r'data-testid="cell-error">(.*?)</div>', html, re.S)
    ]


@pytest.fixture
def cast(rep, teammate, other_rep, manager, other_manager, leader, admin_user):
    return {"rep": rep, "teammate": teammate, "other_rep": other_rep}


def test_an_administrator_edits_the_grid(admin_user, cast, team_a, team_b):
    rep, teammate = cast["rep"], cast["teammate"]
    quota(rep=teammate, amount=500)
    quota(team=team_b, amount=900)
    client = client_for(admin_user)
    page = client.get(URL, {"period": "2026-Q3"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Quotas · 2026-Q3" in html
    assert f'name="rep-{teammate.pk}-was" value="500.00 EUR"' in html

    data = grid_post(
        html,
        **{
            f"rep-{rep.pk}-amount": "120000",
            f"rep-{teammate.pk}-amount": "650.50",
            f"team-{team_b.pk}-amount": "",
            f"team-{team_a.pk}-amount": "250000",
            f"team-{team_a.pk}-currency": "usd",
        },
    )
    response = client.post(URL, data)

    assert response.status_code == 302 and response["Location"] == f"{URL}?period=2026-Q3"
    assert set(Quota.objects.values_list("rep_id", "team_id", "amount", "currency")) == {
        (rep.pk, None, Decimal("120000.00"), "EUR"),
        (teammate.pk, None, Decimal("650.50"), "EUR"),
        (None, team_a.pk, Decimal("250000.00"), "USD"),
    }
    after = client.get(response["Location"]).content.decode()
    assert "Quotas of 2026-Q3: 2 set, 1 changed, 1 removed." in after


def test_a_refused_cell_saves_nothing_and_keeps_what_was_typed(admin_user, cast, team_a):
    rep, teammate = cast["rep"], cast["teammate"]
    quota(rep=teammate, amount=500)
    client = client_for(admin_user)
    html = client.get(URL, {"period": "2026-Q3"}).content.decode()

    response = client.post(
        URL,
        grid_post(
            html,
            **{
                f"rep-{rep.pk}-amount": "1000",
                f"rep-{teammate.pk}-amount": "-3",
                f"team-{team_a.pk}-amount": "12abc",
                f"team-{team_a.pk}-currency": "E1",
            },
        ),
    )

    # The form refuses "12abc" before the service is asked: nothing saved.
    assert response.status_code == 422
    out = response.content.decode()
    assert "Enter a number." in cell_errors(out)
    assert 'value="12abc"' in out and 'value="1000"' in out
    assert Quota.objects.count() == 1

    response = client.post(
        URL,
        grid_post(
            html,
            **{
                f"rep-{rep.pk}-amount": "1000",
                f"rep-{teammate.pk}-amount": "-3",
                f"team-{team_a.pk}-amount": "12",
                f"team-{team_a.pk}-currency": "E1",
            },
        ),
    )
    assert response.status_code == 422
    out = response.content.decode()
    assert sorted(cell_errors(out)) == [
        "The amount cannot be negative.",
        "Use a three-letter ISO currency code, e.g. EUR.",
    ]
    assert "2 quotas could not be saved, so none was" in out
    assert 'value="-3"' in out and 'value="1000"' in out and 'value="E1"' in out
    assert list(Quota.objects.values_list("rep_id", "amount")) == [(teammate.pk, Decimal("500"))]


def test_a_cell_someone_else_changed_meanwhile(admin_user, cast):
    rep = cast["rep"]
    quota(rep=rep, amount=500)
    client = client_for(admin_user)
    html = client.get(URL, {"period": "2026-Q3"}).content.decode()
    Quota.objects.filter(rep=rep).update(amount=700)

    response = client.post(URL, grid_post(html, **{f"rep-{rep.pk}-amount": "800"}))

    assert response.status_code == 422
    assert cell_errors(response.content.decode()) == [
        "Changed by someone else meanwhile (now: 700.00 EUR). Reload the page."
    ]
    assert Quota.objects.get(rep=rep).amount == Decimal("700")


def test_a_sales_leader_edits_the_grid(leader, cast, team_a):
    rep = cast["rep"]
    quota(rep=rep, amount=100)
    client = client_for(leader)
    html = client.get(URL, {"period": "2026-Q3"}).content.decode()
    assert 'data-testid="quota-form"' in html
    assert 'data-testid="nav-setup"' in html  # the Setup hub is theirs too

    response = client.post(
        URL, grid_post(html, **{f"rep-{rep.pk}-amount": "150000", f"team-{team_a.pk}-amount": "9"})
    )

    assert response.status_code == 302
    assert Quota.objects.get(rep=rep).amount == Decimal("150000")
    assert Quota.objects.get(team=team_a).amount == Decimal("9")


@pytest.mark.parametrize("role", ["manager", "rep"])
def test_the_others_read_in_their_scope_and_cannot_post(role, request, cast, team_a, team_b):
    user = request.getfixturevalue(role)
    quota(rep=cast["rep"], amount=100)
    quota(rep=cast["other_rep"], amount=200)
    quota(team=team_b, amount=900)
    client = client_for(user)

    response = client.get(URL, {"period": "2026-Q3"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="quota-form"' not in html and "<input" not in html.split("quota-people")[1]
    keys = re.findall(r'data-testid="quota-row" data-key="([^"]+)"', html)
    expected = {
        "manager": {f"rep-{cast['rep'].pk}", f"rep-{cast['teammate'].pk}", f"team-{team_a.pk}"},
        "rep": {f"rep-{cast['rep'].pk}"},
    }[role]  # fmt: skip
    assert set(keys) == expected
    if role != "manager":
        assert "100.00" in html

    response = client.post(
        URL,
        {
            "period": "2026-Q3",
            f"rep-{cast['rep'].pk}-amount": "5",
            f"rep-{cast['rep'].pk}-was": "100 EUR",
        },
    )
    assert response.status_code == 403
    assert "Only an administrator or a sales leader can set quotas." in response.content.decode()
    assert Quota.objects.get(rep=cast["rep"]).amount == Decimal("100")


@pytest.mark.time_machine(NOW, tick=False)  # the current quarter is 2026-Q4
def test_a_bad_period_shows_the_current_quarter_and_saves_nothing(admin_user, cast):
    client = client_for(admin_user)
    response = client.get(URL, {"period": "2026-Q7"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "the quarter must be Q1-Q4" in html and "Quotas · 2026-Q4" in html

    response = client.post(
        URL,
        {"period": "nope", f"rep-{cast['rep'].pk}-amount": "5", f"rep-{cast['rep'].pk}-was": ""},
    )
    assert response.status_code == 422
    assert not Quota.objects.exists()


@pytest.mark.time_machine(NOW, tick=False)  # the current quarter is 2026-Q4
def test_months_and_the_period_picker(admin_user, cast):
    client = client_for(admin_user)
    html = client.get(URL, {"period": "2026-08"}).content.decode()
    assert "Quotas · 2026-08" in html
    assert '<option value="2027-Q4"' in html  # four quarters ahead
    assert '<option value="2027-11"' in html  # twelve months ahead
    response = client.post(
        URL, grid_post(html, **{f"rep-{cast['rep'].pk}-amount": "40"}) | {"period": "2026-08"}
    )
    assert response.status_code == 302
    assert Quota.objects.get().period_kind == "month"


@pytest.mark.parametrize("many", [False, True])
def test_query_count(admin_user, manager, team_a, django_assert_max_num_queries, many):
    UserFactory(username="solo", role=Role.REP, team=team_a)
    if many:
        for i in range(8):
            team = TeamFactory(name=f"Team {i}", parent=team_a if i % 2 else None)
            for j in range(5):
                user = UserFactory(username=f"r{i}-{j}", role=Role.REP, team=team)
                quota(rep=user, amount=10 * j)
            quota(team=team, amount=1000)
    for client in (client_for(admin_user), client_for(manager)):
        with django_assert_max_num_queries(7):
            assert client.get(URL, {"period": "2026-Q3"}).status_code == 200
