"""Reads of what deals are built from, which everyone signed in sees: pipelines, stages
and milestones, accounts, the product catalogue, and labels by id for tables keyed by
them (stages, milestones, qualification elements, products)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from pipeline.models import (
    Account,
    AutoCheck,
    Milestone,
    Opportunity,
    Pipeline,
    Product,
    QualificationElement,
    Stage,
    StageRuleChange,
)
from pipeline.selectors.common import is_id


def pipeline_list() -> QuerySet[Pipeline]:
    return Pipeline.objects.prefetch_related(
        Prefetch(
            "stages",
            queryset=Stage.objects.order_by("order").prefetch_related(
                Prefetch("milestones", queryset=Milestone.objects.order_by("order", "id"))
            ),
        )
    ).order_by("name", "id")


def pipeline_default() -> Pipeline | None:
    return Pipeline.objects.filter(is_active=True).order_by("id").first()


def stage_list(pipeline_id: int | None = None) -> QuerySet[Stage]:
    qs = Stage.objects.select_related("pipeline").order_by("pipeline_id", "order")
    return qs.filter(pipeline_id=pipeline_id) if pipeline_id else qs


def milestone_list(stage_id: int | None = None) -> QuerySet[Milestone]:
    qs = (
        Milestone.objects.select_related("stage")
        .prefetch_related("element_levels")  # the API shows them
        .order_by("stage__pipeline_id", "stage__order", "order", "id")
    )
    return qs.filter(stage_id=stage_id) if stage_id else qs


def account_list(search: str = "") -> QuerySet[Account]:
    """Every account (everyone signed in sees the accounts), by name; `search`: in the name."""
    qs = Account.objects.order_by("name", "id")
    return qs.filter(name__icontains=search.strip()) if search.strip() else qs


def account_get(pk: Any) -> Account:
    acc = Account.objects.filter(pk=pk).first() if is_id(pk) else None
    if acc is None:
        raise Http404("No such account.")
    return acc


def product_list(*, active: bool | None = None, search: str = "") -> QuerySet[Product]:
    """The catalogue (everyone signed in reads it), by name; `active` True/False narrows
    to the products on offer / taken off it, `search` to names containing it."""
    qs = Product.objects.order_by("name", "id")
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.filter(name__icontains=search.strip()) if search.strip() else qs


def product_get(pk: Any) -> Product:
    product = Product.objects.filter(pk=pk).first() if is_id(pk) else None
    if product is None:
        raise Http404("No such product.")
    return product


def product_choices(current: Product | int | None = None) -> QuerySet[Product]:
    """The products a deal may be given: the active ones, plus the deal's own `current`
    product when it was deactivated since (so editing the deal does not drop it)."""
    current_id = current.pk if isinstance(current, Product) else current
    q = Q(is_active=True) | Q(pk=current_id) if current_id else Q(is_active=True)
    return Product.objects.filter(q).order_by("name", "id")


def product_names(product_ids: list[int]) -> dict[int, str]:
    return dict(Product.objects.filter(pk__in=product_ids).values_list("id", "name"))


def product_deal_counts(product_ids: list[int]) -> dict[int, int]:
    """How many deals each product is on (one query for a page of products)."""
    rows = (
        Opportunity.objects.filter(product_id__in=product_ids)
        .order_by()
        .values("product_id")
        .annotate(n=Count("id"))
    )
    return {row["product_id"]: row["n"] for row in rows}


@dataclass(frozen=True)
class StageLabel:
    name: str
    pipeline: str
    pipeline_order: tuple[str, int]  # pipelines by name
    order: int


def stage_labels(stage_ids: list[int]) -> dict[int, StageLabel]:
    """Names and ordering of stages by id, for tables keyed by stage id (one query)."""
    return {
        pk: StageLabel(
            name=name, pipeline=pipeline, pipeline_order=(pipeline, pipeline_id), order=order
        )
        for pk, name, pipeline, pipeline_id, order in Stage.objects.filter(
            pk__in=stage_ids
        ).values_list("id", "name", "pipeline__name", "pipeline_id", "order")
    }


@dataclass(frozen=True)
class MilestoneLabel:
    title: str
    stage_id: int
    required: bool


def manual_milestones_of(stage_ids: list[int]) -> dict[int, MilestoneLabel]:
    """The milestones of these stages that people tick (not those the system checks)."""
    return {
        pk: MilestoneLabel(title=title, stage_id=stage_id, required=required)
        for pk, title, stage_id, required in Milestone.objects.filter(
            stage_id__in=stage_ids, auto_check=""
        ).values_list("id", "title", "stage_id", "required")
    }


def element_names(element_ids: list[int]) -> dict[int, str]:
    return dict(QualificationElement.objects.filter(pk__in=element_ids).values_list("id", "name"))


def stage_rule_change_list() -> list[StageRuleChange]:
    """Every change of a stage's exit rules, newest first (one query)."""
    return list(
        StageRuleChange.objects.select_related("stage__pipeline", "changed_by").order_by(
            "-changed_at", "-id"
        )
    )


@dataclass(frozen=True)
class QualificationGate:
    milestone_id: int
    min_score: int | None


def qualification_gate(stage_id: int) -> QualificationGate | None:
    """The stage's required automatic qualification milestone, if it has one."""
    found = (
        Milestone.objects.filter(
            stage_id=stage_id, required=True, auto_check=AutoCheck.QUALIFICATION
        )
        .order_by("order", "id")
        .values_list("id", "min_qualification_score")
        .first()
    )
    return QualificationGate(milestone_id=found[0], min_score=found[1]) if found else None


def stage_has_framework(stage_id: int) -> bool:
    return Stage.objects.filter(pk=stage_id, pipeline__framework__isnull=False).exists()
