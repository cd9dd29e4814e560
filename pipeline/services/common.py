"""Helpers the pipeline services share: locking a deal the actor may see, the version
check, refusing a closed deal, the unsaved history rows of a change, the first open and
the closed stages, owner and product checks, and the administrator check and field-by-field
save of the configuration services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline.models import (
    ChangeField,
    ForecastCategory,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
    Pipeline,
    Product,
    Stage,
)
from salesops import access
from salesops.cleaning import save_unique
from salesops.exceptions import Conflict, NotFound, PermissionDenied, StaleVersion, ValidationFailed
from salesops.locking import lock_then_get
from salesops.models import User
from salesops.services import audit_record

MAX_TEXT = 10_000


# --- helpers -----------------------------------------------------------------


def lock_for(actor: User, opportunity_id: int) -> Opportunity:
    """Lock the opportunity for update, if `actor` may see it; else NotFound.

    Locked by primary key, then read with its joins (salesops.locking): a move that
    waited for another move of the same deal sees where the deal is now and is refused
    with a Conflict, never a NotFound."""
    opp = lock_then_get(
        Opportunity.objects.select_related("stage", "pipeline", "owner", "account").filter(
            access.owner_scope_q(actor)
        ),
        opportunity_id,
    )
    if opp is None:
        raise NotFound("No such opportunity.")
    return opp


def check_version(opp: Opportunity, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != opp.version:
        raise StaleVersion(
            details={"current_version": opp.version, "expected_version": expected_version}
        )


def current_state(opp: Opportunity) -> dict[str, Any]:
    """Where the deal is now, in a Conflict's details: a client that lost a race (another
    move committed first) learns what happened without another request."""
    return {
        "current_status": opp.status,
        "current_stage": opp.stage_id,
        "current_stage_name": opp.stage.name,
        "current_version": opp.version,
    }


def refuse_if_closed(opp: Opportunity) -> None:
    if opp.status != OpportunityStatus.OPEN:
        raise Conflict(
            f"This opportunity is closed ({opp.get_status_display().lower()}); "
            "it can no longer change.",
            code="opportunity_closed",
            details=current_state(opp),
        )


def change_entry(
    opp: Opportunity,
    *,
    field: str,
    old: Any,
    new: Any,
    actor: User | None,
    now: dt.datetime,
    old_display: str = "",
    new_display: str = "",
    override_reason: str = "",
    note: str = "",
) -> OpportunityChange:
    return OpportunityChange(
        opportunity=opp,
        field=field,
        old_value=_as_text(old),
        new_value=_as_text(new),
        old_display=old_display or _as_text(old),
        new_display=new_display or _as_text(new),
        changed_by=actor,
        changed_at=now,
        override_reason=override_reason,
        note=note,
    )


def category_change(
    opp: Opportunity, new: str, *, actor: User | None, now: dt.datetime, **extra: str
) -> OpportunityChange:
    return change_entry(
        opp,
        field=ChangeField.FORECAST_CATEGORY,
        old=opp.forecast_category,
        new=new,
        old_display=ForecastCategory(opp.forecast_category).label,
        new_display=ForecastCategory(new).label,
        actor=actor,
        now=now,
        **extra,
    )


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(is_won=False, is_lost=False).order_by("order").first()
    if stage is None:
        raise ValidationFailed(
            details={"pipeline": ["This pipeline has no open stage to start in."]}
        )
    return stage


def closed_stage(pipeline: Pipeline, *, won: bool) -> Stage:
    stage = pipeline.stages.filter(is_won=won, is_lost=not won).order_by("order").first()
    if stage is None:
        kind = "won" if won else "lost"
        raise Conflict(
            f"The pipeline '{pipeline}' has no closed-{kind} stage.", code="no_closed_stage"
        )
    return stage


def check_owner(actor: User, owner: User | None, errors: dict[str, list[str]]) -> User:
    if owner is None:
        return actor
    if not owner.is_active:
        errors.setdefault("owner", []).append("This user is deactivated.")
    elif not access.can_assign_owner(actor, owner):
        errors.setdefault("owner", []).append(
            "You can only assign opportunities to yourself"
            + (" or members of your teams." if actor.is_manager else ".")
        )
    return owner


def check_product(
    product: Product | None, errors: dict[str, list[str]], *, current_id: int | None = None
) -> Product | None:
    """A deal's product (None: none). Only an active product is offered; a deal keeps a
    product that was deactivated after it was chosen."""
    if product is not None and not product.is_active and product.pk != current_id:
        errors.setdefault("product", []).append(
            f"'{product.name}' is no longer offered; choose an active product."
        )
    return product


# --- administration: shared by the setup, products and frameworks services ---


def refuse_unless_admin(actor: User, *, what: str = "pipelines, stages and milestones") -> None:
    if not access.configures_sales_process(actor):
        raise PermissionDenied(f"Only an administrator or a sales leader can change {what}.")


def apply_changes(
    obj: Any, cleaned: dict[str, Any], *, actor: User, action: str, unique_field: str
) -> None:
    """Set the cleaned fields, save only those (a unique clash becomes a field error on
    `unique_field`) and audit which fields changed. Nothing to do when nothing changed."""
    for field, value in cleaned.items():
        setattr(obj, field, value)
    if cleaned:
        save_unique(obj, fields=list(cleaned), field_for_conflict=unique_field)
        audit_record(actor=actor, action=action, target=obj, data={"fields": sorted(cleaned)})
