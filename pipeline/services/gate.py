"""The stage gate: which milestones a deal has met, what its automatic milestones still
lack, and which milestones stand between it and a target stage."""

from __future__ import annotations

from typing import Any

from pipeline import providers, rules
from pipeline.models import (
    AutoCheck,
    BusinessIssue,
    Milestone,
    MilestoneCompletion,
    MilestoneElementLevel,
    Opportunity,
    Stage,
)
from pipeline.services.qualification import latest_valid_qualification

# --- gate ----------------------------------------------------------------------


def met_milestone_ids(opp: Opportunity, milestones: list[Milestone]) -> set[int]:
    """Milestones met for `opp`: ticked ones plus automatic checks that hold now."""
    met = set(
        MilestoneCompletion.objects.filter(opportunity=opp).values_list("milestone_id", flat=True)
    )
    gaps = automatic_milestone_gaps(opp, milestones)
    met.update(m_id for m_id, missing in gaps.items() if not missing)
    return met


def automatic_milestone_gaps(opp: Opportunity, milestones: list[Milestone]) -> dict[int, list[str]]:
    """For each automatic milestone, what it still lacks in words (empty list: met)."""
    auto = [m for m in milestones if m.auto_check]
    result: dict[int, list[str]] = {}
    if any(m.auto_check == AutoCheck.BUSINESS_ISSUE_MAPPED for m in auto):
        mapped = BusinessIssue.objects.filter(opportunity=opp).exclude(our_value="").count()
        for m in auto:
            if m.auto_check == AutoCheck.BUSINESS_ISSUE_MAPPED:
                met = rules.auto_check_met(auto_check=m.auto_check, mapped_business_issues=mapped)
                result[m.id] = [] if met else [
                    "Record a business issue of the customer and the value we offer against it."
                ]  # fmt: skip
    if any(m.auto_check == AutoCheck.PROPOSAL_APPROVED for m in auto):
        approved = providers.approved_proposals(opp.pk)  # registered by proposals
        for m in auto:
            if m.auto_check == AutoCheck.PROPOSAL_APPROVED:
                met = rules.auto_check_met(auto_check=m.auto_check, approved_proposals=approved)
                result[m.id] = [] if met else [
                    "Have a proposal approved: write it, pass the executive summary checks and"
                    " submit it to your manager for review."
                ]  # fmt: skip
    qualification_milestones = [m for m in auto if m.auto_check == AutoCheck.QUALIFICATION]
    if qualification_milestones:
        latest = latest_valid_qualification(opp)
        scores = dict(latest.scores.values_list("element_id", "score")) if latest else {}
        levels = list(
            MilestoneElementLevel.objects.filter(
                milestone__in=qualification_milestones
            ).select_related("element")
        )
        for m in qualification_milestones:
            mine = [lvl for lvl in levels if lvl.milestone_id == m.id]
            result[m.id] = rules.qualification_gaps(
                score_pct=latest.score_pct if latest else None,
                element_scores=scores,
                min_score=m.min_qualification_score,
                element_minimums={lvl.element_id: lvl.min_level for lvl in mine},
                element_names={lvl.element_id: lvl.element.name for lvl in mine},
            )
    return result


def gate_missing(opp: Opportunity, target: Stage) -> list[Milestone]:
    """The required milestones that block moving `opp` to `target` (empty when it may move)."""
    stages = list(opp.pipeline.stages.all())
    milestones = list(
        Milestone.objects.filter(stage__pipeline_id=opp.pipeline_id).order_by(
            "stage__order", "order", "id"
        )
    )
    by_id = {m.id: m for m in milestones}
    specs = {s.id: rules.StageSpec(s.id, s.order, s.name, s.is_won, s.is_lost) for s in stages}
    missing = rules.missing_milestones(
        stages=specs.values(),
        milestones=[
            rules.MilestoneSpec(m.id, m.stage_id, m.title, m.kind, m.required, m.auto_check)
            for m in milestones
        ],
        current=specs[opp.stage_id],
        target=specs[target.id],
        met_ids=met_milestone_ids(opp, milestones),
    )
    return [by_id[m.id] for m in missing]


def missing_details(
    opp: Opportunity, missing: list[Milestone], stages: dict[int, Stage]
) -> list[dict[str, Any]]:
    gaps = automatic_milestone_gaps(opp, missing)
    return [
        {
            "id": m.id,
            "title": m.title,
            "kind": m.kind,
            "stage": stages[m.stage_id].name,
            "stage_id": m.stage_id,
            "requires_evidence": m.requires_evidence,
            "automatic": bool(m.auto_check),
            "completable_by": m.completable_by,
            # For automatic milestones: what exactly is lacking, in words.
            "gaps": gaps.get(m.id, []),
        }
        for m in missing
    ]
