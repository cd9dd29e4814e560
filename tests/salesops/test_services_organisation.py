"""organisation_update and first_admin_create: the database after success and after every
refusal."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import authenticate
from django.db import connection

from forecasting.services import fiscal_calendar
from salesops import organisation
from salesops.exceptions import Conflict, PermissionDenied, ValidationFailed
from salesops.models import AuditEvent, Organisation, Role, User
from salesops.services import first_admin_create, organisation_update

CHANGES = {
    "name": "  Acme Logistics ",
    "default_currency": "usd",
    "fiscal_year_start_month": 4,
    "time_zone": "America/New_York",
}


def audit(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


# --- organisation_update -----------------------------------------------------------------


def test_an_admin_saves_the_settings(admin_user):
    values = organisation_update(actor=admin_user, **CHANGES)

    row = Organisation.objects.get()
    assert (row.pk, row.name, row.default_currency) == (1, "Acme Logistics", "USD")
    assert (row.fiscal_year_start_month, row.time_zone) == (4, "America/New_York")
    assert row.updated_by == admin_user and row.updated_at is not None
    assert values == organisation.from_row(row)
    # This process uses them at once: the fiscal calendar, the time zone, the currency.
    assert organisation.current() == values
    assert fiscal_calendar().start_month == 4
    [event] = audit("organisation.updated")
    assert event.actor == admin_user and event.target_id == 1
    assert event.data["time_zone"] == ["Europe/Berlin", "America/New_York"]
    assert event.data["default_currency"] == ["EUR", "USD"]


def test_a_partial_change_keeps_the_other_values(admin_user):
    organisation_update(actor=admin_user, **CHANGES)
    values = organisation_update(actor=admin_user, name="Acme Group")
    assert values == organisation.OrganisationSettings(
        name="Acme Group",
        default_currency="USD",
        fiscal_year_start_month=4,
        time_zone="America/New_York",
    )
    assert Organisation.objects.get().name == "Acme Group"
    assert audit("organisation.updated")[0].data == {"name": ["Acme Logistics", "Acme Group"]}


def test_the_first_save_starts_from_the_environments_values(admin_user):
    values = organisation_update(actor=admin_user, name="Acme")
    defaults = organisation.defaults()
    assert values == organisation.OrganisationSettings(
        name="Acme",
        default_currency=defaults.default_currency,
        fiscal_year_start_month=defaults.fiscal_year_start_month,
        time_zone=defaults.time_zone,
    )
    assert Organisation.objects.count() == 1


def test_saving_unchanged_values_writes_no_audit(admin_user):
    organisation_update(actor=admin_user, **CHANGES)
    saved = Organisation.objects.get()
    organisation_update(actor=admin_user, **CHANGES)
    assert Organisation.objects.get().updated_at == saved.updated_at
    assert len(audit("organisation.updated")) == 1


@pytest.mark.parametrize("who", ["rep", "manager", "leader"])
def test_only_an_admin_changes_them(db, request, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        organisation_update(actor=actor, **CHANGES)
    assert not Organisation.objects.exists()
    assert audit("organisation.updated") == []
    assert organisation.current() == organisation.defaults()


def test_an_inactive_admin_is_refused(admin_user):
    admin_user.is_active = False
    with pytest.raises(PermissionDenied):
        organisation_update(actor=admin_user, name="Acme")
    assert not Organisation.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "   ", "Give the company's name"),
        ("name", "x" * 121, "at most 120"),
        ("default_currency", "EURO", "three-letter ISO 4217"),
        ("default_currency", "€€€", "three-letter ISO 4217"),
        ("default_currency", None, "three-letter ISO 4217"),
        ("fiscal_year_start_month", 0, "1 (January) to 12 (December)"),
        ("fiscal_year_start_month", 13, "1 (January) to 12 (December)"),
        ("fiscal_year_start_month", True, "1 (January) to 12 (December)"),
        ("fiscal_year_start_month", "4.5", "1 (January) to 12 (December)"),
        ("fiscal_year_start_month", "²", "1 (January) to 12 (December)"),
        ("time_zone", "Mars/Olympus_Mons", "not a time zone name"),
        ("time_zone", "../../etc/passwd", "not a time zone name"),
        ("time_zone", "", "Choose the organisation's time zone"),
        ("colour", "blue", "Not a setting of the organisation"),
    ],
)
def test_bad_values_are_refused_field_by_field(admin_user, field, value, message):
    organisation_update(actor=admin_user, **CHANGES)
    before = Organisation.objects.get()
    with pytest.raises(ValidationFailed) as refused:
        organisation_update(actor=admin_user, **{**CHANGES, "name": "Other", field: value})
    assert message in refused.value.details[field][0]
    assert list(refused.value.details) == [field]
    after = Organisation.objects.get()
    assert (after.name, after.updated_at) == (before.name, before.updated_at)
    assert organisation.current().name == "Acme Logistics"
    assert len(audit("organisation.updated")) == 1


def test_every_problem_is_reported_at_once(admin_user):
    with pytest.raises(ValidationFailed) as refused:
        organisation_update(
            actor=admin_user,
            name="",
            default_currency="E",
            fiscal_year_start_month=99,
            time_zone="Nowhere",
        )
    assert set(refused.value.details) == {
        "name",
        "default_currency",
        "fiscal_year_start_month",
        "time_zone",
    }
    assert not Organisation.objects.exists()


def test_a_month_as_text_is_read(admin_user):
    values = organisation_update(actor=admin_user, fiscal_year_start_month=" 07")
    assert values.fiscal_year_start_month == 7


# --- first_admin_create --------------------------------------------------------------------


def test_the_first_admin_is_an_administrator(db):
    user = first_admin_create(username="ada", email="Ada@Example.COM", password="a-long-passphrase")
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser, user.is_active) == (
        Role.ADMIN,
        True,
        True,
        True,
    )
    assert user.email == "Ada@example.com"
    assert authenticate(username="ada", password="a-long-passphrase") == user
    [event] = audit("user.first_admin_created")
    assert event.actor == user


def test_there_is_only_one_first_admin(rep):
    with pytest.raises(Conflict) as refused:
        first_admin_create(username="ada", email="ada@example.com", password="a-long-passphrase")
    assert refused.value.code == "already_set_up"
    assert not User.objects.filter(username="ada").exists()
    assert audit("user.first_admin_created") == []


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"password": "short"}, "password", "too short"),
        ({"password": "password123"}, "password", "too common"),
        ({"password": "83749201938475"}, "password", "entirely numeric"),
        ({"username": "adalovelace", "password": "adalovelace1"}, "password", "too similar"),
        ({"username": ""}, "username", "Choose a username"),
        ({"username": "ada lovelace"}, "username", "valid username"),
        ({"username": "a" * 151}, "username", "at most 150"),
        ({"email": ""}, "email", "Give your email address"),
        ({"email": "not-an-email"}, "email", "valid email"),
    ],
)
def test_bad_input_creates_nobody(db, data, field, message):
    fields = {"username": "ada", "email": "ada@example.com", "password": "a-long-passphrase"}
    with pytest.raises(ValidationFailed) as refused:
        first_admin_create(**{**fields, **data})
    assert any(message in m for m in refused.value.details[field]), refused.value.details
    assert not User.objects.exists()
    assert audit("user.first_admin_created") == []


@pytest.mark.django_db(transaction=True)
def test_two_first_admins_at_once_make_one():
    """Two requests at the same moment: the lock on the users' table lets one through; the
    other, once it gets the lock, finds a user and is refused."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(name: str) -> None:
        try:
            barrier.wait()
            first_admin_create(
                username=name, email=f"{name}@example.com", password="a-long-passphrase"
            )
            outcomes.append("created")
        except Conflict:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("ada", "grace")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["created", "refused"]
    assert User.objects.count() == 1
    assert User.objects.get().role == Role.ADMIN
