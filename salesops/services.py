"""Writes of the shared kernel: audit events and API keys."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from salesops.exceptions import NotFound, ValidationFailed
from salesops.models import (
    ApiKey,
    ApiScope,
    AuditEvent,
    IdempotencyRecord,
    Notification,
    User,
    hash_api_key,
    new_raw_api_key,
)

logger = logging.getLogger(__name__)

# How long an Idempotency-Key replays its first response.
IDEMPOTENCY_TTL = dt.timedelta(hours=24)


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=target.pk if target is not None else None,
        data=data or {},
    )


@transaction.atomic
def api_key_create(*, user: User, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """Create a key for `user`; returns the key and the raw secret, which is shown once.

    Refuses an empty name, no scopes or an unknown scope.
    """
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the key a name, e.g. the system that will use it."]
    elif len(name) > 100:
        errors["name"] = ["Use at most 100 characters."]
    known = {s.value for s in ApiScope}
    scopes = sorted({s.strip() for s in scopes if s.strip()})
    if not scopes:
        errors["scopes"] = ["Choose at least one scope: read, write."]
    elif unknown := [s for s in scopes if s not in known]:
        errors["scopes"] = [f"Unknown scope(s): {', '.join(unknown)}. Known: read, write."]
    if errors:
        raise ValidationFailed(details=errors)
    if "write" in scopes and "read" not in scopes:
        scopes = ["read", "write"]  # writing implies reading what you wrote
    raw = new_raw_api_key()
    key = ApiKey.objects.create(
        user=user, name=name, prefix=raw[:10], hashed_key=hash_api_key(raw), scopes=scopes
    )
    audit_record(actor=user, action="api_key.created", target=key, data={"scopes": scopes})
    return key, raw


@transaction.atomic
def api_key_revoke(*, key_id: int, actor: User) -> ApiKey:
    """Revoke one of `actor`'s own keys. Refuses (404) a key of someone else."""
    key = ApiKey.objects.select_for_update().filter(pk=key_id, user=actor).first()
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_key.revoked", target=key)
    return key


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, marking it used (at most once a minute)."""
    key = (
        ApiKey.objects.select_related("user", "user__team")
        .filter(hashed_key=hash_api_key(raw_key), revoked_at__isnull=True)
        .first()
    )
    if key is None or not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def idempotency_records_purge(*, older_than: dt.timedelta = IDEMPOTENCY_TTL) -> int:
    """Delete replay records past their lifetime; returns how many. Safe to run twice or
    concurrently (a plain set-based DELETE)."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


def notification_mark_read(*, notification_id: int, actor: User) -> Notification:
    """Mark one of `actor`'s own notifications as read (idempotent: the first read time
    stays). Refuses (NotFound) a notification of someone else."""
    notification = Notification.objects.filter(pk=notification_id, recipient=actor).first()
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        now = timezone.now()
        # Conditional: a concurrent "mark all" keeps whichever read time came first.
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, actor: User) -> int:
    """Mark all of `actor`'s unread notifications as read; returns how many changed."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def _digest_text(user: User, rows: list[tuple[str, str, str]]) -> tuple[str, str]:
    site = getattr(settings, "SITE_URL", "").rstrip("/")
    count = len(rows)
    headline = f"{count} new notification{'s' if count != 1 else ''}"
    lines = [f"Hello {user.first_name or user.username},", "", f"{headline}:", ""]
    for title, body, link in rows:
        lines.append(f"- {title}")
        if body:
            lines.append(f"  {body}")
        if link:
            lines.append(f"  {site}{link}")
    lines += ["", "You get this digest once a day for what you have not read in Salesops yet."]
    return f"Salesops: {headline}", "\n".join(lines)


def notifications_send_digest(*, now: dt.datetime | None = None) -> int:
    """Email every recipient one digest of their notifications not emailed yet; returns the
    number of emails sent.

    Per recipient, one conditional UPDATE … WHERE emailed_at IS NULL … RETURNING claims the
    notifications, so two digests running at once never send one twice (the second waits
    on the row locks, then finds nothing to claim). Claim and send share a transaction: a
    failed send rolls the claim back (logged; the next digest retries) and does not stop
    the other recipients. Notifications already read in the app are claimed but not listed;
    a recipient without an email address (or with nothing unread) is marked, not mailed.
    """
    now = now or timezone.now()
    recipient_ids = list(
        Notification.objects.filter(emailed_at__isnull=True)
        .order_by("recipient_id")
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    sent = 0
    for recipient_id in recipient_ids:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        """
                        UPDATE salesops_notification SET emailed_at = %s
                        WHERE recipient_id = %s AND emailed_at IS NULL
                        RETURNING created_at, id, title, body, link, read_at
                        """,
                        [now, recipient_id],
                    )
                    claimed = sorted(cursor.fetchall())
                unread = [
                    (title, body, link) for *_, title, body, link, read in claimed if not read
                ]
                user = User.objects.filter(pk=recipient_id).first()
                if not unread or user is None or not user.email:
                    continue
                subject, text = _digest_text(user, unread)
                send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
                sent += 1
        except DatabaseError:
            raise  # the task retries the whole digest; claims already committed stay sent
        except Exception:
            # The mail transport failed: this recipient's claim is rolled back.
            logger.exception("Notification digest for user %s not sent", recipient_id)
    return sent


def notification_send(
    *, recipient: User, dedupe_key: str, title: str, body: str = "", link: str = ""
) -> Notification | None:
    """Notify `recipient` in the app (and in their next digest) — once per `dedupe_key`:
    sending the same key again does nothing and returns None. Refuses nothing."""
    notification, created = Notification.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "recipient": recipient,
            "title": title[:200],
            "body": body,
            "link": link[:300],
            "created_at": timezone.now(),
        },
    )
    return notification if created else None
