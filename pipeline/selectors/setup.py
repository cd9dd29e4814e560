"""The setup pages' reads (administrators and sales leaders): pipelines with their
stages and milestones, stages, milestones, qualification frameworks with where they are
used, and their elements — each one 404 when it does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from pipeline.models import (
    AutoCheck,
    Milestone,
    MilestoneElementLevel,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    QualificationElement,
    QualificationFramework,
    QualificationScore,
    Stage,
)
from pipeline.selectors.common import CountOf, is_id


def pipeline_setup_list() -> QuerySet[Pipeline]:
    """Every pipeline for the setup list, with its framework and how many stages,
    milestones and open deals it has — one query however many (counted in subqueries, not
    a join that would multiply deals by milestones)."""
    stages = Stage.objects.filter(pipeline=OuterRef("pk")).order_by().values("pk")
    milestones = Milestone.objects.filter(stage__pipeline=OuterRef("pk")).order_by().values("pk")
    open_deals = (
        Opportunity.objects.filter(pipeline=OuterRef("pk"), status=OpportunityStatus.OPEN)
        .order_by()
        .values("pk")
    )
    return (
        Pipeline.objects.select_related("framework")
        .annotate(
            stage_count=CountOf(stages),
            milestone_count=CountOf(milestones),
            open_deal_count=CountOf(open_deals),
        )
        .order_by("name", "id")
    )


def pipeline_setup_get(pk: Any) -> Pipeline:
    """One pipeline for its editor (no such pipeline: 404): its framework, its stages in
    order — each with `deal_count` (deals in it, open or closed: a stage with deals
    cannot be deleted) and its milestones in order with their element minimums. Four
    queries however many stages and milestones."""
    if not is_id(pk):
        raise Http404("No such pipeline.")
    deals = Opportunity.objects.filter(stage=OuterRef("pk")).order_by().values("pk")
    milestones = Milestone.objects.order_by("order", "id").prefetch_related(
        Prefetch(
            "element_levels",
            queryset=MilestoneElementLevel.objects.select_related("element").order_by(
                "element__order", "id"
            ),
        )
    )
    stages = (
        Stage.objects.annotate(deal_count=CountOf(deals))
        .order_by("order", "id")
        .prefetch_related(Prefetch("milestones", queryset=milestones))
    )
    pipeline = (
        Pipeline.objects.select_related("framework")
        .prefetch_related(Prefetch("stages", queryset=stages))
        .filter(pk=pk)
        .first()
    )
    if pipeline is None:
        raise Http404("No such pipeline.")
    return pipeline


def stage_setup_get(pk: Any) -> Stage:
    """One stage with its pipeline and the pipeline's framework (no such stage: 404)."""
    stage = (
        Stage.objects.select_related("pipeline__framework").filter(pk=pk).first()
        if is_id(pk)
        else None
    )
    if stage is None:
        raise Http404("No such stage.")
    return stage


def milestone_setup_get(pk: Any) -> Milestone:
    """One milestone with its stage, pipeline, framework and element minimums (no such
    milestone: 404)."""
    milestone = (
        Milestone.objects.select_related("stage__pipeline__framework")
        .prefetch_related("element_levels")
        .filter(pk=pk)
        .first()
        if is_id(pk)
        else None
    )
    if milestone is None:
        raise Http404("No such milestone.")
    return milestone


def framework_choices_for(pipeline: Pipeline | None) -> QuerySet[QualificationFramework]:
    """The frameworks a pipeline may name: the active ones, and the one it names now."""
    keep = Q(is_active=True)
    if pipeline is not None and pipeline.framework_id:
        keep |= Q(pk=pipeline.framework_id)
    return QualificationFramework.objects.filter(keep).order_by("name", "id")


def framework_elements(framework_id: int | None) -> list[QualificationElement]:
    """A framework's elements in order (none without a framework)."""
    if framework_id is None:
        return []
    return list(
        QualificationElement.objects.filter(framework_id=framework_id).order_by("order", "id")
    )


@dataclass(frozen=True)
class FrameworkUse:
    """A pipeline whose deals are assessed with a framework, and its stages whose exit
    milestones check a qualification (`gate_stages`, in order)."""

    pipeline_id: int
    pipeline_name: str
    is_active: bool
    gate_stages: tuple[str, ...]


