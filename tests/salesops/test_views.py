"""Sign-in, sign-out and the API keys page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from salesops.models import ApiKey, hash_api_key
from salesops.services import api_key_create


def test_login_page_and_sign_in(client, rep):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode()
    response = client.post(reverse("login"), {"username": "rep", "password": "secret-pass-123"})
    assert response.status_code == 302
    assert response["Location"] == reverse("pipeline:board")


def test_login_wrong_password_shows_error(client, rep):
    response = client.post(reverse("login"), {"username": "rep", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_logout_is_post_only(client, rep):
    client.force_login(rep)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("pipeline:board")).status_code == 302  # signed out


def test_api_keys_requires_login(client, db):
    response = client.get(reverse("api_keys"))
    assert response.status_code == 302


def test_create_key_shows_it_once_and_stores_hash(client, rep):
    client.force_login(rep)
    response = client.post(reverse("api_keys"), {"name": "CRM sync", "scopes": ["read", "write"]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = response.context["raw_key"]
    assert raw and raw in response.content.decode()
    key = ApiKey.objects.get(user=rep)
    assert key.hashed_key == hash_api_key(raw) and raw not in key.hashed_key
    assert key.scopes == ["read", "write"]
    again = client.get(reverse("api_keys")).content.decode()
    assert raw not in again
    assert "CRM sync" in again and key.prefix in again


def test_create_key_bad_input(client, rep):
    client.force_login(rep)
    response = client.post(reverse("api_keys"), {"name": "", "scopes": ["admin"]})
    assert response.status_code == 422
    assert {"name", "scopes"} <= set(response.context["form"].errors)
    assert not ApiKey.objects.exists()


def test_list_shows_only_own_keys(client, rep, teammate):
    api_key_create(user=teammate, name="Teammate key", scopes=["read"])
    client.force_login(rep)
    assert "Teammate key" not in client.get(reverse("api_keys")).content.decode()


def test_revoke_own_key(client, rep):
    key, _ = api_key_create(user=rep, name="Old", scopes=["read"])
    client.force_login(rep)
    response = client.post(reverse("api_key_revoke", args=[key.pk]))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


@pytest.mark.parametrize("method", ["get", "post"])
def test_revoke_someone_elses_key_is_404(client, rep, teammate, method):
    key, _ = api_key_create(user=teammate, name="Theirs", scopes=["read"])
    client.force_login(rep)
    response = getattr(client, method)(reverse("api_key_revoke", args=[key.pk]))
    assert response.status_code == (404 if method == "post" else 405)
    key.refresh_from_db()
    assert key.revoked_at is None


def test_the_favicon_is_the_logo_for_everyone(client, db):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200 and answer["Content-Type"] == "image/svg+xml"
    assert answer.content.startswith(b"<svg") and "max-age" in answer["Cache-Control"]
