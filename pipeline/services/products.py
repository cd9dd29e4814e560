"""Writes of the product catalogue, and who may manage it."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from pipeline.models import Product
from pipeline.services.common import apply_changes
from salesops.cleaning import (
    clean_amount,
    clean_currency,
    clean_text,
    name_taken,
    refuse_unknown_fields,
    save_unique,
)
from salesops.exceptions import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- products --------------------------------------------------------------------
# The catalogue is configuration: everyone reads it, only administrators change it.

PRODUCT_FIELDS = frozenset(
    {"name", "family", "list_price", "currency", "is_active", "source", "external_id"}
)


def can_manage_products(user: User) -> bool:
    return user.is_authenticated and user.is_admin_role


def _refuse_unless_product_admin(actor: User) -> None:
    if not can_manage_products(actor):
        raise PermissionDenied("Only an administrator can change the products.")


def _clean_product(data: dict[str, Any], *, instance: Product | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=200)
        if name_taken(Product.objects.all(), cleaned["name"], instance=instance):
            errors.setdefault("name", []).append("A product with this name exists.")
    for field, limit in (("family", 100), ("source", 40), ("external_id", 100)):
        if field in data:
            cleaned[field] = clean_text(
                errors, field, data[field], required=False, max_length=limit
            )
    if "list_price" in data:
        cleaned["list_price"] = clean_amount(
            errors, "list_price", data["list_price"], required=False
        )
    if "currency" in data:
        # Optional: a product may have no list price, or one without a stated currency.
        code = str(data["currency"] or "").strip()
        cleaned["currency"] = clean_currency(errors, code) if code else ""
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    source = cleaned.get("source", instance.source if instance else "")
    external_id = cleaned.get("external_id", instance.external_id if instance else "")
    if ({"source", "external_id"} & cleaned.keys()) and external_id:
        others = Product.objects.filter(source=source, external_id=external_id)
        if instance is not None:
            others = others.exclude(pk=instance.pk)
        if others.exists():
            errors.setdefault("external_id", []).append(
                f"A product with external id '{external_id}' from '{source}' exists."
            )
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def product_create(*, actor: User, name: str, **data: Any) -> Product:
    """Add a product to the catalogue (active unless `is_active` is false).

    Refuses: a non-administrator (PermissionDenied), an empty or taken name (whatever
    the case), a negative or non-numeric list price, a currency that is not three
    letters, a (source, external_id) already in use, fields a product does not have.
    """
    _refuse_unless_product_admin(actor)
    refuse_unknown_fields(data, allowed=PRODUCT_FIELDS - {"name"})
    cleaned = _clean_product({"name": name, **data}, instance=None)
    product = Product(**cleaned)
    save_unique(product, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="product.created", target=product)
    return product


@transaction.atomic
def product_update(*, product_id: int, actor: User, **changes: Any) -> Product:
    """Change a product; `is_active=False` takes it off the offer (deals keep it).

    Refuses like `product_create`; an unknown product is NotFound."""
    _refuse_unless_product_admin(actor)
    refuse_unknown_fields(changes, allowed=PRODUCT_FIELDS)
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound("No such product.")
    cleaned = _clean_product(changes, instance=product)
    cleaned = {k: v for k, v in cleaned.items() if getattr(product, k) != v}
    apply_changes(product, cleaned, actor=actor, action="product.updated", unique_field="name")
    return product


@transaction.atomic
def product_delete(*, product_id: int, actor: User) -> None:
    """Remove a product nobody sold. Refuses: a non-administrator (PermissionDenied), an
    unknown product (NotFound), a product deals use (Conflict `product_in_use`:
    deactivate it instead, so their history keeps it)."""
    _refuse_unless_product_admin(actor)
    product = Product.objects.select_for_update().filter(pk=product_id).first()
    if product is None:
        raise NotFound("No such product.")
    used = product.opportunities.count()
    if used:
        raise Conflict(
            f"'{product.name}' is on {used} deal{'s' if used != 1 else ''}; deactivate it "
            "instead, so those deals keep it.",
            code="product_in_use",
            details={"opportunities": used},
        )
    audit_record(actor=actor, action="product.deleted", target=product, data={"name": product.name})
    product.delete()
