"""Passwords follow Django's four validators, with at least 12 characters, wherever they are
set: the invitation's set-password page, the first administrator, Django's admin."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.test import Client

from salesops.models import User
from salesops.people import invitation_link
from tests.factories import UserFactory


def test_the_four_validators_are_on_with_twelve_characters():
    names = [v["NAME"].rsplit(".", 1)[1] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    ]
    with pytest.raises(ValidationError, match="at least 12 characters"):
        password_validation.validate_password("Harbour-42x")
    password_validation.validate_password("Rainy-harbour-42")


@pytest.fixture
def invited(db):
    user = UserFactory(username="ana.souza", email="ana@example.com")
    user.set_unusable_password()
    user.save()
    return user


def set_password_page(client: Client, user: User):
    """Follow the invitation link to the set-password form (Django moves the token into the
    session and redirects)."""
    page = client.get(urlsplit(invitation_link(user)).path, follow=True)
    assert page.status_code == 200 and page.context["validlink"]
    return page.redirect_chain[-1][0]


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Harbour-42x", "This password is too short. It must contain at least 12 characters."),
        ("password1234", "This password is too common."),
        ("738294610583", "This password is entirely numeric."),
        ("ana.souza.2026", "The password is too similar to the username."),
    ],
)
def test_the_set_password_form_shows_each_validators_error(client, invited, password, message):
    form_url = set_password_page(client, invited)
    answer = client.post(form_url, {"new_password1": password, "new_password2": password})
    assert answer.status_code == 200
    assert message in answer.context["form"].errors["new_password2"]
    assert message in answer.content.decode()  # shown under the field
    invited.refresh_from_db()
    assert not invited.has_usable_password()


def test_a_good_password_is_set_and_signs_in(client, invited):
    form_url = set_password_page(client, invited)
    answer = client.post(
        form_url, {"new_password1": "Rainy-harbour-42", "new_password2": "Rainy-harbour-42"}
    )
    assert answer.status_code == 302
    invited.refresh_from_db()
    assert invited.check_password("Rainy-harbour-42")


def test_the_first_administrator_needs_twelve_characters(client, db):
    answer = client.post(
        "/setup/first-admin/",
        {
            "username": "ada",
            "email": "ada@example.com",
            "password": "Harbour-42x",
            "password_again": "Harbour-42x",
        },
    )
    assert answer.status_code == 422
    assert "at least 12 characters" in answer.content.decode()
    assert not User.objects.exists()


def test_the_admins_password_change_form_applies_them(admin_user, rep):
    client = Client()
    client.force_login(admin_user)
    answer = client.post(
        f"/admin/salesops/user/{rep.pk}/password/",
        {"password1": "Harbour-42x", "password2": "Harbour-42x"},
    )
    assert answer.status_code == 200
    assert "at least 12 characters" in answer.content.decode()
    rep.refresh_from_db()
    assert rep.check_password("secret-pass-123")
