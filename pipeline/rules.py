"""Pure decision functions of the pipeline — no ORM, tested without a database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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


# --- qualification ------------------------------------------------------------------

SCORE_LEVELS = {
    0: "Unknown",
    1: "Identified",
    2: "Partly validated",
    3: "Validated with evidence",
}
MAX_SCORE = 3
EVIDENCE_NEEDED_FROM = 2
EVIDENCE_SOURCES = ("call", "meeting", "email", "document")
AMOUNT_CHANGE_VOIDS = Decimal("0.20")


def weighted_score_pct(*, weighted_scores: Iterable[tuple[int, int]]) -> Decimal:
    """Σ weight × score ÷ (3 × Σ weight), as a percentage with two decimals.

    `weighted_scores` holds (weight, score) per element; no weight means 0 %."""
    pairs = list(weighted_scores)
    total_weight = sum(weight for weight, _ in pairs)
    if total_weight <= 0:
        return Decimal("0.00")
    achieved = sum(weight * score for weight, score in pairs)
    pct = Decimal(achieved * 100) / Decimal(MAX_SCORE * total_weight)
    return pct.quantize(Decimal("0.01"))


def score_problems(*, score: object, evidence: str, source: str) -> dict[str, str]:
    """What is wrong with one element's score, by field ('score', 'evidence', 'source')."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
        return {"score": "Score each element 0–3: 0 unknown, 1 identified, 2 partly validated, "
                         "3 validated with evidence."}  # fmt: skip
    problems: dict[str, str] = {}
    if score >= EVIDENCE_NEEDED_FROM:
        if len(evidence.strip()) < 3:
            problems["evidence"] = (
                f"A score of {score} ({SCORE_LEVELS[score].lower()}) needs evidence: what did "
                "the customer say, send or do?"
            )
        if source not in EVIDENCE_SOURCES:
            problems["source"] = (
                "Say where the evidence comes from: call, meeting, email or document."
            )
    return problems


def qualification_expires_at(*, assessed_at: datetime, validity_days: int) -> datetime:
    return assessed_at + timedelta(days=validity_days)


def qualification_is_valid(
    *, assessed_at: datetime, invalidated_at: datetime | None, validity_days: int, now: datetime
) -> bool:
    """Valid until it expires or a change to the deal voids it."""
    if invalidated_at is not None:
        return False
    return now < qualification_expires_at(assessed_at=assessed_at, validity_days=validity_days)


def qualification_void_reason(
    *,
    old_close: date | None = None,
    new_close: date | None = None,
    old_amount: Decimal | None = None,
    new_amount: Decimal | None = None,
    old_stage_order: int | None = None,
    new_stage_order: int | None = None,
) -> str | None:
    """Why a change to the deal voids its qualification early, or None.

    The close date pushed into a later month, the amount moved by more than 20 %, or
    the deal moved back a stage: what was validated no longer describes this deal."""
    if (
        old_close
        and new_close
        and (new_close.year, new_close.month)
        > (
            old_close.year,
            old_close.month,
        )
    ):
        return f"Close date pushed from {old_close:%b %Y} to {new_close:%b %Y}."
    if (
        old_amount is not None
        and new_amount is not None
        and old_amount != new_amount
        and (old_amount == 0 or abs(new_amount - old_amount) > AMOUNT_CHANGE_VOIDS * old_amount)
    ):
        return f"Amount changed from {old_amount:,.2f} to {new_amount:,.2f} (more than 20 %)."
    if (
        old_stage_order is not None
        and new_stage_order is not None
        and new_stage_order < old_stage_order
    ):
        return "The deal moved back a stage."
    return None


def qualification_gaps(
    *,
    score_pct: Decimal | None,
    element_scores: dict[int, int],
    min_score: int | None,
    element_minimums: dict[int, int],
    element_names: dict[int, str],
) -> list[str]:
    """What a (valid) qualification lacks against a stage's requirement, in words.

    `score_pct` None means there is no valid qualification at all."""
    if score_pct is None:
        return ["No valid qualification: qualify (or re-qualify) the deal."]
    gaps = []
    if min_score is not None and score_pct < min_score:
        gaps.append(f"Qualification score {score_pct:.0f} % is below the required {min_score} %.")
    for element_id, minimum in element_minimums.items():
        have = element_scores.get(element_id, 0)
        if have < minimum:
            gaps.append(
                f"{element_names.get(element_id, 'Element')} is {have} "
                f"({SCORE_LEVELS.get(have, '?').lower()}); at least {minimum} is required."
            )
    return gaps
