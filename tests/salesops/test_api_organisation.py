"""/api/v1/organisation/: read by anyone signed in, changed by administrators with the same
service as the setup page."""

from __future__ import annotations

import pytest

from salesops import organisation
from salesops.models import Organisation

URL = "/api/v1/organisation/"


def test_everyone_reads_the_settings(key_for, rep):
    response = key_for(rep, scopes=("read",)).get(URL)
    assert response.status_code == 200
    defaults = organisation.defaults()
    assert response.json() == {
        "name": "",
        "default_currency": defaults.default_currency,
        "fiscal_year_start_month": defaults.fiscal_year_start_month,
        "time_zone": defaults.time_zone,
    }


def test_an_admin_changes_them(key_for, admin_user):
    response = key_for(admin_user).patch(
        URL, {"default_currency": "gbp", "time_zone": "Europe/London"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["default_currency"] == "GBP"
    row = Organisation.objects.get()
    assert (row.default_currency, row.time_zone, row.updated_by) == (
        "GBP",
        "Europe/London",
        admin_user,
    )
    assert key_for(admin_user).get(URL).json()["time_zone"] == "Europe/London"


@pytest.mark.parametrize("who", ["rep", "manager", "leader"])
def test_others_are_refused(key_for, db, request, who):
    response = key_for(request.getfixturevalue(who)).patch(URL, {"name": "X"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Organisation.objects.exists()


def test_a_read_only_key_writes_nothing(key_for, admin_user):
    response = key_for(admin_user, scopes=("read",)).patch(URL, {"name": "X"}, format="json")
    assert response.status_code == 403
    assert not Organisation.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"fiscal_year_start_month": 13}, "fiscal_year_start_month", "1 (January) to 12"),
        ({"fiscal_year_start_month": "April"}, "fiscal_year_start_month", "valid integer"),
        ({"time_zone": "Berlin"}, "time_zone", "not a time zone name"),
        ({"default_currency": "euro"}, "default_currency", "three-letter"),
        ({"name": ""}, "name", "Give the company's name"),
        ({"colour": "blue"}, "colour", "Unknown field"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(key_for, admin_user, body, field, message):
    response = key_for(admin_user).patch(URL, body, format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid"
    assert message in error["details"][field][0], error
    assert not Organisation.objects.exists()
