"""Sessions end when they should: "sign out everywhere" ends every session of the user, and
a deactivated user loses their sessions and API keys at the next request."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from salesops.models import AuditEvent, User

EVERYWHERE = reverse("sign_out_everywhere")
BOARD = reverse("pipeline:board")
PASSWORD = "secret-pass-123"


def signed_in(user: User) -> Client:
    """A browser of its own that signed in through the sign-in page."""
    client = Client()
    answer = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert answer.status_code == 302
    assert client.get(BOARD).status_code == 200
    return client


def is_signed_out(client: Client) -> bool:
    answer = client.get(BOARD)
    return answer.status_code == 302 and answer["Location"].startswith(reverse("login"))


def test_sign_out_everywhere_ends_the_other_browsers_sessions(rep, teammate):
    laptop, phone = signed_in(rep), signed_in(rep)
    colleague = signed_in(teammate)

    answer = laptop.post(EVERYWHERE)
    assert answer.status_code == 302 and answer["Location"] == reverse("login")
    assert is_signed_out(phone)
    assert is_signed_out(laptop)
    assert not is_signed_out(colleague)  # only rep's sessions end
    event = AuditEvent.objects.get(action="user.signed_out_everywhere")
    assert event.actor == rep and event.target_id == rep.pk
    # Signing in again works, and the new session lasts.
    again = signed_in(rep)
    assert not is_signed_out(again)


def test_the_message_says_what_happened(rep):
    laptop = signed_in(rep)
    page = laptop.post(EVERYWHERE, follow=True)
    assert "Signed out everywhere" in page.content.decode()


def test_sign_out_everywhere_is_post_only_and_csrf_protected(rep):
    laptop = signed_in(rep)
    assert laptop.get(EVERYWHERE).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(rep)
    assert strict.post(EVERYWHERE).status_code == 403
    assert not is_signed_out(laptop)


def test_the_user_menu_offers_it(rep):
    html = signed_in(rep).get(BOARD).content.decode()
    assert f'action="{EVERYWHERE}"' in html


def test_a_password_change_still_ends_the_other_sessions(rep):
    phone = signed_in(rep)
    rep.set_password("another-long-passphrase")
    rep.save()
    assert is_signed_out(phone)


# --- deactivation -------------------------------------------------------------------------


def test_a_deactivated_users_session_ends_at_the_next_request(rep):
    browser = signed_in(rep)
    assert browser.get("/api/v1/opportunities/").status_code == 200  # the API by session too
    User.objects.filter(pk=rep.pk).update(is_active=False)
    assert is_signed_out(browser)
    assert browser.get("/api/v1/opportunities/").status_code in (401, 403)


def test_a_deactivated_users_api_keys_stop_at_once(rep, key_for):
    integration = key_for(rep)
    assert integration.get("/api/v1/opportunities/").status_code == 200
    User.objects.filter(pk=rep.pk).update(is_active=False)
    answer = integration.get("/api/v1/opportunities/")
    assert answer.status_code == 401 and answer.json()["code"] == "authentication_failed"


def test_api_keys_are_not_sessions_and_keep_working(rep, key_for):
    integration = key_for(rep)
    signed_in(rep).post(EVERYWHERE)
    assert integration.get("/api/v1/opportunities/").status_code == 200


def test_a_secret_key_rotation_keeps_the_sessions_after_sign_out_everywhere(rep, settings):
    signed_in(rep).post(EVERYWHERE)  # generation 1 from now on
    browser = signed_in(rep)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "y" * 40
    assert not is_signed_out(browser)
