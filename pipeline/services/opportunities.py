"""Writes of a deal itself: create, update, delete, and the upsert by external id of
imports (stage moves and closing are in `moves`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from pipeline import rules
from pipeline.flags import flags_refresh
from pipeline.models import (
    Account,
    ChangeField,
    ForecastCategory,
    Opportunity,
    OpportunityChange,
    Pipeline,
    Product,
    Qualification,
    Stage,
)
from pipeline.services.common import (
    MAX_TEXT,
    category_change,
    change_entry,
    check_owner,
    check_product,
    check_version,
    first_open_stage,
    lock_for,
    refuse_if_closed,
)
from salesops import access, organisation
from salesops.cleaning import clean_amount, clean_currency, clean_date, clean_text
from salesops.exceptions import NotFound, PermissionDenied, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- opportunities -------------------------------------------------------------


@transaction.atomic
def opportunity_create(
    *,
    actor: User,
    name: str,
    account: Account | None,
    close_date: Any,
    amount: Any = "0",
    currency: str | None = None,
    pipeline: Pipeline | None = None,
    owner: User | None = None,
    next_step: str = "",
    next_step_date: Any = None,
    source: str = "",
    external_id: str = "",
    forecast_category: str | None = None,
    forecast_category_override_reason: str = "",
    new_account_name: str = "",
    product: Product | None = None,
) -> Opportunity:
    """Create an open opportunity in the first stage of its pipeline.

    Refuses: missing name/account/close date, a negative or non-numeric amount, an
    owner the actor may not assign, a (source, external_id) already in use, an
    inactive pipeline, a forecast category differing from the stage's without reason,
    an inactive product. A close date in the past is not refused (the pages ask first; the
    API and the upsert do not): the deal's attention flags are decided at once.
    The stage is never chosen here: later stages are reached through the gate.
    """
    errors: dict[str, list[str]] = {}
    name = clean_text(errors, "name", name, required=True, max_length=200)
    new_account_name = clean_text(
        errors, "new_account_name", new_account_name, required=False, max_length=200
    )
    if account is None and not new_account_name:
        errors.setdefault("account", []).append("Choose an account or name a new one.")
    amount_value = clean_amount(errors, "amount", amount)
    close = clean_date(errors, "close_date", close_date, required=True)
    step_date = clean_date(errors, "next_step_date", next_step_date, required=False)
    next_step = clean_text(errors, "next_step", next_step, required=False, max_length=300)
    # No currency given: the organisation's.
    currency = clean_currency(errors, currency or organisation.current().default_currency)
    source = clean_text(errors, "source", source, required=False, max_length=40)
    external_id = clean_text(errors, "external_id", external_id, required=False, max_length=100)
    owner = check_owner(actor, owner, errors)
    product = check_product(product, errors)
    if pipeline is None:
        pipeline = Pipeline.objects.filter(is_active=True).order_by("id").first()
        if pipeline is None:
            errors.setdefault("pipeline", []).append("No active pipeline exists yet.")
    elif not pipeline.is_active:
        errors.setdefault("pipeline", []).append("This pipeline is no longer active.")
    if external_id and Opportunity.objects.filter(source=source, external_id=external_id).exists():
        errors.setdefault("external_id", []).append(
            f"An opportunity with external id '{external_id}' from '{source}' already exists."
        )
    if errors:
        raise ValidationFailed(details=errors)
    # Each of these is None only with an error recorded above.
    assert pipeline is not None and amount_value is not None and close is not None
    stage = first_open_stage(pipeline)
    category, reason = _resolve_category(
        errors, stage=stage, requested=forecast_category, reason=forecast_category_override_reason
    )
    if errors:
        raise ValidationFailed(details=errors)
    if account is None:
        # The new account and its first opportunity are saved together or not at all.
        account = Account.objects.create(name=new_account_name)
        audit_record(actor=actor, action="account.created", target=account)
    now = timezone.now()
    try:
        with transaction.atomic():
            opp = Opportunity.objects.create(
                name=name,
                account=account,
                owner=owner,
                pipeline=pipeline,
                stage=stage,
                amount=amount_value,
                currency=currency,
                close_date=close,
                forecast_category=category,
                forecast_category_override_reason=reason,
                next_step=next_step,
                next_step_date=step_date,
                source=source,
                external_id=external_id,
                stage_entered_at=now,
                product=product,
            )
    except IntegrityError as exc:  # a concurrent insert won the race for the external id
        raise ValidationFailed(
            details={
                "external_id": [f"An opportunity with external id '{external_id}' already exists."]
            }
        ) from exc
    OpportunityChange.objects.bulk_create(
        [
            change_entry(
                opp,
                field=ChangeField.STAGE,
                old=None,
                new=stage.pk,
                new_display=stage.name,
                actor=actor,
                now=now,
                note="Created",
            ),
            change_entry(
                opp,
                field=ChangeField.AMOUNT,
                old=None,
                new=opp.amount,
                actor=actor,
                now=now,
                note="Created",
            ),
            change_entry(
                opp,
                field=ChangeField.CLOSE_DATE,
                old=None,
                new=close,
                actor=actor,
                now=now,
                note="Created",
            ),
            change_entry(
                opp,
                field=ChangeField.FORECAST_CATEGORY,
                old=None,
                new=category,
                new_display=ForecastCategory(category).label,
                actor=actor,
                now=now,
                override_reason=reason,
                note="Created",
            ),
        ]
    )
    audit_record(actor=actor, action="opportunity.created", target=opp)
    # Its flags at once (a close date already passed, say), not at the next hourly run.
    flags_refresh(now=now, opportunity_ids=[opp.pk])
    return opp


def _resolve_category(
    errors: dict[str, list[str]], *, stage: Stage, requested: str | None, reason: str
) -> tuple[str, str]:
    """The category to store and its override reason: the stage's default unless overridden."""
    default = rules.default_forecast_category(stage_category=stage.forecast_category)
    if requested in (None, "", default):
        return default, ""
    if requested not in ForecastCategory.values:
        errors.setdefault("forecast_category", []).append(
            f"Unknown category '{requested}'. Choose one of: {', '.join(ForecastCategory.values)}."
        )
        return default, ""
    if requested == ForecastCategory.CLOSED:
        errors.setdefault("forecast_category", []).append(
            "'Closed' is set by closing the opportunity as won, not chosen by hand."
        )
        return default, ""
    reason = (reason or "").strip()
    if len(reason) > MAX_TEXT:
        errors.setdefault("forecast_category_override_reason", []).append(
            f"Use at most {MAX_TEXT} characters (got {len(reason)})."
        )
    elif not reason:
        errors.setdefault("forecast_category_override_reason", []).append(
            f"Say why this deal is '{ForecastCategory(requested).label}' although its stage "
            f"'{stage.name}' defaults to '{ForecastCategory(default).label}'."
        )
    return requested, reason


UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "account",
        "amount",
        "currency",
        "close_date",
        "next_step",
        "next_step_date",
        "forecast_category",
        "forecast_category_override_reason",
        "owner",
        "product",
    }
)


# Editable fields that raise, clear or re-grade attention flags (an amount change voids
# the qualification). The next step's wording only appears in an explanation: the next
# run catches that up, a save of the text alone costs no refresh.
FLAG_INPUT_FIELDS = frozenset({"close_date", "next_step_date", "amount"})


@transaction.atomic
def opportunity_update(
    *, opportunity_id: int, actor: User, expected_version: int | None = None, **changes: Any
) -> Opportunity:
    """Change the editable fields of an open opportunity; records history for amount,
    close date, forecast category and owner. A changed close date, account or amount that
    an import had filled by a rule leaves `import_gaps` (its import_incomplete flag).

    Refuses: fields that are not editable (stage, status, version, history — use the
    actions), a stale `expected_version` (StaleVersion), a closed opportunity, bad values
    as in `opportunity_create` (a deal keeps a product deactivated since; choosing an
    inactive one is refused).
    """
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationFailed(
            details={f: ["This field cannot be changed directly."] for f in sorted(unknown)}
        )
    opp = lock_for(actor, opportunity_id)
    check_version(opp, expected_version)
    refuse_if_closed(opp)
    old_close, old_amount = opp.close_date, opp.amount
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    history: list[OpportunityChange] = []
    updated: list[str] = []

    def assign(field: str, value: Any) -> None:
        if getattr(opp, field) != value:
            setattr(opp, field, value)
            updated.append(field)

    if "name" in changes:
        assign("name", clean_text(errors, "name", changes["name"], required=True, max_length=200))
    if "account" in changes:
        if changes["account"] is None:
            errors.setdefault("account", []).append("This field is required.")
        else:
            assign("account", changes["account"])
    if "currency" in changes:
        assign("currency", clean_currency(errors, changes["currency"]))
    if "product" in changes:
        assign("product", check_product(changes["product"], errors, current_id=opp.product_id))
    if "next_step" in changes:
        assign(
            "next_step",
            clean_text(errors, "next_step", changes["next_step"], required=False, max_length=300),
        )
    if "next_step_date" in changes:
        assign(
            "next_step_date",
            clean_date(errors, "next_step_date", changes["next_step_date"], required=False),
        )
    if "amount" in changes:
        amount = clean_amount(errors, "amount", changes["amount"])
        if amount is not None and amount != opp.amount:
            history.append(
                change_entry(
                    opp, field=ChangeField.AMOUNT, old=opp.amount, new=amount, actor=actor, now=now
                )
            )
            assign("amount", amount)
    if "close_date" in changes:
        close = clean_date(errors, "close_date", changes["close_date"], required=True)
        if close is not None and close != opp.close_date:
            history.append(
                change_entry(
                    opp,
                    field=ChangeField.CLOSE_DATE,
                    old=opp.close_date,
                    new=close,
                    actor=actor,
                    now=now,
                )
            )
            assign("close_date", close)
    if "owner" in changes and changes["owner"] is not None and changes["owner"].pk != opp.owner_id:
        new_owner = check_owner(actor, changes["owner"], errors)
        if "owner" not in errors:
            history.append(
                change_entry(
                    opp,
                    field=ChangeField.OWNER,
                    old=opp.owner_id,
                    new=new_owner.pk,
                    old_display=opp.owner.username,
                    new_display=new_owner.username,
                    actor=actor,
                    now=now,
                )
            )
            assign("owner", new_owner)
    if "forecast_category" in changes or "forecast_category_override_reason" in changes:
        requested = changes.get("forecast_category", opp.forecast_category)
        reason = changes.get(
            "forecast_category_override_reason", opp.forecast_category_override_reason
        )
        category, reason = _resolve_category(
            errors, stage=opp.stage, requested=requested, reason=reason or ""
        )
        if category != opp.forecast_category:
            history.append(
                category_change(opp, category, actor=actor, now=now, override_reason=reason)
            )
        assign("forecast_category", category)
        assign("forecast_category_override_reason", reason)
    if errors:
        raise ValidationFailed(details=errors)
    if updated:
        opp.version += 1
        # A field an import filled by a rule (its flag asks the owner for the real value)
        # is no longer a gap once anyone sets it, on whatever path.
        gaps = [gap for gap in opp.import_gaps if gap not in updated]
        filled = len(gaps) != len(opp.import_gaps)
        opp.import_gaps = gaps
        opp.save(
            update_fields=[*updated, *(["import_gaps"] if filled else []), "version", "updated_at"]
        )
        OpportunityChange.objects.bulk_create(history)
        void_qualifications(
            opp,
            rules.qualification_void_reason(
                old_close=old_close,
                new_close=opp.close_date,
                old_amount=old_amount,
                new_amount=opp.amount,
            ),
            now=now,
        )
        audit_record(
            actor=actor, action="opportunity.updated", target=opp, data={"fields": sorted(updated)}
        )
        if filled or FLAG_INPUT_FIELDS.intersection(updated):
            # The deal's flags follow at once (one statement, no lock), not at the next run.
            flags_refresh(now=now, opportunity_ids=[opp.pk])
    return opp


