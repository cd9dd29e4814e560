"""Writes of a deal itself: create, update, advance (with its gate and the forecast
category chosen on a stage move), close won or lost, delete, and the upsert by external id
of imports."""

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
    Milestone,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
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
    closed_stage,
    current_state,
    first_open_stage,
    lock_for,
    refuse_if_closed,
)
from pipeline.services.gate import gate_missing, missing_details
from salesops import access, organisation
from salesops.cleaning import clean_amount, clean_currency, clean_date, clean_text
from salesops.exceptions import Conflict, GateNotMet, NotFound, PermissionDenied, ValidationFailed
from salesops.models import User
from salesops.services import audit_record
from salesops.text import counted

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
    stage = first_open_stage(pipeline)  # type: ignore[arg-type]  # None: an error above
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
            opp = Opportunity.objects.create(  # type: ignore[misc]  # pipeline, amount, close: None is an error above
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
        _void_qualifications(
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
OVERRIDE_REASON_BLANK = (
    "Write why the deal may move without these milestones: the reason is recorded in the "
    "history and shows up in reviews."
)


@transaction.atomic
def opportunity_advance(
    *,
    opportunity_id: int,
    stage_id: int,
    actor: User,
    override_reason: str = "",
    loss_reason: str = "",
    expected_version: int | None = None,
    forecast_category_on_move: str | None = None,
) -> Opportunity:
    """Move an open opportunity to another stage of its pipeline.

    Forward moves are gated: every required milestone of the current stage and of any
    skipped stage must be met. Refuses with GateNotMet (details: missing milestones)
    unless a manager of the owner (or a leader) gives an override reason, which is
    recorded. Moving to a won stage closes as won; to a lost stage closes as lost and
    needs a loss reason. Refuses: a stage of another pipeline, the current stage, a
    closed opportunity, a rep's override, a stale version, an override reason of only
    spaces where the gate needs one (GateNotMet with `details.override_reason`).

    Forecast category: without a manual override it follows the target stage's default.
    A manual override (one with a reason) whose category differs from the open target
    stage's default is never silently kept or replaced: `forecast_category_on_move`
    "keep" keeps it (and its reason), "follow" takes the stage's default, clears the
    reason and records that the override was replaced, by whom. Without a decision the
    move is refused with Conflict `category_override_decision` (details: current_category,
    override_reason, stage_default, target_stage, choices) and nothing is saved. The gate
    is checked first: a move that fails the gate answers the gate. An override equal to
    the stage's default is kept without a question; closing sets closed/omitted and
    never asks. Any other value of `forecast_category_on_move` is ValidationFailed.
    """
    opp = lock_for(actor, opportunity_id)
    check_version(opp, expected_version)
    refuse_if_closed(opp)
    # Anything sent as a reason is an attempt to override, even only spaces: it is refused
    # with a message about the reason, never taken for "no override" in silence.
    override_attempted = bool(override_reason)
    override_reason = (override_reason or "").strip()
    loss_reason = (loss_reason or "").strip()
    target = _advance_target(opp, stage_id, override_reason, loss_reason)
    category_decision = _clean_category_on_move(forecast_category_on_move)

    missing = gate_missing(opp, target)
    used_override = _gate_override(opp, target, missing, actor, override_reason, override_attempted)
    # After the gate, so a move that fails the gate answers the gate first; closing never asks.
    on_move = None if target.is_closed else _category_on_move(opp, target, category_decision)

    now = timezone.now()
    old_stage = opp.stage
    history, fields = _move_to_stage(
        opp, target, missing, actor=actor, now=now, used_override=used_override
    )
    _follow_target(
        opp, target, on_move, history, fields, actor=actor, now=now, loss_reason=loss_reason
    )
    opp.version += 1
    opp.save(update_fields=fields)
    OpportunityChange.objects.bulk_create(history)
    _void_qualifications(
        opp,
        rules.qualification_void_reason(
            old_stage_order=old_stage.order, new_stage_order=target.order
        ),
        now=now,
    )
    # Its flags follow the new stage at once; closing clears them all.
    flags_refresh(now=now, opportunity_ids=[opp.pk])
    audit_record(
        actor=actor,
        action="opportunity.advanced",
        target=opp,
        data={
            "from": old_stage.pk,
            "to": target.pk,
            "override_reason": used_override,
            "forecast_category_on_move": category_decision or "",
        },
    )
    return opp


# --- pipeline: the steps of a stage move ---


def _advance_target(
    opp: Opportunity, stage_id: int, override_reason: str, loss_reason: str
) -> Stage:
    """The stage `opp` is to move to; refuses a missing stage, a stage of another pipeline,
    the current stage, a move to a lost stage without a loss reason and reasons over
    MAX_TEXT."""
    target = Stage.objects.filter(pk=stage_id).first()
    if target is None:
        raise ValidationFailed(details={"stage": [f"No stage with id {stage_id}."]})
    if target.pipeline_id != opp.pipeline_id:
        raise ValidationFailed(
            details={
                "stage": [
                    f"Stage '{target.name}' belongs to another pipeline; "
                    f"this opportunity is in '{opp.pipeline.name}'."
                ]
            }
        )
    if target.pk == opp.stage_id:
        raise Conflict(
            f"The opportunity is already in '{target.name}'.",
            code="same_stage",
            details=current_state(opp),
        )
    if target.is_lost and not loss_reason:
        raise ValidationFailed(
            "Say why the opportunity was lost.",
            details={"loss_reason": ["A loss reason is required to close as lost."]},
        )
    for field, text in (("override_reason", override_reason), ("loss_reason", loss_reason)):
        if len(text) > MAX_TEXT:
            raise ValidationFailed(details={field: [f"Use at most {MAX_TEXT} characters."]})
    return target


def _gate_override(
    opp: Opportunity,
    target: Stage,
    missing: list[Milestone],
    actor: User,
    override_reason: str,
    override_attempted: bool,
) -> str:
    """The override reason the move uses ("" when the gate is met); refuses a move with
    `missing` milestones unless `actor` may override and gave a reason (PermissionDenied,
    GateNotMet)."""
    may_override = access.can_override_gate(actor, opp.owner)
    used_override = ""
    if missing:
        if override_attempted and not may_override:
            raise PermissionDenied(
                "Only the owner's manager or a sales leader can override a stage gate.",
                code="override_not_allowed",
                details={
                    "missing": missing_details(
                        opp, missing, {s.id: s for s in opp.pipeline.stages.all()}
                    )
                },
            )
        if not override_reason:
            stages = {s.id: s for s in opp.pipeline.stages.all()}
            titles = "; ".join(m.title for m in missing)
            message = (
                f"{counted(len(missing), 'required milestone')} must be met before moving to "
                f"'{target.name}': {titles}."
            )
            details: dict[str, Any] = {
                "missing": missing_details(opp, missing, stages),
                "target_stage": target.pk,
                "can_override": may_override,
            }
            if override_attempted:  # a reason of only spaces
                message = f"An override needs a written reason; only spaces were sent. {message}"
                details["override_reason"] = [OVERRIDE_REASON_BLANK]
            raise GateNotMet(message, details=details)
        used_override = override_reason
    return used_override


def _move_to_stage(
    opp: Opportunity,
    target: Stage,
    missing: list[Milestone],
    *,
    actor: User,
    now: dt.datetime,
    used_override: str,
) -> tuple[list[OpportunityChange], list[str]]:
    """Puts `opp` in `target` (not saved): the history entries and the fields to save so
    far, the stage change first."""
    old_stage = opp.stage
    history = [
        change_entry(
            opp,
            field=ChangeField.STAGE,
            old=old_stage.pk,
            new=target.pk,
            old_display=old_stage.name,
            new_display=target.name,
            actor=actor,
            now=now,
            override_reason=used_override,
            note=f"Gate overridden; missing: {'; '.join(m.title for m in missing)}"
            if used_override
            else "",
        )
    ]
    fields = ["stage", "stage_entered_at", "version", "updated_at"]
    opp.stage = target
    opp.stage_entered_at = now
    return history, fields


def _follow_target(
    opp: Opportunity,
    target: Stage,
    on_move: rules.CategoryOnMove | None,
    history: list[OpportunityChange],
    fields: list[str],
    *,
    actor: User,
    now: dt.datetime,
    loss_reason: str,
) -> None:
    """The forecast category after the move (closed/omitted on closing, else `on_move`'s)
    and, on a move to a closed stage, the won or lost status: added to `history` and
    `fields` when they change."""
    new_category = opp.forecast_category
    category_note = f"Follows stage '{target.name}'"
    if target.is_won:
        new_category = ForecastCategory.CLOSED
    elif target.is_lost:
        new_category = ForecastCategory.OMITTED
    elif on_move is not None:
        new_category = on_move.category
        if on_move.replaced_override:
            category_note = (
                f"Manual override replaced by the default of stage '{target.name}' on the "
                f"stage move, by {actor.username} (it was: "
                f"{opp.forecast_category_override_reason})"
            )
            opp.forecast_category_override_reason = ""
            fields.append("forecast_category_override_reason")
    if new_category != opp.forecast_category:
        history.append(category_change(opp, new_category, actor=actor, now=now, note=category_note))
        opp.forecast_category = new_category
        fields.append("forecast_category")
    if target.is_closed:
        new_status = OpportunityStatus.WON if target.is_won else OpportunityStatus.LOST
        history.append(
            change_entry(
                opp,
                field=ChangeField.STATUS,
                old=opp.status,
                new=new_status,
                actor=actor,
                now=now,
                note=loss_reason,
            )
        )
        opp.status = new_status
        opp.closed_at = now
        opp.loss_reason = loss_reason if target.is_lost else ""
        opp.forecast_category_override_reason = ""
        fields += ["status", "closed_at", "loss_reason", "forecast_category_override_reason"]


# --- pipeline: category override on stage moves ---

# The Conflict code of "keep the manual forecast category or use the stage's default?".
CATEGORY_DECISION_CODE = "category_override_decision"


def _clean_category_on_move(value: Any) -> str | None:
    """The mover's decision about a manual forecast category, or None (not given)."""
    if value is None or value == "":
        return None
    if value not in rules.CATEGORY_ON_MOVE_CHOICES:
        raise ValidationFailed(
            details={
                "forecast_category_on_move": [
                    f"Choose '{rules.KEEP_OVERRIDE}' (keep the manual forecast category) or "
                    f"'{rules.FOLLOW_STAGE}' (use the new stage's default)."
                ]
            }
        )
    return value


def _category_on_move(
    opp: Opportunity, target: Stage, decision: str | None
) -> rules.CategoryOnMove:
    """What the move does to the forecast category of `opp`; refuses (nothing saved yet)
    when a manual override meets a different stage default and nobody decided."""
    stage_default = rules.default_forecast_category(stage_category=target.forecast_category)
    on_move = rules.category_on_stage_move(
        current=opp.forecast_category,
        override_reason=opp.forecast_category_override_reason,
        stage_default=stage_default,
        decision=decision,
    )
    if on_move.needs_decision:
        current = ForecastCategory(opp.forecast_category).label
        default = ForecastCategory(stage_default).label
        reason = opp.forecast_category_override_reason
        shown_reason = reason if len(reason) <= 200 else reason[:199] + "…"
        raise Conflict(
            f"This deal's forecast category was set by hand to {current} (reason: "
            f"{shown_reason}). Stage '{target.name}' defaults to {default}. "
            f"Keep {current} or use {default}?",
            code=CATEGORY_DECISION_CODE,
            details={
                "current_category": opp.forecast_category,
                "override_reason": reason,
                "stage_default": stage_default,
                "target_stage": target.pk,
                "target_stage_name": target.name,
                "choices": [
                    {
                        "value": rules.KEEP_OVERRIDE,
                        "category": opp.forecast_category,
                        "label": f"Keep {current}",
                    },
                    {
                        "value": rules.FOLLOW_STAGE,
                        "category": stage_default,
                        "label": f"Use {default}",
                    },
                ],
            },
        )
    return on_move


@transaction.atomic
def opportunity_close_won(
    *,
    opportunity_id: int,
    actor: User,
    override_reason: str = "",
    expected_version: int | None = None,
) -> Opportunity:
    """Close as won: moves to the pipeline's won stage through the same gate."""
    opp = lock_for(actor, opportunity_id)
    return opportunity_advance(
        opportunity_id=opp.pk,
        stage_id=closed_stage(opp.pipeline, won=True).pk,
        actor=actor,
        override_reason=override_reason,
        expected_version=expected_version,
    )


@transaction.atomic
def opportunity_close_lost(
    *, opportunity_id: int, actor: User, loss_reason: str, expected_version: int | None = None
) -> Opportunity:
    """Close as lost: needs a loss reason; no milestone gate."""
    opp = lock_for(actor, opportunity_id)
    return opportunity_advance(
        opportunity_id=opp.pk,
        stage_id=closed_stage(opp.pipeline, won=False).pk,
        actor=actor,
        loss_reason=loss_reason,
        expected_version=expected_version,
    )


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
def _void_qualifications(opp: Opportunity, reason: str | None, *, now: dt.datetime) -> None:
    """Void the deal's standing qualifications when a change makes them stale."""
    if reason:
        Qualification.objects.filter(opportunity=opp, invalidated_at__isnull=True).update(
            invalidated_at=now, invalidated_reason=reason[:300]
        )
