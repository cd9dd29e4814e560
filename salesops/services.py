"""Writes of the shared kernel: audit events, API keys, notifications, the organisation's
settings and the first administrator."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from salesops import organisation
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import (
    ApiKey,
    ApiScope,
    AuditEvent,
    IdempotencyRecord,
    Notification,
    Organisation,
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


def audit_records(*, actor: User | None, action: str, targets: list[models.Model]) -> None:
    """One audit event per target, written in one statement (e.g. every candidate a list
    showed)."""
    who = actor if actor is not None and actor.is_authenticated else None
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=who, action=action, target_type=t._meta.label_lower, target_id=t.pk, data={}
        )
        for t in targets
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
        errors["scopes"] = [
            f"Unknown {'scope' if len(unknown) == 1 else 'scopes'}: {', '.join(unknown)}."
            " Known: read, write."
        ]
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


@transaction.atomic
def user_sign_out_everywhere(*, user: User) -> None:
    """End every session of `user`, in every browser, at its next request: raises the
    user's session generation, which their sessions' auth hash includes
    (User.get_session_auth_hash). API keys are not sessions: they keep working until
    revoked. Refuses nothing."""
    User.objects.filter(pk=user.pk).update(session_generation=models.F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])
    audit_record(actor=user, action="user.signed_out_everywhere", target=user)


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


def notifications_insert_sql(rows_sql: str) -> str:
    """`notification_send` for a job that notifies many people inside one statement (the
    flag refresh, the coaching cadence): SQL inserting the rows of `rows_sql` — a SELECT
    of (recipient_id, dedupe_key, title, body, link) — as unread notifications created at
    the statement's `%(now)s`, once per dedupe key (a key sent before is skipped, as
    `notification_send` does), title and link cut to their columns; RETURNING id. Used as
    a CTE: `notified AS (<this>)`."""
    return f"""
    INSERT INTO salesops_notification
        (recipient_id, dedupe_key, title, body, link, created_at, read_at, emailed_at)
    SELECT n.recipient_id, n.dedupe_key, left(n.title, 200), n.body, left(n.link, 300),
           %(now)s, NULL, NULL
    FROM ({rows_sql}) AS n (recipient_id, dedupe_key, title, body, link)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id"""


# --- the organisation and the first administrator ------------------------------------------

ORGANISATION_FIELDS = ("name", "default_currency", "fiscal_year_start_month", "time_zone")
ORGANISATION_NAME_MAX = 120


def _clean_organisation_name(errors: dict[str, list[str]], value: Any) -> str:
    name = str(value if value is not None else "").strip()
    if not name:
        errors["name"] = ["Give the company's name, e.g. “Acme Logistics”."]
    elif len(name) > ORGANISATION_NAME_MAX:
        errors["name"] = [f"Use at most {ORGANISATION_NAME_MAX} characters."]
    return name


def _clean_organisation_currency(errors: dict[str, list[str]], value: Any) -> str:
    code = str(value if value is not None else "").strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):
        errors["default_currency"] = [
            "Use a three-letter ISO 4217 currency code, e.g. EUR, USD or GBP."
        ]
    return code


def _clean_fiscal_month(errors: dict[str, list[str]], value: Any) -> int:
    month = None
    if isinstance(value, int) and not isinstance(value, bool):
        month = value
    elif isinstance(value, str) and (text := value.strip()).isascii() and text.isdigit():
        month = int(text) if len(text) <= 3 else None
    if month is None or not 1 <= month <= 12:
        errors["fiscal_year_start_month"] = [
            "Choose the month the fiscal year starts in: 1 (January) to 12 (December)."
        ]
        return 0
    return month


def _clean_time_zone(errors: dict[str, list[str]], value: Any) -> str:
    name = str(value if value is not None else "").strip()
    if name not in organisation.available_time_zones():
        errors["time_zone"] = [
            f"“{name[:64]}” is not a time zone name: use an IANA name such as "
            "Europe/Berlin, America/New_York or Asia/Singapore."
            if name
            else "Choose the organisation's time zone, e.g. Europe/Berlin."
        ]
        return name
    # The flag and cadence refreshes compute "today" in SQL (AT TIME ZONE): PostgreSQL must
    # know the name as well as Python's zoneinfo does.
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %s)", [name])
        known = cursor.fetchone()[0]
    if not known:
        errors["time_zone"] = [
            f"The database does not know the time zone “{name}”; choose another name for it."
        ]
    return name


@transaction.atomic
def organisation_update(*, actor: User, **changes: Any) -> organisation.OrganisationSettings:
    """Change any of the organisation's settings — `name`, `default_currency`,
    `fiscal_year_start_month`, `time_zone`; the others keep their values (until the first
    save, the environment's). Returns the settings now in force; this process uses them at
    once, the others within salesops.organisation.REFRESH_SECONDS. Audited with the old and
    new value of what changed; saving unchanged values writes nothing.

    Refuses: anyone but an active administrator (PermissionDenied); an unknown setting, an
    empty or over-long name, a currency that is not three letters, a month outside 1–12, a
    time zone that zoneinfo or PostgreSQL does not know (ValidationFailed, every problem
    under its field at once). Nothing is written when it refuses."""
    if not (actor.is_authenticated and actor.is_active and actor.is_admin_role):
        raise PermissionDenied("Only an administrator changes the organisation's settings.")
    errors: dict[str, list[str]] = {}
    for field in sorted(set(changes) - set(ORGANISATION_FIELDS)):
        errors[field] = [f"Not a setting of the organisation: {', '.join(ORGANISATION_FIELDS)}."]
    cleaners = {
        "name": _clean_organisation_name,
        "default_currency": _clean_organisation_currency,
        "fiscal_year_start_month": _clean_fiscal_month,
        "time_zone": _clean_time_zone,
    }
    cleaned = {
        field: cleaners[field](errors, value)
        for field, value in changes.items()
        if field in ORGANISATION_FIELDS
    }
    if errors:
        raise ValidationFailed(details=errors)

    now = timezone.now()
    start = organisation.defaults()
    # The first save creates the row from the environment's values; concurrent first saves
    # create it once, then queue on its lock.
    Organisation.objects.bulk_create(
        [
            Organisation(
                pk=1,
                name=start.name,
                default_currency=start.default_currency,
                fiscal_year_start_month=start.fiscal_year_start_month,
                time_zone=start.time_zone,
                updated_at=now,
            )
        ],
        ignore_conflicts=True,
    )
    row = Organisation.objects.select_for_update().get(pk=1)
    changed = {
        field: [getattr(row, field), value]
        for field, value in cleaned.items()
        if getattr(row, field) != value
    }
    if changed:
        for field, (_, value) in changed.items():
            setattr(row, field, value)
        row.updated_at = now
        row.updated_by = actor
        row.save(update_fields=[*changed, "updated_at", "updated_by"])
        audit_record(actor=actor, action="organisation.updated", target=row, data=changed)
    values = organisation.from_row(row)
    organisation.remember(values)
    return values


# pg_advisory_xact_lock is not enough here: `createsuperuser` or an import could insert a
# user meanwhile. A table lock (self-conflicting mode) serialises every insert, for the
# milliseconds of the first administrator's creation only.
LOCK_USERS_SQL = "LOCK TABLE salesops_user IN SHARE ROW EXCLUSIVE MODE"


@transaction.atomic
def first_admin_create(*, username: str, email: str, password: str) -> User:
    """Create the first user of an empty install: an administrator (role admin, staff and
    superuser) who then sets up the organisation, the pipeline and the people.

    Refuses: when any user exists (Conflict `already_set_up` — two requests at once are
    serialised by a lock on the users' table, so exactly one creates the administrator); a
    username Django does not accept (letters, digits and @ . + - _, at most 150), a missing
    or malformed email address, a password the password validators refuse
    (ValidationFailed, every problem at once). Nothing is written when it refuses."""
    errors: dict[str, list[str]] = {}
    username = User.normalize_username(str(username or "").strip())
    username_field = User._meta.get_field("username")
    if not username:
        errors["username"] = ["Choose a username, e.g. your first name."]
    else:
        try:
            username_field.run_validators(username)
            assert username_field.max_length is not None  # AbstractUser: max_length=150
            if len(username) > username_field.max_length:
                raise DjangoValidationError(f"Use at most {username_field.max_length} characters.")
        except DjangoValidationError as exc:
            errors["username"] = list(exc.messages)
    email = User.objects.normalize_email(str(email or "").strip())
    try:
        if not email:
            raise DjangoValidationError("Give your email address.")
        validate_email(email)
    except DjangoValidationError as exc:
        errors["email"] = list(exc.messages)
    try:
        password_validation.validate_password(
            password or "", user=User(username=username, email=email)
        )
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationFailed(details=errors)

    with connection.cursor() as cursor:
        cursor.execute(LOCK_USERS_SQL)
    if User.objects.exists():
        raise Conflict(
            "This installation has users already: sign in, or ask an administrator.",
            code="already_set_up",
        )
    user = User.objects.create_superuser(username=username, email=email, password=password)
    audit_record(actor=user, action="user.first_admin_created", target=user)
    return user