@dataclass(frozen=True)
class ElementRequirement:
    """An automatic qualification milestone's minimum level of an element."""

    milestone_id: int
    milestone_title: str
    stage_name: str
    pipeline_id: int
    pipeline_name: str
    min_level: int


def _framework_uses(framework_id: int | None = None) -> dict[int, list[FrameworkUse]]:
    """The pipelines using each framework (or only `framework_id`), by framework id — two
    queries however many pipelines and stages."""
    pipelines = Pipeline.objects.filter(framework__isnull=False)
    if framework_id is not None:
        pipelines = pipelines.filter(framework_id=framework_id)
    gates = (
        Milestone.objects.filter(
            auto_check=AutoCheck.QUALIFICATION, stage__pipeline__in=pipelines.values("pk")
        )
        .order_by("stage__pipeline_id", "stage__order", "stage_id")
        .values_list("stage__pipeline_id", "stage_id", "stage__name")
        .distinct()
    )
    stages: dict[int, list[str]] = {}
    for pipeline_id, _, stage_name in gates:
        stages.setdefault(pipeline_id, []).append(stage_name)
    uses: dict[int, list[FrameworkUse]] = {}
    rows = pipelines.order_by("name", "id").values_list("framework_id", "pk", "name", "is_active")
    for framework, pk, name, is_active in rows:
        uses.setdefault(framework, []).append(
            FrameworkUse(pk, name, is_active, tuple(stages.get(pk, ())))
        )
    return uses


def framework_setup_list() -> list[QualificationFramework]:
    """Every qualification framework for the setup list, by name, each with
    `element_count` and `uses` (FrameworkUse) — three queries however many frameworks."""
    elements = QualificationElement.objects.filter(framework=OuterRef("pk")).order_by()
    frameworks: list[QualificationFramework] = list(
        QualificationFramework.objects.annotate(
            element_count=CountOf(elements.values("pk"))
        ).order_by("name", "id")
    )
    uses = _framework_uses()
    for framework in frameworks:
        framework.uses = uses.get(framework.pk, [])  # type: ignore[attr-defined]  # for the setup list (see the docstring)
    return frameworks


def framework_setup_get(pk: Any) -> QualificationFramework:
    """One framework for its setup page (no such framework: 404) with `uses`
    (FrameworkUse) and `setup_elements`: its elements in order, each with `score_count`
    (qualification scores of it: such an element cannot be removed) and `requirements`
    (ElementRequirement, likewise). Five queries however many elements and milestones."""
    if not is_id(pk):
        raise Http404("No such framework.")
    framework = QualificationFramework.objects.filter(pk=pk).first()
    if framework is None:
        raise Http404("No such framework.")
    scores = QualificationScore.objects.filter(element=OuterRef("pk")).order_by().values("pk")
    elements = list(
        QualificationElement.objects.filter(framework=framework)
        .annotate(score_count=CountOf(scores))
        .order_by("order", "id")
    )
    levels = (
        MilestoneElementLevel.objects.filter(element__framework=framework)
        .order_by("milestone__stage__pipeline__name", "milestone__stage__order", "milestone_id")
        .values_list(
            "element_id",
            "milestone_id",
            "milestone__title",
            "milestone__stage__name",
            "milestone__stage__pipeline_id",
            "milestone__stage__pipeline__name",
            "min_level",
        )
    )
    requirements: dict[int, list[ElementRequirement]] = {}
    for element_id, milestone_id, title, stage_name, pipeline_id, pipeline_name, level in levels:
        requirements.setdefault(element_id, []).append(
            ElementRequirement(milestone_id, title, stage_name, pipeline_id, pipeline_name, level)
        )
    for element in elements:
        element.requirements = requirements.get(element.pk, [])  # type: ignore[attr-defined]  # for the setup page (see the docstring)
    framework.setup_elements = elements  # type: ignore[attr-defined]  # for the setup page (see the docstring)
    framework.uses = _framework_uses(framework.pk).get(framework.pk, [])  # type: ignore[attr-defined]  # as above
    return framework


def element_setup_get(pk: Any) -> QualificationElement:
    """One element with its framework (no such element: 404)."""
    element = (
        QualificationElement.objects.select_related("framework").filter(pk=pk).first()
        if is_id(pk)
        else None
    )
    if element is None:
        raise Http404("No such element.")
    return element
