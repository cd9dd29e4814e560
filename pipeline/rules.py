"""Pure decision functions of the pipeline — no ORM, tested without a database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class StageSpec:
    id: int
    order: int
    name: str
    is_won: bool = False
    is_lost: bool = False


@dataclass(frozen=True)
class MilestoneSpec:
    id: int
    stage_id: int
    title: str
    kind: str
    required: bool = True
    auto_check: str = ""


def stages_to_clear(
    *, stages: Iterable[StageSpec], current: StageSpec, target: StageSpec
) -> list[StageSpec]:
    """Stages whose exit milestones must be met to move from `current` to `target`.

    Moving forward clears the current stage and every stage skipped on the way;
    closed stages (won/lost) have no exit criteria of their own. Moving backwards
    clears nothing. Moving to a lost stage clears nothing either: a deal may be
    lost at any point.
    """
    if target.is_lost or target.order <= current.order:
        return []
    return [
        s
        for s in sorted(stages, key=lambda s: s.order)
        if current.order <= s.order < target.order and not (s.is_won or s.is_lost)
    ]


def missing_milestones(
    *,
    stages: Iterable[StageSpec],
    milestones: Iterable[MilestoneSpec],
    current: StageSpec,
    target: StageSpec,
    met_ids: set[int],
) -> list[MilestoneSpec]:
    """The required milestones that block the move, in stage and milestone order.

    `met_ids` holds the ids of milestones that are met, whether ticked by a person
    or satisfied by an automatic check.
    """
    stage_order = {
        s.id: s.order for s in stages_to_clear(stages=stages, current=current, target=target)
    }
    return [
        m for m in milestones if m.required and m.stage_id in stage_order and m.id not in met_ids
    ]


def auto_check_met(*, auto_check: str, mapped_business_issues: int) -> bool:
    """Whether an automatic milestone is met, from facts gathered by the service."""
    if auto_check == "business_issue_mapped":
        return mapped_business_issues > 0
    return False


def evidence_problem(*, requires_evidence: bool, evidence: str) -> str | None:
    """Why the evidence given for a milestone is not acceptable, or None."""
    if requires_evidence and len(evidence.strip()) < 3:
        return "This milestone needs evidence: say what the customer said or sent."
    return None


def default_forecast_category(*, stage_category: str) -> str:
    return stage_category


def days_in_stage(*, stage_entered_at: datetime, now: datetime) -> int:
    return max(0, (now - stage_entered_at).days)


def stage_health(*, days: int, warn_days: int | None, rot_days: int | None) -> str:
    """'ok', 'warn' or 'rot' from the days spent in the stage and its thresholds."""
    if rot_days is not None and days >= rot_days:
        return "rot"
    if warn_days is not None and days >= warn_days:
        return "warn"
    return "ok"


def amount_problem(amount: Decimal) -> str | None:
    if amount < 0:
        return "The amount cannot be negative."
    return None
