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


@pytest.mark.django_db
def test_the_set_based_form_notifies_once_per_key_like_notification_send(rep, manager):
    """The flag refresh and the coaching cadence notify through
    services.notifications_insert_sql: unread, at the statement's time, once per dedupe
    key (a key sent before, one way or the other, is skipped), title and link cut."""
    from django.db import connection

    services.notification_send(recipient=rep, dedupe_key="job:1", title="Sent before")
    rows = """
        SELECT * FROM (VALUES
            (%(rep)s, 'job:1', 'Again', '', '/a/'),
            (%(rep)s, 'job:2', %(long_title)s, 'body', %(long_link)s),
            (%(manager)s, 'job:3', 'For the manager', '', '/b/')
        ) AS v"""
    now = timezone.now().replace(microsecond=0)
    params = {
        "now": now, "rep": rep.pk, "manager": manager.pk,
        "long_title": "T" * 250, "long_link": "/" + "l" * 400,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(services.notifications_insert_sql(rows), params)
        inserted = cursor.fetchall()
    assert len(inserted) == 2
    by_key = {n.dedupe_key: n for n in Notification.objects.all()}
    assert by_key["job:1"].title == "Sent before"
    assert len(by_key["job:2"].title) == 200 and len(by_key["job:2"].link) == 300
    assert by_key["job:2"].created_at == now and by_key["job:2"].read_at is None
    assert by_key["job:3"].recipient_id == manager.pk
    with connection.cursor() as cursor:  # run again: nothing new
        cursor.execute(services.notifications_insert_sql(rows), params)
        assert cursor.fetchall() == []
    assert Notification.objects.count() == 3
