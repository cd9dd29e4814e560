"""/api/v1/notifications/: one's own, read and marked read through the page's services."""

from __future__ import annotations

import pytest

from salesops.models import Notification
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def test_list_read_and_read_all(rep, teammate, key_for):
    mine = [NotificationFactory(recipient=rep, title=f"Flag {n}") for n in range(3)]
    theirs = NotificationFactory(recipient=teammate, title="Not yours")
    client = key_for(rep)
    body = client.get("/api/v1/notifications/", {"unread": "true"}).json()
    assert {n["title"] for n in body["results"]} == {"Flag 0", "Flag 1", "Flag 2"}

    read = client.post(f"/api/v1/notifications/{mine[0].pk}/read/")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None  # someone else's stays unread

    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    assert not Notification.objects.filter(recipient=rep, read_at__isnull=True).exists()
    assert client.get("/api/v1/notifications/", {"unread": "maybe"}).status_code == 400
