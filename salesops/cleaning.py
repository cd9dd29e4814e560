"""Input cleaning that every app's services share: each cleaner returns the value to
store and appends the field's problem in plain words to `errors`, so a service can report
every bad field at once (ValidationFailed with `details`) instead of the first one."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet

from salesops.exceptions import ValidationFailed

MAX_INT = 2_147_483_647  # PostgreSQL integer (PositiveIntegerField)
MAX_SMALL_INT = 32_767  # PostgreSQL smallint (PositiveSmallIntegerField)
MAX_AMOUNT = Decimal("1e12")  # numeric(14, 2)

Errors = dict[str, list[str]]


def clean_text(errors: Errors, field: str, value: Any, *, required: bool, max_length: int) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors.setdefault(field, []).append("This field is required.")
    elif len(text) > max_length:
        errors.setdefault(field, []).append(
            f"Use at most {max_length} characters (got {len(text)})."
        )
    return text


def clean_amount(
    errors: Errors, field: str, value: Any, *, required: bool = True
) -> Decimal | None:
    """A money amount: a finite, non-negative number below 10¹², rounded to cents."""
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append("This field is required.")
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.setdefault(field, []).append("Enter a number, e.g. 12500.00.")
        return None
    if not amount.is_finite():
        errors.setdefault(field, []).append("Enter a finite number.")
        return None
    if amount < 0:
        errors.setdefault(field, []).append("The amount cannot be negative.")
        return None
    if amount >= MAX_AMOUNT:
        errors.setdefault(field, []).append("The amount is too large (max 999,999,999,999.99).")
        return None
    return amount.quantize(Decimal("0.01"))


def clean_date(errors: Errors, field: str, value: Any, *, required: bool) -> dt.date | None:
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append("This field is required.")
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors.setdefault(field, []).append("Enter a date as YYYY-MM-DD.")
        return None


def clean_currency(errors: Errors, currency: Any) -> str:
    code = str(currency or "EUR").strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):  # "ÄÖÜ" is not ISO 4217
        errors.setdefault("currency", []).append("Use a three-letter ISO currency code, e.g. EUR.")
    return code


def clean_int(
    errors: Errors,
    field: str,
    value: Any,
    *,
    required: bool,
    minimum: int = 0,
    maximum: int = MAX_INT,
) -> int | None:
    if value is None or value == "":
        if required:
            errors.setdefault(field, []).append("This field is required.")
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.setdefault(field, []).append("Enter a whole number.")
        return None
    if not minimum <= number <= maximum:
        errors.setdefault(field, []).append(f"Enter a whole number from {minimum} to {maximum}.")
        return None
    return number


def query_int(value: Any) -> int | None:
    """A whole number read from a query string or a hidden form field where anything else
    simply means "none given": ASCII digits only, at most 18 of them (so it fits a
    PostgreSQL bigint and never reaches the database as an out-of-range number)."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def name_taken(
    queryset: QuerySet, name: str, *, instance: Model | None, field: str = "name"
) -> bool:
    """Whether another row of `queryset` already has `name` (case-insensitively) — a
    friendly field error before the unique constraint has to say it."""
    if not name:
        return False
    others = queryset.filter(**{f"{field}__iexact": name})
    if instance is not None:
        others = others.exclude(pk=instance.pk)
    return others.exists()


def clean_name_and_description(
    errors: Errors,
    data: dict[str, Any],
    *,
    queryset: QuerySet,
    instance: Model | None,
    taken: str,
    max_description: int = 10_000,
) -> dict[str, Any]:
    """The `name` (required, ≤ 120, unique case-insensitively among `queryset`: `taken`
    says so) and `description` of a named thing — a pipeline, a template — for those of
    the two present in `data`; problems go into `errors`."""
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=120)
        if name_taken(queryset, cleaned["name"], instance=instance):
            errors.setdefault("name", []).append(taken)
    if "description" in data:
        cleaned["description"] = clean_text(
            errors, "description", data["description"], required=False,
            max_length=max_description,
        )  # fmt: skip
    return cleaned


def refuse_unknown_fields(changes: dict[str, Any], *, allowed: frozenset[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(
            details={f: ["This field cannot be changed."] for f in sorted(unknown)}
        )


def save_unique(obj: Any, *, fields: list[str] | None, field_for_conflict: str) -> None:
    """Save, turning a unique-constraint race into a field error instead of a 500."""
    try:
        with transaction.atomic():
            if fields is None:
                obj.save()
            else:
                obj.save(update_fields=fields)
    except IntegrityError as exc:
        raise ValidationFailed(
            details={field_for_conflict: ["This value is already in use."]}
        ) from exc


def name_key(text: str) -> str:
    """How two spellings of one name (an account, team, product, stage) compare when a
    file is matched against the records: case, Unicode forms and spacing do not matter."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def person_key(text: str) -> str:
    """How two spellings of one person's name compare: case, Unicode forms, spacing and
    "Last, First" order do not matter."""
    text = unicodedata.normalize("NFKC", text or "").casefold().strip()
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        if first and last:
            text = f"{first} {last}"
    return " ".join(text.split())
