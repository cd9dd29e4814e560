"""Administration of the sales process: pipelines, their stages and their milestones
(exit rules), by administrators and sales leaders."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from pipeline import rule_changes
from pipeline.models import (
    AutoCheck,
    ForecastCategory,
    Milestone,
    MilestoneCompleter,
    MilestoneElementLevel,
    MilestoneKind,
    Pipeline,
    QualificationElement,
    QualificationFramework,
    Stage,
)
from pipeline.services.common import MAX_TEXT, apply_changes, refuse_unless_admin
from salesops.cleaning import (
    MAX_SMALL_INT,
    clean_int,
    clean_name_and_description,
    clean_text,
    refuse_unknown_fields,
    save_unique,
)
from salesops.exceptions import Conflict, NotFound, ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- pipeline framework administration ------------------------------------------
# Pipelines, stages and milestones are configuration: administrators and sales leaders
# change them (access.configures_sales_process).

PIPELINE_FIELDS = frozenset({"name", "description", "is_active", "framework"})


# Public: pipeline templates (templates.py) check the name before writing anything.
def clean_pipeline(data: dict[str, Any], *, instance: Pipeline | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned = clean_name_and_description(
        errors, data, queryset=Pipeline.objects.all(), instance=instance,
        taken="A pipeline with this name exists.", max_description=MAX_TEXT,
    )  # fmt: skip
    if "is_active" in data:
        cleaned["is_active"] = bool(data["is_active"])
    if "framework" in data:
        cleaned["framework"] = _clean_pipeline_framework(errors, data["framework"], instance)
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


def _clean_pipeline_framework(
    errors: dict[str, list[str]], value: Any, instance: Pipeline | None
) -> QualificationFramework | None:
    """The qualification framework a pipeline names (None: none). Refuses an unknown or
    inactive framework, and a change that would strand the pipeline's automatic
    qualification milestones (they check elements of the framework in use)."""
    framework = None
    if value is not None:
        framework_id = value.pk if isinstance(value, QualificationFramework) else value
        framework = QualificationFramework.objects.filter(  # type: ignore[misc]  # pk=None: no row
            pk=framework_id
            if isinstance(framework_id, int) and not isinstance(framework_id, bool)
            else None
        ).first()
        if framework is None:
            errors.setdefault("framework", []).append("No such framework.")
            return None
        if not framework.is_active and (instance is None or instance.framework_id != framework.pk):
            errors.setdefault("framework", []).append("This framework is not active.")
    if instance is not None and instance.framework_id != (framework.pk if framework else None):
        checking = Milestone.objects.filter(
            stage__pipeline=instance, auto_check=AutoCheck.QUALIFICATION
        ).order_by("id")
        if framework is None and checking.exists():
            titles = ", ".join(f"'{m.title}'" for m in checking[:5])
            errors.setdefault("framework", []).append(
                f"Automatic qualification milestones ({titles}) need a framework."
            )
        stranded = (
            MilestoneElementLevel.objects.filter(milestone__stage__pipeline=instance)
            .exclude(element__framework=framework)
            .select_related("milestone")
            .order_by("milestone_id")
        )
        if framework is not None and stranded.exists():
            titles = ", ".join(sorted({f"'{lvl.milestone.title}'" for lvl in stranded[:5]}))
            errors.setdefault("framework", []).append(
                f"Milestones {titles} require levels of elements of another framework; "
                "change them first."
            )
    return framework


@transaction.atomic
def pipeline_create(
    *,
    actor: User,
    name: str,
    description: str = "",
    is_active: bool = True,
    framework: QualificationFramework | int | None = None,
) -> Pipeline:
    """Create a pipeline (stages are added separately). Refuses: a rep or a manager, an empty or
    taken name, an unknown or inactive qualification framework."""
    refuse_unless_admin(actor)
    cleaned = clean_pipeline(
        {"name": name, "description": description, "is_active": is_active, "framework": framework},
        instance=None,
    )
    pipeline = Pipeline(**cleaned)
    save_unique(pipeline, fields=None, field_for_conflict="name")
    audit_record(actor=actor, action="pipeline.created", target=pipeline)
    return pipeline


@transaction.atomic
def pipeline_update(*, pipeline_id: int, actor: User, **changes: Any) -> Pipeline:
    """Rename, describe, (de)activate a pipeline or choose its qualification framework
    (`framework`: a framework, its id, or None). Refuses: a rep or a manager, unknown fields, an
    empty or taken name, an unknown or inactive framework, removing the framework while
    automatic qualification milestones check it, changing it while milestones require
    levels of the old framework's elements."""
    refuse_unless_admin(actor)
    refuse_unknown_fields(changes, allowed=PIPELINE_FIELDS)
    pipeline = Pipeline.objects.select_for_update().filter(pk=pipeline_id).first()
    if pipeline is None:
        raise NotFound("No such pipeline.")
    cleaned = clean_pipeline(changes, instance=pipeline)
    apply_changes(pipeline, cleaned, actor=actor, action="pipeline.updated", unique_field="name")
    return pipeline


