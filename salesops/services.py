"""Writes of the shared kernel: audit events and API keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from salesops.exceptions import NotFound, ValidationFailed
from salesops.models import (
    ApiKey,
    ApiScope,
    AuditEvent,
    IdempotencyRecord,
    User,
    hash_api_key,
    new_raw_api_key,
)

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
