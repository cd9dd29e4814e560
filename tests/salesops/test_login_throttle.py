"""Failed sign-ins are limited per account (the username as typed) and per client address,
on the sign-in page, on /admin/login/ and for API keys (per address); the lock ends on its
own and never tells whether an account exists."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from salesops import login_throttle
from salesops.models import AuditEvent
from tests.factories import UserFactory

LOGIN = reverse("login")
ADMIN_LOGIN = "/admin/login/"
PASSWORD = "secret-pass-123"  # the factories' password
LOCKED = "Too many failed sign-ins. Try again in about"


@pytest.fixture(autouse=True)
def _no_counters_carried_over():
    """Counters live in the cache, keyed by the test client's one address (127.0.0.1)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_limits(settings):
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    settings.LOGIN_LOCK_MINUTES = 15
    settings.LOGIN_TRUSTED_PROXIES = 0


def sign_in(client: Client, username: str, password: str, *, path: str = LOGIN, **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def errors_of(response) -> list[str]:
    """The form's messages (non-field errors), as the page shows them."""
    form = response.context["form"]
    return [str(m) for m in form.non_field_errors()]


def fail(client: Client, username: str, times: int, *, path: str = LOGIN, **extra) -> list:
    return [sign_in(client, username, "wrong-password", path=path, **extra) for _ in range(times)]


def later(minutes: int):
    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=True)


# --- per account --------------------------------------------------------------------------


def test_five_failures_lock_the_account_even_for_the_right_password(client, rep):
    answers = fail(client, "rep", 4)
    assert all(a.status_code == 200 for a in answers)
    assert all("correct username and password" in errors_of(a)[0] for a in answers)

    fifth = fail(client, "rep", 1)[0]
    assert fifth.status_code == 429 and errors_of(fifth) == [f"{LOCKED} 15 minutes."]

    refused = sign_in(client, "rep", PASSWORD)
    assert refused.status_code == 429
    assert errors_of(refused) == [f"{LOCKED} 15 minutes."]
    assert "_auth_user_id" not in client.session


def test_the_lock_ends_on_its_own(client, rep):
    fail(client, "rep", 5)
    with later(10):
        refused = sign_in(client, "rep", PASSWORD)
        assert refused.status_code == 429
        assert errors_of(refused) == [f"{LOCKED} 5 minutes."]
    with later(16):
        answer = sign_in(client, "rep", PASSWORD)
        assert answer.status_code == 302 and answer["Location"] == reverse("pipeline:board")


def test_the_username_counts_as_typed_whatever_its_case(client, rep):
    fail(client, "REP", 3)
    fail(client, " Rep ", 2)
    assert errors_of(sign_in(client, "rep", PASSWORD)) == [f"{LOCKED} 15 minutes."]


