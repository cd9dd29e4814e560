"""Writes of accounts, and who may change an account other people's deals use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from pipeline.models import Account, Opportunity
from salesops import access
from salesops.cleaning import MAX_INT, clean_int, clean_text
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- accounts ------------------------------------------------------------------


def _clean_account(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=200)
    for field, limit in (
        ("domain", 200),
        ("industry", 100),
        ("country", 100),
        ("source", 40),
        ("external_id", 100),
    ):
        if field in data:
            cleaned[field] = clean_text(
                errors, field, data[field], required=False, max_length=limit
            )
    if "employees" in data:
        # Bounded by the column (a PositiveIntegerField): 10**11 was a 500 (DataError).
        cleaned["employees"] = clean_int(
            errors, "employees", data["employees"], required=False, maximum=MAX_INT
        )
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def account_create(*, actor: User, name: str, **data: Any) -> Account:
    """Create a customer account. Refuses an empty name or a taken (source, external_id)."""
    cleaned = _clean_account({"name": name, **data})
    if (
        cleaned.get("external_id")
        and Account.objects.filter(
            source=cleaned.get("source", ""), external_id=cleaned["external_id"]
        ).exists()
    ):
        raise ValidationFailed(
            details={"external_id": ["An account with this external id exists."]}
        )
    account = Account.objects.create(**cleaned)
    audit_record(actor=actor, action="account.created", target=account)
    return account


ACCOUNT_SHARED = "This account is used by other people's deals; ask your manager to change it."


def accounts_locked_for(user: User, account_ids: Iterable[int]) -> set[int]:
    """Of `account_ids`, the accounts `user` may not change. Accounts are one catalogue
    every deal shares (a rep renaming a customer renames it on everyone's deals): a rep
    may change an account only while no deal of someone else uses it, open or closed;
    managers, sales leaders and administrators change any (access.edits_any_account).
    The one rule the service, the pages and the API follow. One query; none for those
    who change any."""
    ids = list(account_ids)
    if not ids or access.edits_any_account(user):
        return set()
    return set(
        Opportunity.objects.filter(account_id__in=ids)
        .exclude(owner_id=user.pk)
        .values_list("account_id", flat=True)
        .distinct()
    )


def can_edit_account(user: User, account_id: int) -> bool:
    return account_id not in accounts_locked_for(user, [account_id])


@transaction.atomic
def account_update(*, account_id: int, actor: User, **data: Any) -> Account:
    """Change an account's fields. Refuses an account that is gone (NotFound), a rep
    changing an account someone else's deal uses (PermissionDenied, "account_shared";
    before any value is checked), an empty name, too long text, a bad number of employees
    and an external id another account has."""
    # The row lock also holds back a deal being put on this account meanwhile (its
    # foreign key check waits for the lock), so the check below stays true until commit.
    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise NotFound("No such account.")
    if not can_edit_account(actor, account.pk):
        raise PermissionDenied(ACCOUNT_SHARED, code="account_shared")
    cleaned = _clean_account(data)
    for field, value in cleaned.items():
        setattr(account, field, value)
    if cleaned:
        try:
            with transaction.atomic():
                account.save(update_fields=list(cleaned))
        except IntegrityError as exc:
            raise ValidationFailed(
                details={"external_id": ["An account with this external id exists."]}
            ) from exc
        audit_record(
            actor=actor, action="account.updated", target=account, data={"fields": list(cleaned)}
        )
    return account


@transaction.atomic
def account_delete(*, account_id: int, actor: User) -> None:
    """Admins only; refuses while opportunities reference the account."""
    if not actor.is_admin_role:
        raise PermissionDenied("Only an administrator can delete accounts.")
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise NotFound("No such account.")
    if account.opportunities.exists():
        raise Conflict(
            "This account still has opportunities; reassign or delete them first.",
            code="account_in_use",
        )
    audit_record(actor=actor, action="account.deleted", target=account, data={"name": account.name})
    account.delete()
