"""The notifications page, the bell and marking as read: a user only sees their own."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from salesops.models import Notification
from tests.factories import NotificationFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def note(user, *, minutes_ago=0, **kwargs):
    return NotificationFactory(
        recipient=user, created_at=timezone.now() - dt.timedelta(minutes=minutes_ago), **kwargs
    )


def test_list_shows_own_notifications_newest_first(logged_in, rep, teammate):
    note(rep, minutes_ago=10, title="Older")
    note(rep, minutes_ago=1, title="Newer <b>bold</b>")
    note(teammate, title="Not yours")
    response = logged_in(rep).get(reverse("notifications"))
    assert response.status_code == 200
    titles = [n.title for n in response.context["page"].object_list]
    assert titles == ["Newer <b>bold</b>", "Older"]
    body = response.content.decode()
    assert "Not yours" not in body
    assert "Newer &lt;b&gt;bold&lt;/b&gt;" in body


def test_bell_shows_unread_count(logged_in, rep):
    note(rep)
    note(rep)
    note(rep, read_at=timezone.now())
    body = logged_in(rep).get(reverse("pipeline:board")).content.decode()
    bell = body[body.index('data-testid="nav-bell"') :][:1200]
    assert "2 unread" in bell
    assert 'data-testid="nav-unread">2</span>' in bell


def test_only_local_links_are_links(logged_in, rep):
    note(rep, title="Local", link="/opportunities/1/")
    note(rep, title="Script", link="javascript:alert(1)")
    note(rep, title="Elsewhere", link="https://evil.example/")
    body = logged_in(rep).get(reverse("notifications")).content.decode()
    assert '<a href="/opportunities/1/">Local</a>' in body
    assert "javascript:" not in body
    assert "evil.example" not in body


def test_mark_read_with_htmx_returns_the_row_and_the_new_count(logged_in, rep):
    first, second = note(rep), note(rep)
    response = logged_in(rep).post(reverse("notification_read", args=[first.pk]), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="notification-{first.pk}"' in body and "Mark as read" not in body
    assert 'id="nav-unread"' in body and 'hx-swap-oob="true"' in body and ">1</span>" in body
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_mark_read_keeps_the_first_read_time_and_works_without_htmx(logged_in, rep):
    earlier = timezone.now() - dt.timedelta(days=1)
    n = note(rep, read_at=earlier)
    response = logged_in(rep).post(reverse("notification_read", args=[n.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("notifications")
    n.refresh_from_db()
    assert n.read_at == earlier


@pytest.mark.parametrize("headers", [{}, HTMX])
def test_mark_read_of_someone_elses_notification_is_404(logged_in, rep, manager, headers):
    theirs = note(rep)
    response = logged_in(manager).post(reverse("notification_read", args=[theirs.pk]), **headers)
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_marks_only_own(logged_in, rep, teammate):
    mine = [note(rep), note(rep)]
    theirs = note(teammate)
    response = logged_in(rep).post(reverse("notifications_read_all"))
    assert response.status_code == 302
    assert all(Notification.objects.get(pk=n.pk).read_at for n in mine)
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    page = logged_in(rep).get(reverse("notifications")).content.decode()
    assert "Marked 2 notifications as read." in page


def test_mark_all_read_needs_post(logged_in, rep):
    assert logged_in(rep).get(reverse("notifications_read_all")).status_code == 405


def test_list_paginates_with_a_fixed_query_count(logged_in, rep, django_assert_max_num_queries):
    client = logged_in(rep)
    note(rep)

    def count(params=None):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("notifications"), params or {}).status_code == 200
        return len(ctx.captured_queries)

    one = count()
    for i in range(100):
        note(rep, minutes_ago=i + 1)
    assert count() == one
    response = client.get(reverse("notifications"), {"page": 4})
    assert len(response.context["page"].object_list) == 11  # 101 = 3 × 30 + 11
    with django_assert_max_num_queries(8):
        client.get(reverse("notifications"), {"page": 2})
