"""Building a whole pipeline — framework, stages and milestones — from a template of
pipeline.blueprints."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from pipeline.blueprints import BLUEPRINTS, Blueprint, MilestoneSeed
from pipeline.models import AutoCheck, Pipeline, QualificationElement, QualificationFramework
from pipeline.services.common import refuse_unless_admin
from pipeline.services.frameworks import element_create, framework_create
from pipeline.services.setup import clean_pipeline, milestone_create, pipeline_create, stage_create
from pipeline.standard_frameworks import ELEMENTS as STANDARD_ELEMENTS
from pipeline.standard_frameworks import FRAMEWORKS
from salesops.exceptions import ValidationFailed
from salesops.models import User
from salesops.services import audit_record

# --- pipeline templates ----------------------------------------------------------------


def _clean_template(template: Any, errors: dict[str, list[str]]) -> Blueprint | None:
    blueprint = BLUEPRINTS.get(template) if isinstance(template, str) else None
    if blueprint is None:
        errors.setdefault("template", []).append(f"Choose one of: {', '.join(BLUEPRINTS)}.")
    return blueprint


def _template_framework(
    actor: User, blueprint: Blueprint
) -> tuple[QualificationFramework, dict[str, QualificationElement]]:
    """The framework the template names, with its elements by name (case-insensitive).
    Recreated from the standard definition, through the framework services, when it was
    deleted; refused when it is inactive or lacks an element the template's milestones
    set a minimum for — changing an administrator's framework behind their back would
    change every deal assessed with it."""
    name = blueprint.framework or ""
    framework = QualificationFramework.objects.filter(name__iexact=name).first()
    if framework is None:
        framework = framework_create(actor=actor, name=name)
        for order, element in enumerate(FRAMEWORKS[name], start=1):
            element_create(
                actor=actor,
                framework=framework,
                name=element,
                guidance=STANDARD_ELEMENTS[element],
                order=order,
            )
    elif not framework.is_active:
        raise ValidationFailed(
            details={
                "template": [
                    f"This template assesses deals with the framework '{framework.name}', "
                    "which is inactive: activate it first, or start from the blank template."
                ]
            }
        )
    elements = {e.name.casefold(): e for e in framework.elements.all()}
    needed = {
        element
        for stage in blueprint.stages
        for milestone in stage.milestones
        for element, _ in milestone.levels
    }
    missing = sorted(e for e in needed if e.casefold() not in elements)
    if missing:
        raise ValidationFailed(
            details={
                "template": [
                    f"The framework '{framework.name}' has no element "
                    f"{', '.join(repr(e) for e in missing)}, which the template's milestones "
                    "set minimums for: add it back, or start from the blank template."
                ]
            }
        )
    return framework, elements


def _template_milestone_data(
    seed: MilestoneSeed, elements: dict[str, QualificationElement]
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "description": seed.description,
        "required": seed.required,
        "requires_evidence": seed.requires_evidence,
        "auto_check": seed.auto_check,
        "completable_by": seed.completable_by,
    }
    if seed.auto_check == AutoCheck.QUALIFICATION:
        data["min_qualification_score"] = seed.min_score
        data["element_levels"] = [
            {"element": elements[name.casefold()].pk, "min_level": level}
            for name, level in seed.levels
        ]
    return data


@transaction.atomic
def pipeline_create_from_template(*, actor: User, template: Any, name: Any) -> Pipeline:
    """Create a pipeline named `name` from a template of pipeline.blueprints ("new_business"
    or "blank"): its stages in order with their probabilities, forecast categories,
    guidance and day limits; their milestones with automatic checks and qualification
    minimums; and the template's qualification framework, recreated from the standard
    definition (pipeline.standard_frameworks) when it was deleted. Every row is written by
    the services the pages and the API use (pipeline_create, stage_create,
    milestone_create, framework_create, element_create): the same validation, the same
    audit trail.

    Refuses, writing nothing: a rep or a manager; an unknown template (`template`); an empty or
    taken name (`name`); a template framework that is inactive or lacks an element the
    template's milestones set a minimum for (`template`, saying which)."""
    refuse_unless_admin(actor)
    errors: dict[str, list[str]] = {}
    blueprint = _clean_template(template, errors)
    try:
        clean_pipeline({"name": name}, instance=None)
    except ValidationFailed as exc:
        errors.update(exc.details)
    if errors or blueprint is None:
        raise ValidationFailed(details=errors)
    framework, elements = (
        _template_framework(actor, blueprint) if blueprint.framework else (None, {})
    )
    pipeline = pipeline_create(
        actor=actor, name=name, description=blueprint.description, framework=framework
    )
    for order, spec in enumerate(blueprint.stages, start=1):
        stage = stage_create(
            actor=actor,
            pipeline=pipeline,
            name=spec.name,
            order=order,
            probability=spec.probability,
            forecast_category=spec.category,
            guidance=spec.guidance,
            expected_days=spec.expected,
            warn_days=spec.warn,
            rot_days=spec.rot,
            is_won=spec.is_won,
            is_lost=spec.is_lost,
        )
        for position, seed in enumerate(spec.milestones, start=1):
            milestone_create(
                actor=actor,
                stage=stage,
                title=seed.title,
                kind=seed.kind,
                order=position,
                **_template_milestone_data(seed, elements),
            )
    audit_record(
        actor=actor,
        action="pipeline.created_from_template",
        target=pipeline,
        data={"template": blueprint.key},
    )
    return pipeline
