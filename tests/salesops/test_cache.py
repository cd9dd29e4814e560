"""Redis down: the cache answers as an empty one, fast, and says so in the log once a
minute, so every page and the API keep working; the API and sign-in throttles let requests
through while it lasts (README: "When Redis or PostgreSQL is down")."""

from __future__ import annotations

import logging
import time

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.urls import reverse

from tests.factories import OpportunityFactory
from tests.outage import cache_at, closed_port

PASSWORD = "secret-pass-123"  # the factories' password


@pytest.fixture
def redis_down(settings):
    """The cache points at a closed port: Redis is down for this test (a port of its own:
    what the process remembers of other outages does not apply)."""
    cache_at(settings, f"redis://127.0.0.1:{closed_port()}/0")


def outage_warnings(caplog) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "salesops.cache" and r.levelno == logging.WARNING
    ]


# --- the backend ---------------------------------------------------------------------------


def test_the_configured_cache_degrades_and_answers_fast():
    default = django_settings.CACHES["default"]
    assert default["BACKEND"] == "salesops.cache.DegradingRedisCache"
    options = default["OPTIONS"]
    # A dead or unreachable Redis costs a fraction of a second, not the OS's TCP timeout.
    assert 0 < options["socket_connect_timeout"] <= 1
    assert 0 < options["socket_timeout"] <= 1


def test_an_unreachable_cache_behaves_as_an_empty_one(redis_down):
    from salesops.cache import CacheUnavailable

    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set("k", 1) is None
    assert cache.add("k", 1) is False
    assert cache.delete("k") is False
    assert cache.touch("k") is False
    assert cache.has_key("k") is False
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]  # the keys not stored
    assert cache.delete_many(["a", "b"]) is None
    assert cache.get_or_set("k", lambda: 7) == 7
    with pytest.raises(ValueError):  # as for a missing key (Django's contract)
        cache.incr("k")
    with pytest.raises(CacheUnavailable):
        cache.decr("k")
    assert cache.clear() is False


def test_an_outage_is_logged_once_a_minute_not_per_call(redis_down, caplog):
    caplog.set_level(logging.INFO, logger="salesops.cache")
    for _ in range(50):
        cache.get("k")
        cache.set("k", 1)
    warnings = outage_warnings(caplog)
    assert len(warnings) == 1
    assert "unreachable" in warnings[0].getMessage()


def test_after_a_failure_calls_skip_redis_for_a_few_seconds(redis_down, monkeypatch):
    """A dead Redis is asked once, then left alone for `retry_after_seconds`: a page that
    reads the cache twenty times pays for one refused connection, not twenty."""
    from django.core.cache.backends.redis import RedisCacheClient

    attempts = []
    real_get = RedisCacheClient.get

    def counting_get(self, key, default):
        attempts.append(key)
        return real_get(self, key, default)

    monkeypatch.setattr(RedisCacheClient, "get", counting_get)
    started = time.monotonic()
    for _ in range(20):
        assert cache.get("k") is None
    assert time.monotonic() - started < 1
    assert len(attempts) == 1


def test_the_cache_works_again_once_redis_is_back(settings):
    url = django_settings.CACHES["default"]["LOCATION"]
    cache_at(settings, f"redis://127.0.0.1:{closed_port()}/0")
    assert cache.get("k") is None
    cache_at(settings, url)  # the same process, Redis reachable again
    cache.set("back", 1)
    assert cache.get("back") == 1
    cache.delete("back")


# --- the pages, the API and signing in ---------------------------------------------------------


@pytest.fixture
def deal(rep, pipeline):
    return OpportunityFactory(owner=rep, stage=pipeline.discover, name="Acme rollout")


def test_pages_keep_working_while_redis_is_down(redis_down, client, settings, rep, leader, deal):
    settings.FORECAST_CACHE_SECONDS = 3600  # the dashboard reads and writes the cache
    client.force_login(rep)
    assert client.get(reverse("pipeline:board")).status_code == 200
    detail = client.get(reverse("pipeline:opportunity_detail", args=[deal.pk]))
    assert detail.status_code == 200 and "Acme rollout" in detail.content.decode()
    client.force_login(leader)
    assert client.get(reverse("forecasting:dashboard")).status_code == 200


def test_the_api_keeps_working_while_redis_is_down(redis_down, key_for, rep, deal, caplog):
    """The per-key throttle cannot count: it lets the requests through (and says so)."""
    caplog.set_level(logging.INFO)
    api = key_for(rep)
    for _ in range(3):
        response = api.get("/api/v1/opportunities/")
        assert response.status_code == 200
        assert [row["id"] for row in response.json()["results"]] == [deal.pk]
    assert outage_warnings(caplog)


def test_a_wrong_api_key_is_still_a_401_while_redis_is_down(redis_down, db, api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-key")
    assert api_client.get("/api/v1/opportunities/").status_code == 401


def test_signing_in_works_while_redis_is_down(redis_down, settings, client, rep):
    """Fail open: without its counters the sign-in throttle cannot lock anyone out, so it
    counts nothing; a wrong password is refused as always, the right one signs in."""
    settings.LOGIN_MAX_FAILURES = 3
    login = reverse("login")
    for _ in range(5):  # beyond the limit: no counter, no lock, no 500
        wrong = client.post(login, {"username": "rep", "password": "wrong-password"})
        assert wrong.status_code == 200
        assert "correct username and password" in wrong.content.decode()
    right = client.post(login, {"username": "rep", "password": PASSWORD})
    assert right.status_code == 302
    assert client.session["_auth_user_id"] == str(rep.pk)
