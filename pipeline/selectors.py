"""Every read of the pipeline, already limited to what the user may see.

An object outside the user's scope is a 404 (Http404), never a 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from pipeline import rules
from pipeline.models import (
    Account,
    Activity,
    BusinessIssue,
    Milestone,
    MilestoneCompletion,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
    Pipeline,
    Stage,
)
from pipeline.services import met_milestone_ids
from salesops import access
from salesops.models import User


def opportunity_list_for(
    user: User, filters: dict[str, Any] | None = None
) -> QuerySet[Opportunity]:
    """Opportunities `user` may see, with what list rows show, in a deterministic order.

    Filters (all optional): owner, stage, status, team, pipeline, close_date_from,
    close_date_to, search (name or account name).
    """
    qs = (
        Opportunity.objects.filter(access.owner_scope_q(user))
        .select_related("account", "owner", "stage", "pipeline")
        .order_by("close_date", "id")
    )
    f = filters or {}
    if f.get("owner"):
        qs = qs.filter(owner_id=f["owner"])
    if f.get("stage"):
        qs = qs.filter(stage_id=f["stage"])
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("team"):
        qs = qs.filter(owner__team_id=f["team"])
    if f.get("pipeline"):
        qs = qs.filter(pipeline_id=f["pipeline"])
    if f.get("close_date_from"):
        qs = qs.filter(close_date__gte=f["close_date_from"])
    if f.get("close_date_to"):
        qs = qs.filter(close_date__lte=f["close_date_to"])
    if f.get("search"):
        term = str(f["search"]).strip()
        qs = qs.filter(Q(name__icontains=term) | Q(account__name__icontains=term))
    return qs


def opportunity_get_for(user: User, pk: Any) -> Opportunity:
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404("No such opportunity.") from exc
    opp = opportunity_list_for(user).filter(pk=pk).first()
    if opp is None:
        raise Http404("No such opportunity.")
    return opp


def opportunity_get_by_external_id_for(user: User, source: str, external_id: str) -> Opportunity:
    opp = opportunity_list_for(user).filter(source=source, external_id=external_id).first()
    if opp is None:
        raise Http404("No such opportunity.")
    return opp


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
    qs = Milestone.objects.select_related("stage").order_by(
        "stage__pipeline_id", "stage__order", "order", "id"
    )
    return qs.filter(stage_id=stage_id) if stage_id else qs


def account_list(search: str = "") -> QuerySet[Account]:
    qs = Account.objects.order_by("name", "id")
    return qs.filter(name__icontains=search.strip()) if search.strip() else qs


def _is_id(pk: Any) -> bool:
    """A string of ASCII digits ("¹".isdigit() is true, yet int("¹") raises)."""
    text = str(pk)
    return text.isascii() and text.isdigit() and len(text) <= 18


def account_get(pk: Any) -> Account:
    acc = Account.objects.filter(pk=pk).first() if _is_id(pk) else None
    if acc is None:
        raise Http404("No such account.")
    return acc


def history_for(opp: Opportunity) -> QuerySet[OpportunityChange]:
    return opp.changes.select_related("changed_by").order_by("-changed_at", "-id")


def activities_for(opp: Opportunity) -> QuerySet[Activity]:
    return opp.activities.select_related("logged_by").order_by("-occurred_at", "-id")


def business_issues_for(opp: Opportunity) -> QuerySet[BusinessIssue]:
    return opp.business_issues.order_by("created_at", "id")


def business_issue_get_for(user: User, pk: Any) -> BusinessIssue:
    bi = (
        BusinessIssue.objects.filter(opportunity__in=opportunity_list_for(user).values("pk"))
        .filter(pk=pk)
        .first()
        if _is_id(pk)
        else None
    )
    if bi is None:
        raise Http404("No such business issue.")
    return bi


def activity_list_for(user: User) -> QuerySet[Activity]:
    return (
        Activity.objects.filter(access.owner_scope_q(user, field="opportunity__owner"))
        .select_related("logged_by")
        .order_by("-occurred_at", "-id")
    )


def business_issue_list_for(user: User) -> QuerySet[BusinessIssue]:
    return BusinessIssue.objects.filter(
        access.owner_scope_q(user, field="opportunity__owner")
    ).order_by("created_at", "id")


def change_list_for(user: User) -> QuerySet[OpportunityChange]:
    return (
        OpportunityChange.objects.filter(access.owner_scope_q(user, field="opportunity__owner"))
        .select_related("changed_by")
        .order_by("-changed_at", "-id")
    )


# --- the opportunity page --------------------------------------------------------


@dataclass
class MilestoneRow:
    milestone: Milestone
    completion: MilestoneCompletion | None
    met: bool


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
    met = met_milestone_ids(opp, milestones)
    groups = {s.id: StageMilestones(stage=s) for s in stages}
    for m in milestones:
        row = MilestoneRow(milestone=m, completion=completions.get(m.id), met=m.id in met)
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


# --- the board ---------------------------------------------------------------------


@dataclass
class BoardColumn:
    stage: Stage
    cards: list[Opportunity]
    count: int
    total: Decimal


BOARD_CARDS_PER_COLUMN = 50


def board_for(
    user: User,
    pipeline: Pipeline,
    filters: dict[str, Any] | None = None,
    per_column: int = BOARD_CARDS_PER_COLUMN,
) -> list[BoardColumn]:
    """Open stages of `pipeline`, each with its first cards (soonest close first), the
    number of open deals and their total. Three queries whatever the number of deals."""
    stages = list(
        Stage.objects.filter(pipeline=pipeline, is_won=False, is_lost=False).order_by("order")
    )
    scoped = opportunity_list_for(
        user, {**(filters or {}), "pipeline": pipeline.pk, "status": OpportunityStatus.OPEN}
    )
    totals = {
        row["stage_id"]: row
        for row in scoped.order_by().values("stage_id").annotate(n=Count("id"), total=Sum("amount"))
    }
    ranked = scoped.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("stage_id")],
            order_by=[F("close_date").asc(), F("id").asc()],
        )
    )
    now = timezone.now()
    cards: dict[int, list[Opportunity]] = {s.id: [] for s in stages}
    for opp in ranked.filter(rank__lte=per_column).order_by("stage__order", "close_date", "id"):
        opp.days_in_stage = rules.days_in_stage(stage_entered_at=opp.stage_entered_at, now=now)
        opp.health = rules.stage_health(
            days=opp.days_in_stage, warn_days=opp.stage.warn_days, rot_days=opp.stage.rot_days
        )
        cards.setdefault(opp.stage_id, []).append(opp)
    return [
        BoardColumn(
            stage=s,
            cards=cards.get(s.id, []),
            count=totals.get(s.id, {}).get("n", 0),
            total=totals.get(s.id, {}).get("total") or Decimal("0"),
        )
        for s in stages
    ]


def assignable_owners_for(user: User) -> QuerySet[User]:
    return User.objects.filter(access.visible_users_q(user), is_active=True).order_by("username")
