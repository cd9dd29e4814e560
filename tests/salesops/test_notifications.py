"""Notification digest: one email per recipient, each notification emailed once."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
from django.db import connections
from django.utils import timezone

from salesops import services
from salesops.models import Notification
from salesops.tasks import send_notification_digest
from tests.factories import UserFactory

KEYS = itertools.count()


def notify(user, n: int, *, read: bool = False) -> list[Notification]:
    now = timezone.now()
    return [
        Notification.objects.create(
            recipient=user,
            dedupe_key=f"test:{next(KEYS)}",
            title=f"Stuck in stage: Deal {i}",
            body=f"In Proposal for {30 + i} days; this stage's limit is 30",
            link=f"/opportunities/{i}/",
            created_at=now - dt.timedelta(minutes=n - i),
            read_at=now if read else None,
        )
        for i in range(n)
    ]


def test_one_email_per_recipient_listing_their_notifications(rep, teammate, mailoutbox):
    notify(rep, 3)
    notify(teammate, 1)
    assert services.notifications_send_digest() == 2
    assert len(mailoutbox) == 2
    by_to = {m.to[0]: m for m in mailoutbox}
    mail = by_to[rep.email]
    assert mail.subject == "Salesops: 3 new notifications"
    assert mail.from_email == "salesops@localhost"
    for i in range(3):
        assert f"Stuck in stage: Deal {i}" in mail.body
        assert f"/opportunities/{i}/" in mail.body
    assert by_to[teammate.email].subject == "Salesops: 1 new notification"
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_a_second_digest_sends_nothing_again(rep, mailoutbox):
    notify(rep, 2)
    services.notifications_send_digest()
    emailed = dict(Notification.objects.values_list("pk", "emailed_at"))
    assert services.notifications_send_digest() == 0
    assert len(mailoutbox) == 1
    assert dict(Notification.objects.values_list("pk", "emailed_at")) == emailed


def test_recipient_without_email_is_marked_not_mailed(db, mailoutbox):
    user = UserFactory(email="")
    notify(user, 2)
    assert services.notifications_send_digest() == 0
    assert mailoutbox == []
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_read_notifications_are_not_listed(rep, mailoutbox):
    notify(rep, 2, read=True)
    assert services.notifications_send_digest() == 0  # all read in the app already
    notify(rep, 1)
    notify(rep, 1, read=True)
    assert services.notifications_send_digest() == 1
    assert mailoutbox[0].subject == "Salesops: 1 new notification"
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_a_failed_send_rolls_back_that_recipients_claim(rep, teammate, mailoutbox, monkeypatch):
    notify(rep, 2)
    notify(teammate, 1)
    real_send = services.send_mail

    def flaky(subject, body, from_email, to, **kwargs):
        if to == [rep.email]:
            raise OSError("SMTP server went away")
        return real_send(subject, body, from_email, to, **kwargs)

    monkeypatch.setattr(services, "send_mail", flaky)
    assert services.notifications_send_digest() == 1
    assert [m.to for m in mailoutbox] == [[teammate.email]]
    assert Notification.objects.filter(recipient=rep, emailed_at__isnull=True).count() == 2
    assert not Notification.objects.filter(recipient=teammate, emailed_at__isnull=True).exists()
    monkeypatch.setattr(services, "send_mail", real_send)
    assert services.notifications_send_digest() == 1  # the retry sends rep's digest
    assert mailoutbox[-1].to == [rep.email]


def test_task_calls_the_digest(rep, mailoutbox):
    notify(rep, 1)
    assert send_notification_digest.apply().get() == 1
    assert len(mailoutbox) == 1


def test_two_digests_at_once_send_each_notification_once(transactional_db, mailoutbox):
    users = [UserFactory() for _ in range(6)]
    for user in users:
        notify(user, 4)
    barrier = threading.Barrier(2)
    sent: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            sent.append(services.notifications_send_digest())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(sent) == len(users)
    assert sorted(m.to[0] for m in mailoutbox) == sorted(u.email for u in users)
    assert all(m.subject == "Salesops: 4 new notifications" for m in mailoutbox)
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


@pytest.mark.parametrize("count", [1, 30])
def test_selectors_and_mark_read(rep, teammate, count, django_assert_max_num_queries):
    from salesops import selectors

    mine = notify(rep, count)
    notify(teammate, 2)
    with django_assert_max_num_queries(1):
        assert len(list(selectors.notification_list_for(rep))) == count
    assert selectors.unread_notification_count(rep) == count
    services.notification_mark_read(notification_id=mine[0].pk, actor=rep)
    assert selectors.unread_notification_count(rep) == count - 1
    assert services.notifications_mark_all_read(actor=rep) == count - 1
    assert selectors.unread_notification_count(rep) == 0
    assert selectors.unread_notification_count(teammate) == 2
