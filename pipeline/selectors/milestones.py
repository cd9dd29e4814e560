"""The opportunity page's milestones: every stage of the deal's pipeline with its
milestones and whether each is met, and the stage after the deal's."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.models import Milestone, MilestoneCompletion, Opportunity, Stage
from pipeline.services import automatic_milestone_gaps


@dataclass
class MilestoneRow:
    milestone: Milestone
    completion: MilestoneCompletion | None
    met: bool
    # Automatic milestones: what they still lack, in words (empty when met).
    gaps: list[str] = field(default_factory=list)


@dataclass
class StageMilestones:
    stage: Stage
    seller_actions: list[MilestoneRow] = field(default_factory=list)
    buyer_commitments: list[MilestoneRow] = field(default_factory=list)

    @property
    def open_required(self) -> list[MilestoneRow]:
        return [
            r
            for r in self.seller_actions + self.buyer_commitments
            if r.milestone.required and not r.met
        ]


def milestones_by_stage(opp: Opportunity) -> list[StageMilestones]:
    """Every stage of the opportunity's pipeline with its milestones and whether each is met."""
    stages = list(Stage.objects.filter(pipeline_id=opp.pipeline_id).order_by("order"))
    milestones = list(
        Milestone.objects.filter(stage__pipeline_id=opp.pipeline_id).order_by(
            "stage__order", "order", "id"
        )
    )
    completions = {
        c.milestone_id: c
        for c in MilestoneCompletion.objects.filter(opportunity=opp).select_related("completed_by")
    }
    # The same facts as services.met_milestone_ids (ticked, or an automatic check holds),
    # keeping the automatic checks' gaps to show them in words.
    gaps = automatic_milestone_gaps(opp, milestones)
    met = set(completions) | {m_id for m_id, missing in gaps.items() if not missing}
    groups = {s.id: StageMilestones(stage=s) for s in stages}
    for m in milestones:
        row = MilestoneRow(
            milestone=m,
            completion=completions.get(m.id),
            met=m.id in met,
            gaps=[] if m.id in met else gaps.get(m.id, []),
        )
        group = groups[m.stage_id]
        (group.buyer_commitments if m.kind == "buyer_commitment" else group.seller_actions).append(
            row
        )
    return list(groups.values())


def next_stage(opp: Opportunity) -> Stage | None:
    return (
        Stage.objects.filter(
            pipeline_id=opp.pipeline_id, order__gt=opp.stage.order, is_won=False, is_lost=False
        )
        .order_by("order")
        .first()
    )