def test_a_successful_sign_in_resets_the_accounts_counter(client, rep):
    fail(client, "rep", 4)
    assert sign_in(client, "rep", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    answers = fail(client, "rep", 4)
    assert all("correct username and password" in errors_of(a)[0] for a in answers)
    assert sign_in(client, "rep", PASSWORD).status_code == 302


def test_another_account_is_not_locked_by_one_account_failures(client, rep, teammate):
    fail(client, "rep", 5)
    assert sign_in(client, "teammate", PASSWORD).status_code == 302


def test_a_parallel_burst_gets_no_more_tries_than_the_limit(rep):
    """The attempt is counted before the password is checked: requests already past the
    lock check when the fifth failure locks are refused by the count itself."""
    attempt = login_throttle.attempt_begin(username="rep", address="10.0.0.1")
    others = [login_throttle.attempt_begin(username="rep", address="10.0.0.1") for _ in range(4)]
    with pytest.raises(login_throttle.SignInLocked):
        login_throttle.attempt_begin(username="rep", address="10.0.0.1")
    assert attempt and len(others) == 4


# --- unknown accounts: the same answers ---------------------------------------------------


def test_an_unknown_username_gets_the_same_answers(client, rep):
    known = [errors_of(a) for a in fail(client, "rep", 6)]
    unknown = [errors_of(a) for a in fail(client, "nobody", 6)]
    assert known == unknown
    assert [a.status_code for a in fail(Client(), "nobody-else", 6)] == [200] * 4 + [429] * 2
    for messages in known:
        assert not re.search(r"exist|unknown|no such", " ".join(messages), re.IGNORECASE)


# --- per address --------------------------------------------------------------------------


def test_twenty_failures_from_one_address_lock_it_across_usernames(client, rep):
    for n in range(19):
        assert "correct username" in errors_of(sign_in(client, f"guess{n}", "wrong"))[0]
    assert errors_of(sign_in(client, "guess19", "wrong")) == [f"{LOCKED} 15 minutes."]
    refused = sign_in(client, "rep", PASSWORD)
    assert refused.status_code == 429 and errors_of(refused) == [f"{LOCKED} 15 minutes."]
    # Another address is not locked out.
    assert sign_in(Client(REMOTE_ADDR="192.0.2.7"), "rep", PASSWORD).status_code == 302
    with later(16):
        assert sign_in(client, "rep", PASSWORD).status_code == 302


def test_successful_sign_ins_do_not_fill_the_address_counter(client, rep):
    for _ in range(25):
        assert sign_in(client, "rep", PASSWORD).status_code == 302
        client.post(reverse("logout"))


def test_the_forwarded_address_counts_only_behind_a_trusted_proxy(settings, rep):
    """X-Forwarded-For is anyone's to write: by default the connection's address counts."""
    for n in range(20):
        sign_in(Client(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"), f"guess{n}", "wrong")
    assert sign_in(Client(), "rep", PASSWORD).status_code == 429

    cache.clear()
    settings.LOGIN_TRUSTED_PROXIES = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(20):
        sign_in(Client(HTTP_X_FORWARDED_FOR=f"203.0.113.9, 198.51.100.{n}", **proxy), "x", "y")
    behind = Client(HTTP_X_FORWARDED_FOR="198.51.100.200", **proxy)
    assert sign_in(behind, "teammate-unknown", "wrong").status_code == 200


def test_an_ipv6_client_is_counted_by_its_network(rep):
    for n in range(20):
        sign_in(Client(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}"), f"guess{n}", "wrong")
    refused = sign_in(Client(REMOTE_ADDR="2001:db8:1:2::ffff"), "rep", PASSWORD)
    assert refused.status_code == 429


# --- Django's admin -----------------------------------------------------------------------


def test_the_admin_login_is_throttled_too(client, admin_user):
    answers = fail(client, "admin", 5, path=ADMIN_LOGIN)
    assert "correct username and password" in errors_of(answers[0])[0]
    assert errors_of(answers[-1]) == [f"{LOCKED} 15 minutes."]
    refused = sign_in(client, "admin", PASSWORD, path=ADMIN_LOGIN)
    assert errors_of(refused) == [f"{LOCKED} 15 minutes."]
    assert "_auth_user_id" not in client.session
    # One rule for both doors: the account is locked on the sign-in page as well.
    assert sign_in(client, "admin", PASSWORD).status_code == 429
    with later(16):
        answer = sign_in(client, "admin", PASSWORD, path=ADMIN_LOGIN)
        assert answer.status_code == 302


# --- the record: log lines and audit events -----------------------------------------------


def test_failures_lockouts_and_sign_ins_are_logged_and_audited(client, rep, caplog):
    caplog.set_level(logging.INFO, logger="salesops.login_throttle")
    assert sign_in(client, "rep", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    fail(client, "rep", 5)
    text = caplog.text
    assert "Sign-in of 'rep'" in text
    assert text.count("Failed sign-in for 'rep'") == 5
    assert "locked" in text and "wrong-password" not in text

    signed_in = AuditEvent.objects.get(action="sign_in.succeeded")
    assert signed_in.actor == rep and signed_in.target_id == rep.pk
    locked = AuditEvent.objects.get(action="sign_in.locked")
    assert locked.actor is None
    assert locked.data["scope"] == "account" and locked.data["username"] == "rep"


# --- API keys: per address ----------------------------------------------------------------


def test_wrong_api_keys_are_throttled_per_address(db, rep, key_for):
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer sk_not-a-real-key")
    answers = [bad.get("/api/v1/opportunities/") for _ in range(20)]
    assert [a.status_code for a in answers] == [401] * 19 + [429]
    locked = bad.get("/api/v1/opportunities/")
    assert locked.status_code == 429
    body = locked.json()
    assert body["code"] == "throttled" and body["message"].startswith("Too many")
    assert int(locked["Retry-After"]) > 0
    # A valid key is not refused: keys are unguessable, and an office's integrations share
    # one address with whoever mistyped theirs.
    assert key_for(rep).get("/api/v1/opportunities/").status_code == 200
    with later(16):
        assert bad.get("/api/v1/opportunities/").status_code == 401


def test_the_demo_logins_still_sign_in(client, settings, db):
    settings.DEMO_PASSWORD_ALLOWED = True
    person = UserFactory(username="rep1")
    person.set_password("demo")
    person.save()
    assert sign_in(client, "rep1", "demo").status_code == 302
