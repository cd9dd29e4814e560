"""The setup hub (/setup/) and the first-run page (/setup/first-admin/)."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse

from salesops import organisation
from salesops.models import AuditEvent, Organisation, Role, User

SETUP = "/setup/"
FIRST_ADMIN = "/setup/first-admin/"
GOOD = {
    "name": "Acme Logistics",
    "default_currency": "usd",
    "fiscal_year_start_month": "4",
    "time_zone": "America/New_York",
}
ADMIN_FORM = {
    "username": "ada",
    "email": "ada@example.com",
    "password": "a-long-passphrase",
    "password_again": "a-long-passphrase",
}


def reversible(name: str) -> bool:
    try:
        reverse(name)
    except NoReverseMatch:
        return False
    return True


# --- the setup hub -------------------------------------------------------------------------


def test_the_hub_shows_the_defaults_before_anything_is_saved(client, admin_user):
    client.force_login(admin_user)
    response = client.get(SETUP)
    assert response.status_code == 200
    form = response.context["form"]
    defaults = organisation.defaults()
    assert form["default_currency"].value() == defaults.default_currency
    assert form["fiscal_year_start_month"].value() == defaults.fiscal_year_start_month
    assert form["time_zone"].value() == defaults.time_zone
    html = response.content.decode()
    assert "Not saved yet" in html
    # The form says, before saving, what a calendar change does to past figures.
    assert 'data-testid="calendar-warning"' in html
    assert "last quarter's numbers" in html and "will change" in html


def test_the_hub_links_to_the_setup_pages_that_exist(client, admin_user):
    client.force_login(admin_user)
    html = client.get(SETUP).content.decode()
    for name, testid in (
        ("pipeline:pipeline_setup_list", "setup-pipelines"),
        ("forecasting:quota_list", "setup-quotas"),
        ("exchange:batch_list", "setup-imports"),
    ):
        # Another engineer's page may not exist yet: then no link, and no error.
        assert (f'data-testid="{testid}"' in html) == reversible(name), name
        if reversible(name):
            assert f'href="{reverse(name)}"' in html
    assert reverse("people") in html and reverse("pipeline:product_list") in html
    assert reverse("api_keys") in html


def test_an_admin_saves_the_settings(client, admin_user):
    client.force_login(admin_user)
    response = client.post(SETUP, GOOD)
    assert response.status_code == 302 and response["Location"] == SETUP
    row = Organisation.objects.get()
    assert (row.name, row.default_currency, row.fiscal_year_start_month, row.time_zone) == (
        "Acme Logistics",
        "USD",
        4,
        "America/New_York",
    )
    assert row.updated_by == admin_user
    page = client.get(SETUP)
    html = page.content.decode()
    assert "Organisation settings saved." in html
    assert "now follow the new fiscal year start and time zone" in html
    assert "Last saved by" in html
    assert page.context["form"]["time_zone"].value() == "America/New_York"
    assert organisation.current().time_zone == "America/New_York"


def test_a_name_only_change_does_not_warn_about_past_figures(client, admin_user):
    client.force_login(admin_user)
    defaults = organisation.defaults()
    client.post(
        SETUP,
        {
            "name": "Acme",
            "default_currency": defaults.default_currency,
            "fiscal_year_start_month": defaults.fiscal_year_start_month,
            "time_zone": defaults.time_zone,
        },
    )
    html = client.get(SETUP).content.decode()
    assert "Organisation settings saved." in html
    assert "now follow the new" not in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required"),
        ("default_currency", "E1R", "three-letter ISO 4217"),
        ("default_currency", "EURO", "at most 3 characters"),
        ("fiscal_year_start_month", "13", "Select a valid choice"),
        ("fiscal_year_start_month", "¹", "Select a valid choice"),
        ("time_zone", "Mars/Olympus_Mons", "Select a valid choice"),
    ],
)
def test_bad_input_is_shown_on_its_field_and_nothing_saved(
    client, admin_user, field, value, message
):
    client.force_login(admin_user)
    response = client.post(SETUP, {**GOOD, field: value})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert any(message in e for e in errors[field]), errors
    assert not Organisation.objects.exists()
    assert not AuditEvent.objects.filter(action="organisation.updated").exists()
    # What was typed stays in the form.
    assert response.context["form"]["name"].value() == GOOD["name"] or field == "name"


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_others_get_403(client, db, request, who):
    client.force_login(request.getfixturevalue(who))
    page = client.get(SETUP)
    assert page.status_code == 403
    assert "Administrators and sales leaders only" in page.content.decode()
    assert client.post(SETUP, GOOD).status_code == 403
    assert not Organisation.objects.exists()


def test_a_sales_leader_gets_the_links_and_reads_the_organisation(client, leader):
    client.force_login(leader)
    page = client.get(SETUP)
    assert page.status_code == 200
    html = page.content.decode()
    for link in ("setup-pipelines", "setup-frameworks", "setup-quotas", "setup-imports"):
        assert f'data-testid="{link}"' in html
    assert 'data-testid="organisation-read-only"' in html
    assert 'name="default_currency"' not in html  # no form: an administrator changes them
    assert client.post(SETUP, GOOD).status_code == 403
    assert not Organisation.objects.exists()
    assert not AuditEvent.objects.filter(action="organisation.updated").exists()


def test_anonymous_is_sent_to_sign_in(client, admin_user):
    response = client.get(SETUP)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_navbar_shows_setup_to_admins_and_leaders_only(
    client, admin_user, leader, manager, rep
):
    for user, shown in ((admin_user, True), (leader, True), (manager, False), (rep, False)):
        client.force_login(user)
        html = client.get(reverse("pipeline:board")).content.decode()
        assert ('data-testid="nav-setup"' in html) is shown, user.username


def test_the_hub_costs_a_fixed_number_of_queries(client, admin_user, django_assert_max_num_queries):
    client.force_login(admin_user)
    client.post(SETUP, GOOD)
    with django_assert_max_num_queries(8):
        assert client.get(SETUP).status_code == 200


# --- the first-run page --------------------------------------------------------------------


def test_an_empty_install_sends_sign_in_to_the_first_run_page(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 302 and response["Location"] == FIRST_ADMIN
    page = client.get(FIRST_ADMIN)
    assert page.status_code == 200
    assert "createsuperuser" in page.content.decode()


def test_the_first_admin_is_created_and_signed_in(client, db):
    response = client.post(FIRST_ADMIN, ADMIN_FORM)
    assert response.status_code == 302 and response["Location"] == SETUP
    user = User.objects.get()
    assert (user.username, user.role, user.is_staff, user.is_superuser) == (
        "ada",
        Role.ADMIN,
        True,
        True,
    )
    hub = client.get(SETUP)  # signed in as the new administrator
    assert hub.status_code == 200
    assert "you are the administrator" in hub.content.decode()
    # Now the page is gone, and sign-in is sign-in again.
    assert client.get(FIRST_ADMIN).status_code == 404
    client.logout()
    assert client.get(reverse("login")).status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"password_again": "another-passphrase"}, "password_again", "differ"),
        ({"password": "short", "password_again": "short"}, "password", "too short"),
        ({"password": "password123", "password_again": "password123"}, "password", "common"),
        ({"username": "ada lovelace"}, "username", "valid username"),
        ({"email": "nope"}, "email", "valid email"),
        ({"username": ""}, "username", "required"),
    ],
)
def test_bad_input_creates_nobody(client, db, data, field, message):
    response = client.post(FIRST_ADMIN, {**ADMIN_FORM, **data})
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert any(message in e for e in errors[field]), errors
    assert not User.objects.exists()
    assert "_auth_user_id" not in client.session


def test_once_anyone_exists_the_first_run_page_is_404(client, rep):
    before = User.objects.count()
    assert client.get(FIRST_ADMIN).status_code == 404
    assert client.post(FIRST_ADMIN, ADMIN_FORM).status_code == 404
    assert User.objects.count() == before
    assert not User.objects.filter(username="ada").exists()