STAGE_FIELDS = frozenset(
    {
        "name",
        "order",
        "probability",
        "forecast_category",
        "guidance",
        "expected_days",
        "warn_days",
        "rot_days",
        "is_won",
        "is_lost",
        "qualification_validity_days",
        "no_activity_days",
    }
)


def _clean_stage(
    data: dict[str, Any], *, pipeline: Pipeline, instance: Stage | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = clean_text(errors, "name", data["name"], required=True, max_length=80)
    if "order" in data:
        cleaned["order"] = clean_int(
            errors, "order", data["order"], required=True, maximum=MAX_SMALL_INT
        )
    if "probability" in data:
        cleaned["probability"] = clean_int(
            errors, "probability", data["probability"], required=True, maximum=100
        )
    if "forecast_category" in data:
        category = data["forecast_category"]
        if category not in ForecastCategory.values:
            errors.setdefault("forecast_category", []).append(
                f"Choose one of: {', '.join(ForecastCategory.values)}."
            )
        cleaned["forecast_category"] = category
    if "guidance" in data:
        cleaned["guidance"] = clean_text(
            errors, "guidance", data["guidance"], required=False, max_length=MAX_TEXT
        )
    for field in ("expected_days", "warn_days", "rot_days"):
        if field in data:
            cleaned[field] = clean_int(errors, field, data[field], required=False)
    for field in ("is_won", "is_lost"):
        if field in data:
            cleaned[field] = bool(data[field])
    # Blank: the organisation's default (QUALIFICATION_VALIDITY_DAYS, NO_ACTIVITY_DAYS).
    for field in ("qualification_validity_days", "no_activity_days"):
        if field in data:
            cleaned[field] = clean_int(
                errors, field, data[field], required=False, minimum=1, maximum=MAX_SMALL_INT
            )
    if errors:
        raise ValidationFailed(details=errors)

    def final(field: str) -> Any:
        return cleaned[field] if field in cleaned else getattr(instance, field, None)

    if final("is_won") and final("is_lost"):
        errors["is_lost"] = ["A stage cannot be both won and lost."]
    warn, rot = final("warn_days"), final("rot_days")
    if warn is not None and rot is not None and warn > rot:
        errors["warn_days"] = [
            "The warning must come before the stage rots (warn_days ≤ rot_days)."
        ]
    siblings = Stage.objects.filter(pipeline=pipeline)
    if instance is not None:
        siblings = siblings.exclude(pk=instance.pk)
    if "name" in cleaned and siblings.filter(name__iexact=cleaned["name"]).exists():
        errors["name"] = [f"The pipeline '{pipeline.name}' already has a stage with this name."]
    if "order" in cleaned and siblings.filter(order=cleaned["order"]).exists():
        errors["order"] = [f"The pipeline '{pipeline.name}' already has a stage at this position."]
    if (
        instance is not None
        and ({"is_won", "is_lost"} & set(cleaned))
        and (final("is_won") != instance.is_won or final("is_lost") != instance.is_lost)
        and instance.opportunities.exists()
    ):
        errors["is_won" if "is_won" in cleaned else "is_lost"] = [
            "Opportunities are in this stage; its open/closed kind cannot change."
        ]
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


@transaction.atomic
def stage_create(
    *,
    actor: User,
    pipeline: Pipeline,
    name: str,
    probability: int,
    order: int | None = None,
    **data: Any,
) -> Stage:
    """Add a stage to a pipeline. Without `order`, an open stage goes just before the
    pipeline's closed (won/lost) stages and a closed one last, and the pipeline's stages
    are numbered 1…n. Refuses: a rep or a manager, a taken name or position, a probability
    outside 0-100, an unknown forecast category, a stage both won and lost, warn_days
    after rot_days, validity or no-activity days below 1, unknown fields."""
    refuse_unless_admin(actor)
    unknown = set(data) - STAGE_FIELDS
    if unknown:
        raise ValidationFailed(details={f: ["Unknown field."] for f in sorted(unknown)})
    data.setdefault("forecast_category", ForecastCategory.PIPELINE)
    siblings: list[Stage] | None = None
    if order is None:
        siblings = _lock_stages(pipeline.pk)
        order = _parking_orders(siblings, 1)[0]
    cleaned = _clean_stage(
        {"name": name, "order": order, "probability": probability, **data},
        pipeline=pipeline,
        instance=None,
    )
    stage = Stage(pipeline=pipeline, **cleaned)
    save_unique(stage, fields=None, field_for_conflict="order")
    if siblings is not None:
        closed_at = next((i for i, s in enumerate(siblings) if s.is_closed), len(siblings))
        siblings.insert(len(siblings) if stage.is_closed else closed_at, stage)
        _renumber_stages(siblings)
    audit_record(actor=actor, action="stage.created", target=stage)
    return stage


def _lock_stages(pipeline_id: int) -> list[Stage]:
    """The pipeline's stages in order, locked; the pipeline row is locked first, so
    placing and reordering stages of one pipeline take turns."""
    if not Pipeline.objects.select_for_update().filter(pk=pipeline_id).exists():
        raise NotFound("No such pipeline.")
    return list(
        Stage.objects.select_for_update().filter(pipeline_id=pipeline_id).order_by("order", "id")
    )


def _parking_orders(stages: list[Stage], count: int) -> list[int]:
    """`count` orders that none of `stages` holds and that lie after 1…len(stages)."""
    taken = {s.order for s in stages}
    free = (o for o in range(len(stages) + 1, MAX_SMALL_INT + 1) if o not in taken)
    return [next(free) for _ in range(count)]


def _renumber_stages(ordered: list[Stage]) -> None:
    """Number `ordered` — every stage of one pipeline, locked — 1…n in that order.

    The unique (pipeline, order) constraint is checked row by row, not at the end of a
    statement, so a plain swap would clash: the stages that move are first parked on
    orders nobody holds (after n), then set to their places, which by then are free."""
    moving = [s for i, s in enumerate(ordered, start=1) if s.order != i]
    if not moving:
        return
    for stage, parked in zip(moving, _parking_orders(ordered, len(moving)), strict=True):
        stage.order = parked
    Stage.objects.bulk_update(moving, ["order"])
    for i, stage in enumerate(ordered, start=1):
        stage.order = i
    Stage.objects.bulk_update(moving, ["order"])


@transaction.atomic
def stage_move(*, stage_id: int, actor: User, position: Any) -> Stage:
    """Move a stage to `position` (1 = first) among its pipeline's stages; the stages in
    between shift by one and the pipeline's stages are numbered 1…n. Moving changes which
    stages a move skips and what counts as moving back (the gate and re-qualification
    read the order). Refuses: a rep or a manager; a position that is not a whole number from 1
    to the number of stages (ValidationFailed on `position`)."""
    refuse_unless_admin(actor)
    pipeline_id = Stage.objects.filter(pk=stage_id).values_list("pipeline_id", flat=True).first()
    if pipeline_id is None:
        raise NotFound("No such stage.")
    stages = _lock_stages(pipeline_id)
    errors: dict[str, list[str]] = {}
    number = clean_int(errors, "position", position, required=True, minimum=1, maximum=len(stages))
    stage = next((s for s in stages if s.pk == stage_id), None)
    if stage is None:  # deleted between the two reads
        raise NotFound("No such stage.")
    if errors or number is None:
        raise ValidationFailed(details=errors)
    before = stages.index(stage) + 1
    stages.remove(stage)
    stages.insert(number - 1, stage)
    _renumber_stages(stages)
    if number != before:
        audit_record(
            actor=actor,
            action="stage.moved",
            target=stage,
            data={"from": before, "to": number, "pipeline": pipeline_id},
        )
    return stage


@transaction.atomic
def stage_update(*, stage_id: int, actor: User, **changes: Any) -> Stage:
    """Change a stage. Refuses like `stage_create`, plus moving it to another pipeline and
    turning a stage with opportunities from open to closed (or back)."""
    refuse_unless_admin(actor)
    refuse_unknown_fields(changes, allowed=STAGE_FIELDS)
    stage = Stage.objects.select_for_update().select_related("pipeline").filter(pk=stage_id).first()
    if stage is None:
        raise NotFound("No such stage.")
    cleaned = _clean_stage(changes, pipeline=stage.pipeline, instance=stage)
    apply_changes(stage, cleaned, actor=actor, action="stage.updated", unique_field="order")
    return stage


@transaction.atomic
def stage_delete(*, stage_id: int, actor: User) -> None:
    """Delete a stage and its milestones. Refuses: a rep or a manager, a stage that holds
    opportunities (Conflict `stage_in_use`) — move or close them first."""
    refuse_unless_admin(actor)
    stage = Stage.objects.select_for_update().filter(pk=stage_id).first()
    if stage is None:
        raise NotFound("No such stage.")
    count = stage.opportunities.count()
    if count:
        raise Conflict(
            f"{count} opportunit{'y is' if count == 1 else 'ies are'} in the stage "
            f"'{stage.name}'; move them first.",
            code="stage_in_use",
            details={"opportunities": count},
        )
    audit_record(
        actor=actor,
        action="stage.deleted",
        target=stage,
        data={"name": stage.name, "pipeline": stage.pipeline_id},
    )
    stage.delete()


MILESTONE_FIELDS = frozenset(
    {
        "title",
        "description",
        "kind",
        "required",
        "requires_evidence",
        "auto_check",
        "completable_by",
        "order",
        "min_qualification_score",
        "element_levels",
    }
)


def _clean_milestone(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    if "title" in data:
        cleaned["title"] = clean_text(errors, "title", data["title"], required=True, max_length=200)
    if "description" in data:
        cleaned["description"] = clean_text(
            errors, "description", data["description"], required=False, max_length=MAX_TEXT
        )
    if "kind" in data:
        if data["kind"] not in MilestoneKind.values:
            errors["kind"] = [f"Choose one of: {', '.join(MilestoneKind.values)}."]
        cleaned["kind"] = data["kind"]
    if "auto_check" in data:
        value = data["auto_check"] or ""
        if value not in AutoCheck.values:
            errors["auto_check"] = [
                f"Choose one of: {', '.join(v for v in AutoCheck.values if v)} (or empty)."
            ]
        cleaned["auto_check"] = value
    if "completable_by" in data:
        if data["completable_by"] not in MilestoneCompleter.values:
            errors["completable_by"] = [
                f"Choose one of: {', '.join(MilestoneCompleter.values)} (an automatic "
                "milestone is ticked by nobody: set auto_check instead)."
            ]
        cleaned["completable_by"] = data["completable_by"]
    for field in ("required", "requires_evidence"):
        if field in data:
            cleaned[field] = bool(data[field])
    if "order" in data:
        cleaned["order"] = clean_int(
            errors, "order", data["order"], required=True, maximum=MAX_SMALL_INT
        )
    if "min_qualification_score" in data:
        cleaned["min_qualification_score"] = clean_int(
            errors,
            "min_qualification_score",
            data["min_qualification_score"],
            required=False,
            maximum=100,
        )
    if errors:
        raise ValidationFailed(details=errors)
    return cleaned


_UNSET: Any = object()


def _clean_element_levels(
    errors: dict[str, Any], value: Any, framework: QualificationFramework | None
) -> list[tuple[int, int]] | None:
    """[{"element": id, "min_level": 1–3}, …] as (element id, level) pairs; problems go to
    errors["element_levels"] keyed by element id (or "#<index>"), like qualification scores."""
    if not isinstance(value, list):
        errors["element_levels"] = ['Give a list of {"element": id, "min_level": 1–3}.']
        return None
    elements = (
        set(QualificationElement.objects.filter(framework=framework).values_list("id", flat=True))
        if framework is not None
        else set()
    )
    problems: dict[str, dict[str, list[str]]] = {}
    levels: dict[int, int] = {}
    for i, entry in enumerate(value):
        raw = entry.get("element") if isinstance(entry, dict) else None
        element_id = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        key = str(element_id) if element_id is not None else f"#{i}"
        mine = problems.setdefault(key, {})
        if element_id not in elements:
            mine.setdefault("element", []).append(
                f"Not an element of the framework '{framework.name}' of this pipeline."
                if framework is not None
                else "The pipeline has no qualification framework."
            )
        elif element_id in levels:
            mine.setdefault("element", []).append("Given twice.")
        level = entry.get("min_level") if isinstance(entry, dict) else None
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 3:
            mine.setdefault("min_level", []).append(
                "Enter a level from 1 to 3: 1 identified, 2 partly validated, "
                "3 validated with evidence."
            )
        if not mine:
            del problems[key]
            levels[element_id] = level  # type: ignore[index, assignment]  # no problem: an element id of the framework, a level 1–3
    if problems:
        errors["element_levels"] = problems
        return None
    return list(levels.items())


def _clean_qualification_requirement(
    cleaned: dict[str, Any], element_levels: Any, *, stage: Stage, instance: Milestone | None
) -> list[tuple[int, int]] | None:
    """Check an automatic qualification milestone's minimum score and element levels
    against its final `auto_check`; return the levels to store (None: leave them).

    Refuses: `auto_check="qualification"` on a pipeline without a framework; elements of
    another framework; a minimum score or levels on a milestone that does not check
    qualification. Turning the check off drops its minimums."""
    errors: dict[str, Any] = {}
    auto = cleaned.get("auto_check", instance.auto_check if instance is not None else "")
    framework = stage.pipeline.framework
    levels = None
    if element_levels is not _UNSET:
        levels = _clean_element_levels(errors, element_levels, framework)
    if auto == AutoCheck.QUALIFICATION:
        if framework is None:
            errors.setdefault("auto_check", []).append(
                f"The pipeline '{stage.pipeline.name}' has no qualification framework; "
                "choose one first."
            )
    else:
        if cleaned.get("min_qualification_score") is not None:
            errors.setdefault("min_qualification_score", []).append(
                "Only a milestone with auto_check 'qualification' has a minimum score."
            )
        if levels:
            errors["element_levels"] = [
                "Only a milestone with auto_check 'qualification' has element levels."
            ]
        if (
            instance is not None
            and instance.min_qualification_score is not None
            and "min_qualification_score" not in cleaned
        ):
            cleaned["min_qualification_score"] = None
        if levels is None and instance is not None and instance.auto_check:
            levels = []
    if errors:
        raise ValidationFailed(details=errors)
    return levels


def _clean_completer(cleaned: dict[str, Any], *, instance: Milestone | None) -> None:
    """An automatic milestone is ticked by nobody, so it cannot name the manager: refused
    when both are asked for; turning a manager's milestone automatic drops the manager."""
    auto = cleaned.get("auto_check", instance.auto_check if instance is not None else "")
    if not auto:
        return
    if cleaned.get("completable_by") == MilestoneCompleter.MANAGER:
        raise ValidationFailed(
            details={
                "completable_by": [
                    "An automatic milestone is checked by the system, not ticked by anyone: "
                    "leave it to the owner, or turn the automatic check off."
                ]
            }
        )
    if instance is not None and instance.completable_by != MilestoneCompleter.OWNER:
        cleaned["completable_by"] = MilestoneCompleter.OWNER


def _store_element_levels(milestone: Milestone, levels: list[tuple[int, int]] | None) -> None:
    if levels is None:
        return
    MilestoneElementLevel.objects.filter(milestone=milestone).delete()
    MilestoneElementLevel.objects.bulk_create(
        MilestoneElementLevel(milestone=milestone, element_id=element_id, min_level=level)
        for element_id, level in levels
    )


@transaction.atomic
def milestone_create(
    *, actor: User, stage: Stage, title: str, kind: str, rule_change_note: str = "", **data: Any
) -> Milestone:
    """Add a milestone (an exit criterion) to a stage. Refuses: a rep or a manager, an empty
    title, an unknown kind, automatic check or `completable_by` ("owner", the default, or
    "manager": only the owner's manager ticks it), "manager" on an automatic milestone
    (nobody ticks it), a milestone on a closed (won/lost) stage —
    closed stages have no exit criteria. Without `order` it goes last. With
    `auto_check="qualification"`:
    `min_qualification_score` (0–100) and `element_levels` ([{"element": id, "min_level":
    1–3}], elements of the pipeline's framework), refused as `_clean_qualification_requirement`
    says. A new required milestone is a new version of the stage's rules
    (`rule_changes.record_if_changed`, with `rule_change_note` as its note)."""
    refuse_unless_admin(actor)
    unknown = set(data) - MILESTONE_FIELDS
    if unknown:
        raise ValidationFailed(details={f: ["Unknown field."] for f in sorted(unknown)})
    if stage.is_closed:
        raise ValidationFailed(details={"stage": ["A closed stage has no exit milestones."]})
    element_levels = data.pop("element_levels", _UNSET)
    cleaned = _clean_milestone({"title": title, "kind": kind, **data})
    levels = _clean_qualification_requirement(cleaned, element_levels, stage=stage, instance=None)
    _clean_completer(cleaned, instance=None)
    if "order" not in cleaned:  # last of the stage's milestones
        last = (
            Milestone.objects.filter(stage=stage)
            .order_by("-order")
            .values_list("order", flat=True)
            .first()
        )
        cleaned["order"] = 1 if last is None else min(MAX_SMALL_INT, last + 1)
    rules_before = rule_changes.gate_rules(stage.pk)
    milestone = Milestone.objects.create(stage=stage, **cleaned)
    _store_element_levels(milestone, levels)
    rule_changes.record_if_changed(
        stage=stage, before=rules_before, actor=actor, note=rule_change_note
    )
    audit_record(actor=actor, action="milestone.created", target=milestone)
    return milestone


@transaction.atomic
def milestone_update(
    *, milestone_id: int, actor: User, rule_change_note: str = "", **changes: Any
) -> Milestone:
    """Change a milestone. Refuses like `milestone_create`; its stage cannot change. A
    change to what the gate requires is a new version of the stage's rules; completions
    already made are kept."""
    refuse_unless_admin(actor)
    refuse_unknown_fields(changes, allowed=MILESTONE_FIELDS)
    milestone = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("stage__pipeline__framework")
        .filter(pk=milestone_id)
        .first()
    )
    if milestone is None:
        raise NotFound("No such milestone.")
    element_levels = changes.pop("element_levels", _UNSET)
    cleaned = _clean_milestone(changes)
    levels = _clean_qualification_requirement(
        cleaned, element_levels, stage=milestone.stage, instance=milestone
    )
    _clean_completer(cleaned, instance=milestone)
    rules_before = rule_changes.gate_rules(milestone.stage_id)
    for field, value in cleaned.items():
        setattr(milestone, field, value)
    if cleaned:
        milestone.save(update_fields=list(cleaned))
    _store_element_levels(milestone, levels)
    rule_changes.record_if_changed(
        stage=milestone.stage, before=rules_before, actor=actor, note=rule_change_note
    )
    if cleaned or element_levels is not _UNSET:
        fields = sorted({*cleaned, *(["element_levels"] if element_levels is not _UNSET else [])})
        audit_record(
            actor=actor, action="milestone.updated", target=milestone, data={"fields": fields}
        )
    return milestone


@transaction.atomic
def milestone_delete(*, milestone_id: int, actor: User) -> None:
    """Delete a milestone with its completions. Refuses a rep or a manager."""
    refuse_unless_admin(actor)
    milestone = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("stage")
        .filter(pk=milestone_id)
        .first()
    )
    if milestone is None:
        raise NotFound("No such milestone.")
    rules_before = rule_changes.gate_rules(milestone.stage_id)
    audit_record(
        actor=actor,
        action="milestone.deleted",
        target=milestone,
        data={
            "title": milestone.title,
            "stage": milestone.stage_id,
            "completions": milestone.completions.count(),
        },
    )
    stage = milestone.stage
    milestone.delete()
    rule_changes.record_if_changed(stage=stage, before=rules_before, actor=actor)
