"""Stage moves of a deal: advance (the gate, an override by a manager, the forecast
category chosen on a move) and closing it won or lost, which are moves to a closed stage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from pipeline import rules
from pipeline.flags import flags_refresh
from pipeline.models import (
    ChangeField,
    ForecastCategory,
    Milestone,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
    Stage,
)
from pipeline.services.common import (
    MAX_TEXT,
    category_change,
    change_entry,
    check_version,
    closed_stage,
    current_state,
    lock_for,
    refuse_if_closed,
)
from pipeline.services.gate import gate_missing, missing_details
from pipeline.services.opportunities import void_qualifications
from salesops import access
from salesops.exceptions import Conflict, GateNotMet, PermissionDenied, ValidationFailed
from salesops.models import User
from salesops.services import audit_record
from salesops.text import counted

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
    void_qualifications(
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
