"""The people list (page and API) and its CSV export in the people import's columns: who may
see whom, every column checked against the records, filters, a fixed number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesops import selectors
from salesops.columns import PEOPLE_COLUMNS, column_names, unsafe_cell
from salesops.exceptions import PermissionDenied
from salesops.models import Role, User
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

PEOPLE_API = "/api/v1/people/"
PEOPLE_CSV = "/api/v1/people/export.csv"


def read_csv(response) -> tuple[list[str], list[dict[str, str]]]:
    assert response.status_code == 200, getattr(response, "content", b"")[:300]
    data = b"".join(response.streaming_content)
    assert data.startswith("\ufeff".encode())
    raw = list(csv.reader(io.StringIO(data.decode("utf-8")[1:], newline="")))
    return raw[0], [dict(zip(raw[0], map(unsafe_cell, row), strict=True)) for row in raw[1:]]


def expected_person(u: User) -> dict[str, str]:
    """A person's row as the people import reads it, from the records."""
    team = u.team
    manager = team.manager if team else None
    return {
        "name": f"{u.first_name} {u.last_name}".strip(),
        "email": u.email,
        "username": u.username,
        "role": u.role,
        "team": team.name if team else "",
        "parent_team": team.parent.name if team and team.parent else "",
        "manager": (manager.email or manager.username) if manager else "",
        "start_date": u.started_on.isoformat() if u.started_on else "",
        "active": "yes" if u.is_active else "no",
    }


@pytest.fixture
def people(rep, teammate, manager, other_manager, other_rep, leader, admin_user, team_a):
    """The cast, plus a sub-team of Team A with a manager who has no email, a rep there who
    started in spring, a deactivated rep, someone in no team and a name that looks like a
    formula to a spreadsheet."""
    north_lead = UserFactory(username="north_lead", email="", role=Role.MANAGER)
    north = TeamFactory(name="Team A North", parent=team_a, manager=north_lead)
    north_lead.team = north
    north_lead.save(update_fields=["team"])
    UserFactory(
        username="zoe", first_name="Zoë", last_name="O'Brien, Jr.", team=north,
        started_on=dt.date(2026, 4, 1),
    )  # fmt: skip
    UserFactory(username="gone", team=team_a, is_active=False)
    UserFactory(username="loner", first_name="=Lone", last_name="Wolf", team=None)
    return north


def ordered(users) -> list[User]:
    return sorted(users, key=lambda u: (u.username, u.pk))


def test_people_export_writes_every_column_of_everyone(client, leader, people):
    client.force_login(leader)
    header, rows = read_csv(client.get(reverse("people"), {"format": "csv"}))
    assert header == list(column_names(PEOPLE_COLUMNS))
    everyone = ordered(User.objects.select_related("team__parent", "team__manager"))
    assert rows == [expected_person(u) for u in everyone]
    zoe = next(row for row in rows if row["username"] == "zoe")
    assert zoe == {
        "name": "Zoë O'Brien, Jr.",
        "email": "zoe@example.com",
        "username": "zoe",
        "role": "rep",
        "team": "Team A North",
        "parent_team": "Team A",
        "manager": "north_lead",  # the team's manager has no email: their username
        "start_date": "2026-04-01",
        "active": "yes",
    }
    rep_row = next(row for row in rows if row["username"] == "rep")
    assert (rep_row["manager"], rep_row["parent_team"]) == ("manager@example.com", "")
    assert next(row for row in rows if row["username"] == "gone")["active"] == "no"


def test_a_name_like_a_formula_is_written_as_text(client, admin_user, people):
    client.force_login(admin_user)
    response = client.get(reverse("people"), {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8")
    assert "'=Lone Wolf" in text and ",=Lone" not in text


def test_a_manager_sees_their_teams_with_sub_teams(client, manager, people):
    client.force_login(manager)
    _, rows = read_csv(client.get(reverse("people"), {"format": "csv"}))
    assert [row["username"] for row in rows] == [
        "gone", "manager", "north_lead", "rep", "teammate", "zoe",
    ]  # fmt: skip
    page = client.get(reverse("people"))
    assert page.status_code == 200
    assert [u.username for u in page.context["page"].object_list] == [
        row["username"] for row in rows
    ]


def test_filters_of_the_page_and_its_export(client, leader, people, team_a):
    client.force_login(leader)
    _, rows = read_csv(client.get(reverse("people"), {"team": people.pk, "format": "csv"}))
    assert [row["username"] for row in rows] == ["north_lead", "zoe"]
    _, rows = read_csv(client.get(reverse("people"), {"team": team_a.pk, "format": "csv"}))
    assert "zoe" in {row["username"] for row in rows}  # sub-teams included
    _, rows = read_csv(client.get(reverse("people"), {"role": "manager", "format": "csv"}))
    assert {row["role"] for row in rows} == {"manager"}
    page = client.get(reverse("people"), {"search": "o'brien", "page": 1})
    assert [u.username for u in page.context["page"].object_list] == ["zoe"]
    assert 'href="?search=o%27brien&amp;format=csv"' in page.content.decode()


@pytest.mark.parametrize("who", ["rep", "teammate"])
def test_a_rep_lists_nobody(client, request, people, who, key_for):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(reverse("people")).status_code == 403
    assert client.get(reverse("people"), {"format": "csv"}).status_code == 403
    api = key_for(user, ("read",))
    for path in (PEOPLE_API, PEOPLE_CSV):
        response = api.get(path)
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    with pytest.raises(PermissionDenied):
        selectors.people_list_for(user)


def test_the_people_api(manager, leader, people, key_for):
    body = key_for(manager, ("read",)).get(PEOPLE_API).json()
    assert body["count"] == 6
    zoe = next(p for p in body["results"] if p["username"] == "zoe")
    assert zoe == {
        "id": zoe["id"],
        "username": "zoe",
        "name": "Zoë O'Brien, Jr.",
        "email": "zoe@example.com",
        "role": "rep",
        "team": {"id": people.pk, "name": "Team A North"},
        "started_on": "2026-04-01",
        "is_active": True,
    }
    leader_api = key_for(leader, ("read",))
    assert leader_api.get(PEOPLE_API).json()["count"] == User.objects.count()
    _, rows = read_csv(leader_api.get(PEOPLE_CSV, {"team": people.pk}, HTTP_ACCEPT="text/csv"))
    assert [row["username"] for row in rows] == ["north_lead", "zoe"]
    bad = leader_api.get(PEOPLE_CSV, {"role": "chief"})
    assert bad.status_code == 400 and "role" in bad.json()["details"]
    assert leader_api.get(PEOPLE_API, {"team": "x"}).status_code == 400


def _count(client, path, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, params)
        if response.streaming:
            b"".join(response.streaming_content)
        else:
            assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/people/", {}),
        ("/people/", {"format": "csv", "team": "TEAM"}),
        (PEOPLE_API, {}),
        (PEOPLE_CSV, {"team": "TEAM"}),
    ],
)
def test_people_query_count_does_not_grow(client, manager, team_a, people, key_for, path, params):
    params = {k: (team_a.pk if v == "TEAM" else v) for k, v in params.items()}
    if path.startswith("/api/"):
        client = key_for(manager, ("read",))
    else:
        client.force_login(manager)
    _count(client, path, params)  # an API key is stamped on its first use
    one = _count(client, path, params)
    for n in range(60):
        UserFactory(username=f"extra{n:02d}", team=people if n % 2 else team_a)
    assert _count(client, path, params) == one
