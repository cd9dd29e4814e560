"""The shared kernel: users with a role, teams, API keys and the audit trail."""

from __future__ import annotations

import hashlib
import secrets
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from salesops import audit_context
from salesops.audit_context import Channel


class Role(models.TextChoices):
    REP = "rep", "Sales rep"
    MANAGER = "manager", "Sales manager"
    LEADER = "leader", "Sales leader"
    ADMIN = "admin", "Administrator"


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="team_not_its_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SalesopsUserManager(UserManager["User"]):
    """`createsuperuser` (and any superuser made in code) gets the administrator role: a
    superuser shown as "Sales rep" would be told by every page that it is a rep."""

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    # The first day in a sales role here: a rep's first 90 days get weekly 1:1s (the
    # coaching cadence). Empty: the day the account was created.
    started_on = models.DateField(
        null=True, blank=True, help_text="First day in the role; empty: the account's creation."
    )
    # Runs hiring: sees every position and candidate (administrators always do).
    is_recruiter = models.BooleanField(default=False)
    # Raised by "sign out everywhere" (salesops.services.user_sign_out_everywhere): it is
    # part of the session auth hash, so every session made before stops at its next request.
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    objects: ClassVar[SalesopsUserManager] = SalesopsUserManager()

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    # Django keeps in each session an HMAC of the password hash and ends the session when
    # they differ; mixing the generation in ends them on demand too. Generation 0 keeps
    # Django's own value, so sessions made before this existed stay valid.
    def get_session_auth_hash(self) -> str:
        return self._with_generation(super().get_session_auth_hash())

    def get_session_auth_fallback_hash(self):
        # Django's fallback hashes come one per SECRET_KEY_FALLBACKS entry, in its order.
        fallbacks = zip(
            settings.SECRET_KEY_FALLBACKS, super().get_session_auth_fallback_hash(), strict=True
        )
        for secret, password_hash in fallbacks:
            yield self._with_generation(password_hash, secret=secret)

    def _with_generation(self, password_hash: str, secret: str | None = None) -> str:
        if not self.session_generation:
            return password_hash
        return salted_hmac(
            "salesops.User.session_generation",
            f"{password_hash}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def is_rep(self) -> bool:
        return self.role == Role.REP

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def sees_everything(self) -> bool:
        return self.role in (Role.LEADER, Role.ADMIN) or self.is_superuser

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser


class Organisation(models.Model):
    """The organisation's own settings: one row (id 1), written by an administrator on the
    setup page (salesops.services.organisation_update). Read them through
    salesops.organisation, never from this table: until the row exists the values are the
    environment's (settings.DEFAULT_CURRENCY, FISCAL_YEAR_START_MONTH, TIME_ZONE — the
    defaults of a new install), and readers go through a process-local memo."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    name = models.CharField(max_length=120, blank=True, default="")
    # ISO 4217: the currency forecast figures are reported in.
    default_currency = models.CharField(max_length=3)
    fiscal_year_start_month = models.PositiveSmallIntegerField()
    # An IANA name (Europe/Berlin) that both zoneinfo and PostgreSQL know.
    time_zone = models.CharField(max_length=64)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="organisation_one_row"),
            models.CheckConstraint(
                condition=Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="organisation_fiscal_month_1_12",
            ),
            models.CheckConstraint(
                condition=Q(default_currency__regex=r"^[A-Z]{3}$"),
                name="organisation_currency_iso",
            ),
            models.CheckConstraint(condition=~Q(time_zone=""), name="organisation_time_zone_set"),
        ]

    def __str__(self) -> str:
        return self.name or "Organisation"


class ApiScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"


API_KEY_PREFIX = "sk_"


def hash_api_key(raw_key: str) -> str:
    # Keys are 32 random bytes, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(raw_key.encode()).hexdigest()


def new_raw_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    # First characters of the key, shown in lists so a user can tell keys apart.
    prefix = models.CharField(max_length=12)
    hashed_key = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=10, choices=ApiScope.choices), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scopes__contained_by=[s.value for s in ApiScope]) & ~Q(scopes=[]),
                name="apikey_scopes_known_and_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class AuditEvent(models.Model):
    """Who did what, when, and by which path: written by services, never edited.

    The path — `channel`, `api_key`, `request_id`, `origin` — defaults to the unit of work
    running (salesops.audit_context: the request, task, import or command), so no service
    passes it and no event, however it is built, goes without it."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    channel = models.CharField(
        max_length=16, choices=Channel.choices, default=audit_context.current_channel
    )
    # The key of an "api_key" event; a revoked key stays, a deleted one leaves the channel.
    api_key = models.ForeignKey(
        ApiKey,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        default=audit_context.current_api_key_id,
    )
    # One request's events share it (the X-Request-ID the response carried).
    request_id = models.CharField(
        max_length=64, blank=True, default=audit_context.current_request_id
    )
    # The request ("POST /opportunities/3/advance/"), task, command or import.
    origin = models.CharField(max_length=200, blank=True, default=audit_context.current_origin)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}#{self.target_id}"


class IdempotencyRecord(models.Model):
    """The first successful response to a POST sent with an `Idempotency-Key` header.

    Written in the same transaction as the work it answers for, so a key is recorded
    if and only if its work committed (see salesops/api/idempotency.py). Records older
    than 24 hours are treated as absent and purged.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    # sha256 of method, path and the canonical JSON of the body.
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField(encoder=DjangoJSONEncoder, null=True, blank=True)
    # Replayed response headers that matter to a client (ETag, Location).
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


class Notification(models.Model):
    """An in-app notification; the daily digest task emails the ones not yet emailed.

    `dedupe_key` names what the notification is about (e.g. "flag:42"), so a job that
    runs twice can never notify twice.
    """

    # No index of its own: the (recipient, -created_at) index leads with it.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    # Unique through Meta.constraints rather than unique=True, which would add a second,
    # varchar_pattern_ops index; "C" collation: a byte comparison, not a locale's rules —
    # the key is matched exactly, never sorted for people. Keeps a million-flag refresh's
    # notification inserts cheap (bench/README.md).
    dedupe_key = models.CharField(max_length=80, db_collation="C")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    link = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="notification_dedupe_key_unique")
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(
                fields=["recipient"],
                condition=Q(emailed_at__isnull=True),
                name="notification_not_emailed",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TaskOutbox(models.Model):
    """A Celery task queued by a write, kept until the broker took it (salesops/outbox.py).

    Written in the writer's transaction, so the intent to run the task commits with the
    data or not at all; sent after the commit, and — while the broker (Redis) is away — by
    the drain once it is back. Sent rows are kept a week (what ran when), then purged.
    """

    task_name = models.CharField(max_length=200)
    # Plain JSON, as Celery sends them: arguments that are not JSON fail in the writer's
    # transaction, not in the broker after the commit.
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "queued task"
        constraints = [
            models.CheckConstraint(condition=~Q(task_name=""), name="taskoutbox_task_named"),
        ]
        indexes = [
            # The drain's question: what is still waiting, oldest first.
            models.Index(
                fields=["created_at", "id"],
                condition=Q(sent_at__isnull=True),
                name="taskoutbox_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_name}{tuple(self.args)}"
