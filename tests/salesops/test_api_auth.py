"""The API's front door: keys, scopes, sessions with CSRF, error shape, limits, schema."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.middleware.csrf import _get_new_csrf_string
from rest_framework.test import APIClient

from pipeline.models import Account, Opportunity
from salesops.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

LIST = "/api/v1/opportunities/"


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    if code is not None:
        assert body["code"] == code
    return body


def test_no_key_is_401(api_client):
    response = api_client.get(LIST)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_bad_key_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer sk_not-a-real-key")
    assert_error(api_client.get(LIST), 401, "authentication_failed")


def test_malformed_authorization_header_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    assert_error(api_client.get(LIST), 401, "authentication_failed")


def test_revoked_key_is_401(rep):
    key, raw = api_key_create(user=rep, name="ci", scopes=["read", "write"])
    api_key_revoke(key_id=key.pk, actor=rep)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert_error(client.get(LIST), 401, "authentication_failed")


def test_deactivated_user_key_is_401(rep, key_for):
    client = key_for(rep)
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    assert_error(client.get(LIST), 401)


def test_read_only_key_reads_but_cannot_write(rep, opportunity, key_for):
    client = key_for(rep, scopes=("read",))
    assert client.get(LIST).status_code == 200
    body = assert_error(
        client.post("/api/v1/accounts/", {"name": "Globex"}), 403, "permission_denied"
    )
    assert "write" in body["message"]
    assert_error(client.patch(f"{LIST}{opportunity.pk}/", {"name": "Renamed"}), 403)
    assert_error(client.delete(f"{LIST}{opportunity.pk}/"), 403)
    opportunity.refresh_from_db()
    assert opportunity.name == "Acme rollout"
    assert not Account.objects.filter(name="Globex").exists()


def test_session_auth_requires_csrf(rep, opportunity):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(rep)
    assert client.get(f"{LIST}{opportunity.pk}/").status_code == 200
    refused = client.patch(f"{LIST}{opportunity.pk}/", {"name": "No token"}, format="json")
    body = assert_error(refused, 403, "permission_denied")
    assert "CSRF" in body["message"]
    opportunity.refresh_from_db()
    assert opportunity.name == "Acme rollout"

    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    ok = client.patch(
        f"{LIST}{opportunity.pk}/", {"name": "With token"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert ok.status_code == 200, ok.content
    opportunity.refresh_from_db()
    assert opportunity.name == "With token"


def test_unknown_api_path_is_json_404(rep, key_for):
    assert_error(key_for(rep).get("/api/v1/no-such-thing/"), 404, "not_found")


def test_oversized_body_is_413(rep, key_for, settings):
    settings.API_MAX_BODY_BYTES = 1000
    client = key_for(rep)
    response = client.post("/api/v1/accounts/", {"name": "x" * 2000}, format="json")
    assert_error(response, 413, "body_too_large")
    assert Account.objects.count() == 0


def test_malformed_json_is_400(rep, key_for):
    response = key_for(rep).generic(
        "POST", "/api/v1/accounts/", '{"name": "Globex",', content_type="application/json"
    )
    assert_error(response, 400, "malformed_request")
    assert Account.objects.count() == 0


def test_json_list_body_is_400(rep, key_for):
    response = key_for(rep).post("/api/v1/accounts/", [1, 2], format="json")
    assert_error(response, 400, "invalid")


def test_put_on_an_opportunity_is_405(rep, opportunity, key_for):
    response = key_for(rep).put(f"{LIST}{opportunity.pk}/", {"name": "x"}, format="json")
    assert_error(response, 405, "method_not_allowed")
    assert Opportunity.objects.get().name == "Acme rollout"


def test_schema_and_docs_are_served_without_a_cdn(rep, key_for, client):
    # Behind sign-in (tests/salesops/test_security_headers.py): a key, or a session.
    schema = key_for(rep).get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/opportunities/{id}/advance/" in schema.content
    client.force_login(rep)
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar" in html
    assert "cdn." not in html and "unpkg" not in html


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))


def test_throttle_is_per_key_and_answers_429_in_the_error_shape(
    rep, teammate, key_for, monkeypatch
):
    from salesops.api.throttling import PerKeyOrUserThrottle

    monkeypatch.setattr(PerKeyOrUserThrottle, "THROTTLE_RATES", {"per_key_or_user": "3/min"})
    # One fixed moment, so the four requests never straddle two counting windows.
    monkeypatch.setattr("salesops.api.throttling.time.time", lambda: 1_800_000_030.0)
    client, other = key_for(rep, ("read",)), key_for(teammate, ("read",))
    statuses = [client.get("/api/v1/opportunities/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/api/v1/opportunities/")
    body = refused.json()
    assert body["code"] == "throttled" and body["details"]["retry_after_seconds"] > 0
    assert int(refused["Retry-After"]) > 0
    assert other.get("/api/v1/opportunities/").status_code == 200  # its own bucket


def test_an_anonymous_caller_cannot_pick_their_throttle_bucket(db, monkeypatch, settings):
    """Anonymous calls are counted per client address, and X-Forwarded-For is believed only
    behind LOGIN_TRUSTED_PROXIES proxies: a forged header does not open a fresh bucket."""
    from rest_framework.test import APIClient

    from salesops.api.throttling import PerKeyOrUserThrottle

    settings.LOGIN_TRUSTED_PROXIES = 0
    settings.API_SCHEMA_PUBLIC = True  # the one API read an anonymous caller may make
    monkeypatch.setattr(PerKeyOrUserThrottle, "THROTTLE_RATES", {"per_key_or_user": "1/min"})
    monkeypatch.setattr("salesops.api.throttling.time.time", lambda: 1_800_000_090.0)
    client = APIClient()
    statuses = [
        client.get("/api/v1/schema/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(3)
    ]
    assert statuses == [200, 429, 429], statuses  # one bucket whatever the header says