# What a gate override with a reason of only spaces is told, next to the reason.


@transaction.atomic
def opportunity_delete(*, opportunity_id: int, actor: User) -> None:
    """Delete an opportunity and its history. Admins only (PermissionDenied otherwise)."""
    opp = lock_for(actor, opportunity_id)
    if not actor.is_admin_role:
        raise PermissionDenied("Only an administrator can delete opportunities.")
    audit_record(
        actor=actor,
        action="opportunity.deleted",
        target=opp,
        data={"name": opp.name, "external_id": opp.external_id, "source": opp.source},
    )
    opp.delete()


@transaction.atomic
def opportunity_upsert_by_external_id(
    *, actor: User, source: str, external_id: str, data: dict[str, Any]
) -> tuple[Opportunity, bool]:
    """Create or update the opportunity known to `source` as `external_id` — syncing the
    same record twice never makes a duplicate. Returns (opportunity, created).

    Refuses like create/update. An existing record outside the actor's scope is NotFound,
    worded as reading it by external id is (selectors.opportunity_get_by_external_id_for):
    never a second copy, and no sign to an outsider that the record exists.
    """
    source = (source or "").strip()
    external_id = (external_id or "").strip()
    if not source or not external_id:
        raise ValidationFailed(details={"external_id": ["Source and external id are required."]})
    # Serialise concurrent syncs of the same record on a transaction-scoped advisory lock.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"opp:{source}:{external_id}"]
        )
    existing = Opportunity.objects.filter(source=source, external_id=external_id).first()
    if existing is None:
        # Missing required fields are refused by opportunity_create, not a TypeError.
        data = {"name": None, "account": None, "close_date": None, **data}
        opp = opportunity_create(actor=actor, source=source, external_id=external_id, **data)
        return opp, True
    if not Opportunity.objects.filter(access.owner_scope_q(actor), pk=existing.pk).exists():
        raise NotFound("No such opportunity.")
    data = {k: v for k, v in data.items() if k != "pipeline"}
    return opportunity_update(opportunity_id=existing.pk, actor=actor, **data), False


# Voiding is part of a deal's edit or move, never a write of its own: it lives with them.
def void_qualifications(opp: Opportunity, reason: str | None, *, now: dt.datetime) -> None:
    """Void the deal's standing qualifications when a change makes them stale."""
    if reason:
        Qualification.objects.filter(opportunity=opp, invalidated_at__isnull=True).update(
            invalidated_at=now, invalidated_reason=reason[:300]
        )
