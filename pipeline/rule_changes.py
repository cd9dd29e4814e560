"""The versions of a stage's exit rules: what a gate requires, compared before and after a
milestone write, and the StageRuleChange written when it differs (see the model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils import timezone

from pipeline.models import Milestone, MilestoneElementLevel, Opportunity, Stage, StageRuleChange
from salesops.models import User


@dataclass(frozen=True)
class GateRule:
    """What one required milestone asks of a deal leaving its stage."""

    title: str
    min_score: int | None
    levels: tuple[tuple[int, int], ...]  # (element id, minimum level), sorted


def gate_rules(stage_id: int) -> dict[int, GateRule]:
    """The stage's required milestones by id — the rules a deal must meet to leave it."""
    milestones = list(
        Milestone.objects.filter(stage_id=stage_id, required=True).values_list(
            "id", "title", "auto_check", "min_qualification_score"
        )
    )
    levels: dict[int, list[tuple[int, int]]] = {}
    for milestone_id, element_id, level in MilestoneElementLevel.objects.filter(
        milestone_id__in=[m[0] for m in milestones]
    ).values_list("milestone_id", "element_id", "min_level"):
        levels.setdefault(milestone_id, []).append((element_id, level))
    return {
        pk: GateRule(
            title=title,
            min_score=score if auto else None,
            levels=tuple(sorted(levels.get(pk, []))) if auto else (),
        )
        for pk, title, auto, score in milestones
    }


def _differences(before: dict[int, GateRule], after: dict[int, GateRule]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for pk in sorted(before.keys() | after.keys()):
        old, new = before.get(pk), after.get(pk)
        title = (new or old).title  # type: ignore[union-attr]
        if old is None:
            changes.append({"milestone": pk, "title": title, "what": "required", "after": True})
        elif new is None:
            changes.append({"milestone": pk, "title": title, "what": "required", "after": False})
        else:
            if old.min_score != new.min_score:
                changes.append(
                    {
                        "milestone": pk,
                        "title": title,
                        "what": "min_score",
                        "before": old.min_score,
                        "after": new.min_score,
                    }
                )
            if old.levels != new.levels:
                changes.append(
                    {
                        "milestone": pk,
                        "title": title,
                        "what": "element_levels",
                        "before": [list(pair) for pair in old.levels],
                        "after": [list(pair) for pair in new.levels],
                    }
                )
    return changes


def describe(change: dict[str, Any]) -> str:
    """One change in words, e.g. "Required 'Economic buyer confirmed'"."""
    title = change["title"]
    if change["what"] == "required":
        return f"Required '{title}'" if change["after"] else f"No longer requires '{title}'"
    if change["what"] == "min_score":
        before = "none" if change.get("before") is None else f"{change['before']} %"
        after = "none" if change.get("after") is None else f"{change['after']} %"
        return f"Minimum qualification score of '{title}': {before} → {after}"
    return f"Element minimums of '{title}' changed"


def record_if_changed(
    *, stage: Stage, before: dict[int, GateRule], actor: User | None, note: str = ""
) -> StageRuleChange | None:
    """Compare the stage's rules with `before` and log the difference as the stage's next
    rules version. Nothing is logged while the pipeline has never held a deal: building
    an unused pipeline is set-up, not an experiment."""
    changes = _differences(before, gate_rules(stage.pk))
    if not changes or not Opportunity.objects.filter(pipeline_id=stage.pipeline_id).exists():
        return None
    Stage.objects.filter(pk=stage.pk).update(rules_version=F("rules_version") + 1)
    version = Stage.objects.values_list("rules_version", flat=True).get(pk=stage.pk)
    summary = "; ".join(describe(c) for c in changes)
    return StageRuleChange.objects.create(
        stage_id=stage.pk,
        version=version,
        changed_at=timezone.now(),
        changed_by=actor,
        summary=summary[:300],
        changes=changes,
        note=note,
    )
