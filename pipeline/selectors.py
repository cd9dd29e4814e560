"""Every read of the pipeline, already limited to what the user may see.

An object outside the user's scope is a 404 (Http404), never a 403.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.postgres.aggregates import JSONBAgg
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, JSONObject
from django.http import Http404
from django.utils import timezone

from pipeline import providers, rules
from pipeline.models import (
    Account,
    Activity,
    AutoCheck,
    BusinessIssue,
    FlagKind,
    FlagSeverity,
    Milestone,
    MilestoneCompletion,
    MilestoneElementLevel,
    Opportunity,
    OpportunityChange,
    OpportunityFlag,
    OpportunityStatus,
    Pipeline,
    Product,
    Qualification,
    QualificationElement,
    QualificationFramework,
    QualificationScore,
    Stage,
    StageRuleChange,
)
from pipeline.services import automatic_milestone_gaps, qualification_validity_days
from salesops import access, organisation
from salesops.cleaning import query_int
from salesops.models import User
from salesops.selectors import notification_list_for, since_started_q


def opportunity_list_for(
    user: User, filters: dict[str, Any] | None = None
) -> QuerySet[Opportunity]:
    """Opportunities `user` may see, with what list rows show, in a deterministic order,
    narrowed by `filters` (see `opportunity_filter`)."""
    qs = (
        Opportunity.objects.filter(access.owner_scope_q(user))
        .select_related("account", "owner", "stage", "pipeline")
        .order_by("close_date", "id")
    )
    return opportunity_filter(qs, filters or {})


def opportunity_filter(qs: QuerySet[Opportunity], f: dict[str, Any]) -> QuerySet[Opportunity]:
    """The one rule of the opportunity filters, for the list page, its CSV, the API list
    and its CSV. All optional: owner, stage, status, team (the owner's team, sub-teams
    included — as the forecast summary counts a team), pipeline, source, external_id
    (exact), close_date_from, close_date_to, search (in the name or the account's name)."""
    if f.get("owner"):
        qs = qs.filter(owner_id=f["owner"])
    if f.get("stage"):
        qs = qs.filter(stage_id=f["stage"])
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("team"):
        qs = qs.filter(owner__team_id__in=access.team_subtree(int(f["team"])))
    if f.get("pipeline"):
        qs = qs.filter(pipeline_id=f["pipeline"])
    if f.get("source"):
        qs = qs.filter(source=f["source"])
    if f.get("external_id"):
        qs = qs.filter(external_id=f["external_id"])
    if f.get("close_date_from"):
        qs = qs.filter(close_date__gte=f["close_date_from"])
    if f.get("close_date_to"):
        qs = qs.filter(close_date__lte=f["close_date_to"])
    if f.get("search"):
        term = str(f["search"]).strip()
        qs = qs.filter(Q(name__icontains=term) | Q(account__name__icontains=term))
    return qs


def opportunity_list_page_order(qs: QuerySet[Opportunity], status: str) -> QuerySet[Opportunity]:
    """The list page's order for its status filter (`status`: open, won, lost or "" for
    all): open deals by close date, soonest (overdue) first; closed ones by close date,
    the most recent first; all of them: the open ones first, as above, then the closed.
    The API and the CSV keep `opportunity_list_for`'s close date, id."""
    if status == OpportunityStatus.OPEN:
        return qs.order_by("close_date", "id")
    if status:
        return qs.order_by("-close_date", "-id")
    is_open = Q(status=OpportunityStatus.OPEN)
    return qs.order_by(
        Case(When(is_open, then=Value(0)), default=Value(1), output_field=IntegerField()),
        Case(When(is_open, then=F("close_date"))).asc(nulls_last=True),
        F("close_date").desc(),
        "-id",
    )


def opportunity_get_for(user: User, pk: Any) -> Opportunity:
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404("No such opportunity.") from exc
    # The opportunity page shows the product: joined, not a query of its own.
    opp = opportunity_list_for(user).select_related("product").filter(pk=pk).first()
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


# --- products --------------------------------------------------------------------------


def product_list(*, active: bool | None = None, search: str = "") -> QuerySet[Product]:
    """The catalogue (everyone signed in reads it), by name; `active` True/False narrows
    to the products on offer / taken off it, `search` to names containing it."""
    qs = Product.objects.order_by("name", "id")
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.filter(name__icontains=search.strip()) if search.strip() else qs


def product_get(pk: Any) -> Product:
    product = Product.objects.filter(pk=pk).first() if _is_id(pk) else None
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


def product_deal_counts(product_ids: list[int]) -> dict[int, int]:
    """How many deals each product is on (one query for a page of products)."""
    rows = (
        Opportunity.objects.filter(product_id__in=product_ids)
        .order_by()
        .values("product_id")
        .annotate(n=Count("id"))
    )
    return {row["product_id"]: row["n"] for row in rows}


def _is_id(pk: Any) -> bool:
    return query_int(pk) is not None


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


# --- the board ---------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    amount: Decimal


@dataclass
class BoardColumn:
    stage: Stage
    cards: list[Opportunity]
    count: int
    # One per currency, the organisation's first: amounts in different currencies are never
    # added together. An empty column has the organisation's currency at zero.
    totals: list[CurrencyTotal]


BOARD_CARDS_PER_COLUMN = 50
# What a board card shows (templates/partials/board_columns.html) and its health needs.
BOARD_CARD_FIELDS = (
    "name",
    "amount",
    "currency",
    "close_date",
    "stage_entered_at",
    "version",
    "stage_id",
    "owner_id",
    "account__name",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "stage__order",
    "stage__warn_days",
    "stage__rot_days",
)


def board_for(
    user: User,
    pipeline: Pipeline,
    filters: dict[str, Any] | None = None,
    per_column: int = BOARD_CARDS_PER_COLUMN,
) -> list[BoardColumn]:
    """Open stages of `pipeline`, each with its first cards (soonest close first), the
    number of open deals and their total in each currency. Three queries whatever the
    number of deals."""
    stages = list(
        Stage.objects.filter(pipeline=pipeline, is_won=False, is_lost=False).order_by("order")
    )
    scoped = opportunity_list_for(
        user, {**(filters or {}), "pipeline": pipeline.pk, "status": OpportunityStatus.OPEN}
    )
    default_currency = organisation.current().default_currency
    counts: dict[int, int] = {}
    totals: dict[int, list[CurrencyTotal]] = {}
    for row in sorted(
        scoped.order_by()
        .values("stage_id", "currency")
        .annotate(n=Count("*"), total=Sum("amount")),
        key=lambda row: (row["currency"] != default_currency, row["currency"]),
    ):
        counts[row["stage_id"]] = counts.get(row["stage_id"], 0) + row["n"]
        totals.setdefault(row["stage_id"], []).append(
            CurrencyTotal(currency=row["currency"], amount=row["total"])
        )
    # Each column's first cards by its own LIMIT (an index scan per stage that stops at
    # `per_column`), then those cards with what they show; ranking every open deal in one
    # window query read and annotated them all (80 ms for a manager at 100,000 deals).
    firsts = [
        scoped.filter(stage_id=s.id).order_by("close_date", "id").values("pk")[:per_column]
        for s in stages
    ]
    card_ids = firsts[0].union(*firsts[1:], all=True) if firsts else []
    # The cards' flag badges come with the cards: no query of their own. Only the columns a
    # card shows are read (BOARD_CARD_FIELDS): building 100 cards with every column of the
    # deal, its owner (password hash included), account, stage and pipeline took ~8 ms.
    ranked = (
        scoped.filter(pk__in=card_ids)
        .select_related(None)
        .select_related("account", "owner", "stage")
        .only(*BOARD_CARD_FIELDS)
        .annotate(open_flags_json=_open_flags_json())
    )
    now = timezone.now()
    cards: dict[int, list[Opportunity]] = {s.id: [] for s in stages}
    for opp in ranked.order_by("stage__order", "close_date", "id"):
        opp.days_in_stage = rules.days_in_stage(stage_entered_at=opp.stage_entered_at, now=now)
        opp.health = rules.stage_health(
            days=opp.days_in_stage, warn_days=opp.stage.warn_days, rot_days=opp.stage.rot_days
        )
        opp.flag_badges = flag_badges(opp.open_flags_json)
        cards.setdefault(opp.stage_id, []).append(opp)
    return [
        BoardColumn(
            stage=s,
            cards=cards.get(s.id, []),
            count=counts.get(s.id, 0),
            totals=totals.get(s.id) or [CurrencyTotal(default_currency, Decimal("0"))],
        )
        for s in stages
    ]


def assignable_owners_for(user: User) -> QuerySet[User]:
    return User.objects.filter(access.visible_users_q(user), is_active=True).order_by("username")


# --- the API: qualification, flags, attention on opportunities -------------------------


def _open_flags() -> QuerySet[OpportunityFlag]:
    return OpportunityFlag.objects.filter(cleared_at__isnull=True).order_by("-raised_at", "-id")


def open_flags_prefetch() -> Prefetch:
    """An opportunity's open flags, newest first, as `opp.open_flags` (one query a page)."""
    return Prefetch("flags", queryset=_open_flags(), to_attr="open_flags")


# What the API shows of an open flag.
OPEN_FLAG_COLUMNS = ("kind", "severity", "explanation", "raised_at")


def open_flags_by_opportunity(opportunity_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The open flags of these opportunities (ids the caller read through a scoped
    selector) as rows of OPEN_FLAG_COLUMNS, newest first, by opportunity id: one query, the
    flags `open_flags_prefetch` gives instances."""
    flags: dict[int, list[dict[str, Any]]] = {}
    rows = (
        _open_flags()
        .filter(opportunity_id__in=opportunity_ids)
        .values("opportunity_id", *OPEN_FLAG_COLUMNS)
    )
    for row in rows:
        flags.setdefault(row.pop("opportunity_id"), []).append(row)
    return flags


def with_attention(qs: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
    """Opportunities with their open flags (`open_flags`, prefetched: one query a page)
    and their latest qualification (`latest_qualification`, joined: no query of its own)."""
    # select_related, not annotations: a paginator's key-only subquery (.values("pk"))
    # drops it, so the page's keys still come from an index-only scan.
    return qs.select_related("latest_qualification").prefetch_related(open_flags_prefetch())


def opportunity_api_list_for(user: User) -> QuerySet[Opportunity]:
    """`opportunity_list_for` with what the API's opportunity representation shows (it
    names the pipeline by id: no join)."""
    qs = (
        opportunity_list_for(user)
        .select_related(None)
        .select_related("account", "owner", "stage", "product")
    )
    return with_attention(qs)


def opportunity_api_get_for(user: User, pk: Any) -> Opportunity:
    opp = opportunity_api_list_for(user).filter(pk=pk).first() if _is_id(pk) else None
    if opp is None:
        raise Http404("No such opportunity.")
    return opp


def attention_load(opp: Opportunity) -> Opportunity:
    """Give an opportunity read without `with_attention` (e.g. returned by a service) the
    same attributes: two queries."""
    opp.open_flags = list(
        OpportunityFlag.objects.filter(opportunity=opp, cleared_at__isnull=True).order_by(
            "-raised_at", "-id"
        )
    )
    # Re-read: a service may have just pointed the deal at a new qualification.
    opp.latest_qualification = (
        Qualification.objects.filter(pk=opp.latest_qualification_id).first()
        if opp.latest_qualification_id
        else None
    )
    return opp


def opportunity_flag_list_for(user: User) -> QuerySet[OpportunityFlag]:
    """Flags (open and cleared) on the opportunities `user` may see, newest first."""
    return (
        OpportunityFlag.objects.filter(access.owner_scope_q(user, field="opportunity__owner"))
        .select_related("opportunity__owner")
        .order_by("-raised_at", "-id")
    )


def qualification_history_for(opp: Opportunity) -> QuerySet[Qualification]:
    """The opportunity's qualifications, newest first, with their scores and elements."""
    return (
        Qualification.objects.filter(opportunity=opp)
        .select_related("assessed_by", "framework")
        .prefetch_related(
            Prefetch(
                "scores",
                queryset=QualificationScore.objects.select_related("element").order_by(
                    "element__order", "element_id"
                ),
            )
        )
        .order_by("-assessed_at", "-id")
    )


def qualification_framework_list() -> QuerySet[QualificationFramework]:
    return QualificationFramework.objects.prefetch_related(
        Prefetch("elements", queryset=QualificationElement.objects.order_by("order", "id"))
    ).order_by("name", "id")


def qualification_element_list() -> QuerySet[QualificationElement]:
    return QualificationElement.objects.order_by("framework_id", "order", "id")


# --- pipeline setup (administrators and sales leaders) ------------------------------------


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
            stage_count=_CountOf(stages),
            milestone_count=_CountOf(milestones),
            open_deal_count=_CountOf(open_deals),
        )
        .order_by("name", "id")
    )


def pipeline_setup_get(pk: Any) -> Pipeline:
    """One pipeline for its editor (no such pipeline: 404): its framework, its stages in
    order — each with `deal_count` (deals in it, open or closed: a stage with deals
    cannot be deleted) and its milestones in order with their element minimums. Four
    queries however many stages and milestones."""
    if not _is_id(pk):
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
        Stage.objects.annotate(deal_count=_CountOf(deals))
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
        if _is_id(pk)
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
        if _is_id(pk)
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


# --- qualification framework setup (administrators and sales leaders) --------------------


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
    frameworks = list(
        QualificationFramework.objects.annotate(
            element_count=_CountOf(elements.values("pk"))
        ).order_by("name", "id")
    )
    uses = _framework_uses()
    for framework in frameworks:
        framework.uses = uses.get(framework.pk, [])
    return frameworks


def framework_setup_get(pk: Any) -> QualificationFramework:
    """One framework for its setup page (no such framework: 404) with `uses`
    (FrameworkUse) and `setup_elements`: its elements in order, each with `score_count`
    (qualification scores of it: such an element cannot be removed) and `requirements`
    (ElementRequirement, likewise). Five queries however many elements and milestones."""
    if not _is_id(pk):
        raise Http404("No such framework.")
    framework = QualificationFramework.objects.filter(pk=pk).first()
    if framework is None:
        raise Http404("No such framework.")
    scores = QualificationScore.objects.filter(element=OuterRef("pk")).order_by().values("pk")
    elements = list(
        QualificationElement.objects.filter(framework=framework)
        .annotate(score_count=_CountOf(scores))
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
    for element_id, *requirement in levels:
        requirements.setdefault(element_id, []).append(ElementRequirement(*requirement))
    for element in elements:
        element.requirements = requirements.get(element.pk, [])
    framework.setup_elements = elements
    framework.uses = _framework_uses(framework.pk).get(framework.pk, [])
    return framework


def element_setup_get(pk: Any) -> QualificationElement:
    """One element with its framework (no such element: 404)."""
    element = (
        QualificationElement.objects.select_related("framework").filter(pk=pk).first()
        if _is_id(pk)
        else None
    )
    if element is None:
        raise Http404("No such element.")
    return element


# --- attention flags -------------------------------------------------------------------

# Critical before warning; a plain ORDER BY on the text would put "critical" first only by
# accident of the alphabet.
SEVERITY_RANK = Case(
    When(severity=FlagSeverity.CRITICAL, then=Value(0)),
    default=Value(1),
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class FlagBadge:
    kind: str
    label: str
    severity: str
    explanation: str


def _open_flags_json() -> Subquery:
    """An opportunity's open flags as one JSON array (most severe first), for annotating."""
    return Subquery(
        OpportunityFlag.objects.filter(opportunity=OuterRef("pk"), cleared_at__isnull=True)
        .order_by()
        .values("opportunity")
        .annotate(
            items=JSONBAgg(
                JSONObject(kind="kind", severity="severity", explanation="explanation"),
                order_by=(SEVERITY_RANK, "raised_at", "id"),
            )
        )
        .values("items")
    )


def flag_badges(items: list[dict[str, str]] | None) -> list[FlagBadge]:
    kinds = dict(FlagKind.choices)
    return [
        FlagBadge(
            kind=item["kind"],
            label=kinds.get(item["kind"], item["kind"]),
            severity=item["severity"],
            explanation=item["explanation"],
        )
        for item in items or []
    ]


def open_flags_for(opp: Opportunity) -> QuerySet[OpportunityFlag]:
    """The opportunity's open flags, most severe first, then longest-standing first."""
    return (
        OpportunityFlag.objects.filter(opportunity=opp, cleared_at__isnull=True)
        .annotate(severity_rank=SEVERITY_RANK)
        .order_by("severity_rank", "raised_at", "id")
    )


# --- the "Needs attention" list: one row per deal, its open flags as chips -----------------

# sort= values of the list: (label, ORDER BY over the annotations of `_attention_deals`).
# "severity" — what to do first — is the default and the documented order (README):
#   1. the most severe flag: a deal with a critical flag before one with warnings only;
#   2. the bigger deal — among deals in one currency, the organisation's first (amounts in
#      different currencies are never compared: no exchange rates are kept);
#   3. the sooner close date (an overdue one first);
#   4. more open flags first; then the deal's id, so that pages never overlap.
# "age" (newest flag first) is where a notification about new flags links to.
ATTENTION_SORTS: dict[str, tuple[str, list[Any]]] = {
    "severity": (
        "What to do first",
        [
            "worst_rank",
            "currency_rank",
            "currency",
            F("amount").desc(),
            "close_date",
            F("flag_count").desc(),
            "id",
        ],
    ),
    "age": ("Newest flag first", [F("newest_flag_at").desc(), "-id"]),
    "-age": ("Longest flagged first", ["oldest_flag_at", "id"]),
    "close_date": ("Soonest close first", ["close_date", "worst_rank", "id"]),
}

# A flag row that exists (not the NULLs of a deal without flags on a LEFT JOIN) and is open.
_OPEN_FLAG = Q(flags__id__isnull=False, flags__cleared_at__isnull=True)
_CRITICAL_FLAG = _OPEN_FLAG & Q(flags__severity=FlagSeverity.CRITICAL)


@dataclass(frozen=True)
class AttentionFlag:
    """One open flag of a deal on the attention list (read from the deal's JSON array)."""

    kind: str
    label: str
    severity: str
    severity_label: str
    explanation: str
    raised_at: Any  # an aware datetime


@dataclass(frozen=True)
class AttentionOwner:
    """One owner's share of the attention list: deals flagged, of them with a critical
    flag, and open flags on them."""

    owner_id: int
    name: str
    deals: int
    critical_deals: int
    flags: int


def _attention_annotations() -> dict[str, Any]:
    """Per deal, over its open flags (joined once): the counts, the first and last raise,
    the worst severity (0 critical, 1 warning) and the flags themselves as one JSON array,
    most severe first, then longest-standing first."""
    flag_rank = Case(
        When(flags__severity=FlagSeverity.CRITICAL, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return {
        "flag_count": Count("flags", filter=_OPEN_FLAG),
        "critical_count": Count("flags", filter=_CRITICAL_FLAG),
        "worst_rank": Min(flag_rank, filter=_OPEN_FLAG),
        "newest_flag_at": Max("flags__raised_at", filter=_OPEN_FLAG),
        "oldest_flag_at": Min("flags__raised_at", filter=_OPEN_FLAG),
        "flag_items": JSONBAgg(
            JSONObject(
                kind="flags__kind",
                severity="flags__severity",
                explanation="flags__explanation",
                raised_at="flags__raised_at",
            ),
            filter=_OPEN_FLAG,
            order_by=(flag_rank, "flags__raised_at", "flags__id"),
        ),
    }


def _has_open_flag(**lookups: Any) -> Exists:
    return Exists(
        OpportunityFlag.objects.filter(
            opportunity=OuterRef("pk"), cleared_at__isnull=True, **lookups
        )
    )


def _flagged_deals(user: User, f: dict[str, Any]) -> QuerySet[Opportunity]:
    """The open deals `user` may see with at least one open flag, joined to their open
    flags (the join the annotations aggregate over). Filters (optional): owner; kind and
    severity — deals with an open flag of that kind / severity (their other flags stay)."""
    qs = Opportunity.objects.filter(
        _OPEN_FLAG, access.owner_scope_q(user), status=OpportunityStatus.OPEN
    )
    if f.get("owner"):
        qs = qs.filter(owner_id=f["owner"])
    if f.get("kind"):
        qs = qs.filter(_has_open_flag(kind=f["kind"]))
    if f.get("severity"):
        qs = qs.filter(_has_open_flag(severity=f["severity"]))
    return qs


def attention_deals_for(
    user: User,
    filters: dict[str, Any] | None = None,
    sort: str = "severity",
    *,
    group_by_owner: bool = False,
) -> QuerySet[Opportunity]:
    """The "Needs attention" list: one row per open deal `user` may see (a rep: their own;
    a manager: their teams'; a leader: all) with at least one open flag, carrying its
    flags (`flag_items`, see `attention_flags`) and what the row shows — one query a page,
    however many deals and flags.

    Filters (optional): owner, kind, severity (see `_flagged_deals`). `sort` is a key of
    ATTENTION_SORTS (unknown: severity); `group_by_owner` orders by owner first."""
    order = ATTENTION_SORTS.get(sort, ATTENTION_SORTS["severity"])[1]
    if group_by_owner:
        order = ["owner__username", "owner_id", *order]
    home_currency = organisation.current().default_currency
    return (
        _flagged_deals(user, filters or {})
        .select_related("account", "owner", "stage", "pipeline")
        .annotate(
            **_attention_annotations(),
            currency_rank=Case(
                When(currency=home_currency, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by(*order)
    )


def attention_deal_for(user: User, pk: Any) -> Opportunity:
    """One deal as a row of the attention list shows it — also when it has no open flag
    (any more) or is closed. Outside `user`'s scope: 404."""
    deal = (
        Opportunity.objects.filter(access.owner_scope_q(user), pk=query_int(pk) or 0)
        .select_related("account", "owner", "stage", "pipeline")
        .annotate(**_attention_annotations())
        .first()
    )
    if deal is None:
        raise Http404("No such opportunity.")
    return deal


def attention_flags(items: list[dict[str, Any]] | None) -> list[AttentionFlag]:
    """A deal's `flag_items` (JSON, most severe first) as AttentionFlag, for the page."""
    kinds, severities = dict(FlagKind.choices), dict(FlagSeverity.choices)
    return [
        AttentionFlag(
            kind=item["kind"],
            label=str(kinds.get(item["kind"], item["kind"])),
            severity=item["severity"],
            severity_label=str(severities.get(item["severity"], item["severity"])),
            explanation=item["explanation"],
            raised_at=dt.datetime.fromisoformat(item["raised_at"]),
        )
        for item in items or []
    ]


def attention_owners_for(user: User, filters: dict[str, Any] | None = None) -> list[AttentionOwner]:
    """Per owner of the attention list (the same filters, except the owner's own): deals
    flagged, of them with a critical flag, and their open flags — one query, for the
    page's "by rep" overview and group headings."""
    f = {k: v for k, v in (filters or {}).items() if k != "owner"}
    rows = (
        _flagged_deals(user, f)
        .values("owner_id", "owner__username", "owner__first_name", "owner__last_name")
        .annotate(
            deals=Count("id", distinct=True),
            critical_deals=Count("id", distinct=True, filter=_CRITICAL_FLAG),
            flags=Count("flags"),
        )
        .order_by("owner__username", "owner_id")
    )
    return [
        AttentionOwner(
            owner_id=row["owner_id"],
            name=f"{row['owner__first_name']} {row['owner__last_name']}".strip()
            or row["owner__username"],
            deals=row["deals"],
            critical_deals=row["critical_deals"],
            flags=row["flags"],
        )
        for row in rows
    ]


def _open_flags_in_scope(user: User, *, one_query: bool = False) -> QuerySet[OpportunityFlag]:
    scope = access.owner_scope_sql_q if one_query else access.owner_scope_q
    return OpportunityFlag.objects.filter(
        scope(user, field="opportunity__owner"),
        cleared_at__isnull=True,
        opportunity__status=OpportunityStatus.OPEN,
    )


class _CountOf(Subquery):
    template = "(SELECT count(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()


def navbar_counts_for(user: User) -> dict[str, int]:
    """The deals with open flags in `user`'s scope (the attention page shows one card per
    deal, so its badge counts deals, not flags), their unread notifications and the
    proposals waiting for their review — ONE query, since the navbar shows them on every
    page."""
    none = {"flags": 0, "unread": 0, "reviews": 0}
    if not user.is_authenticated:
        return none
    flags = (
        _open_flags_in_scope(user, one_query=True).order_by().values("opportunity_id").distinct()
    )
    unread = notification_list_for(user).filter(read_at__isnull=True).order_by().values("pk")
    reviews = providers.review_queue(user)  # registered by proposals
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            flags=_CountOf(flags),
            unread=_CountOf(unread),
            # A rep reviews nothing: an empty subquery, NULL in SQL.
            reviews=Coalesce(_CountOf(reviews), 0),
        )
        .values("flags", "unread", "reviews")
        .first()
    )
    return row or none


# --- qualification -------------------------------------------------------------------------


def framework_elements_for(opp: Opportunity) -> list[QualificationElement]:
    """The elements of the opportunity's pipeline's framework, in order ([] without one)."""
    if opp.pipeline.framework_id is None:
        return []
    return list(
        QualificationElement.objects.filter(framework_id=opp.pipeline.framework_id).order_by(
            "order", "id"
        )
    )


def qualification_scores_for(qualification: Qualification | None) -> dict[int, QualificationScore]:
    """Scores by element id (uses the scores prefetched by `qualification_history_for`)."""
    if qualification is None:
        return {}
    return {s.element_id: s for s in qualification.scores.all()}


@dataclass
class ElementLevel:
    element: QualificationElement
    score: QualificationScore | None  # None: not scored in the latest qualification

    @property
    def band(self) -> str:
        """Colour band: red for 0–1, amber for 2, green for 3."""
        level = self.score.score if self.score else 0
        return "green" if level >= 3 else "amber" if level == 2 else "red"

    @property
    def level_name(self) -> str:
        return rules.SCORE_LEVELS[self.score.score] if self.score else "Not scored"


@dataclass
class QualificationSummary:
    framework_name: str | None
    latest: Qualification | None
    state: str  # "none", "valid", "expired" or "voided"
    expires_at: Any
    elements: list[ElementLevel]
    history: list[Qualification]  # newest first
    more: int  # older qualifications not in `history`

    @property
    def trend(self) -> list[Decimal]:
        """Scores oldest → newest, for the sparkline."""
        return [q.score_pct for q in reversed(self.history)]


QUALIFICATION_HISTORY_SHOWN = 12


def qualification_summary_for(opp: Opportunity, *, now=None) -> QualificationSummary:
    """What the opportunity page's qualification card shows. Four queries at most."""
    now = now or timezone.now()
    elements = framework_elements_for(opp)
    history = list(qualification_history_for(opp)[: QUALIFICATION_HISTORY_SHOWN + 1])
    more = 0
    if len(history) > QUALIFICATION_HISTORY_SHOWN:
        history = history[:QUALIFICATION_HISTORY_SHOWN]
        more = opp.qualifications.count() - QUALIFICATION_HISTORY_SHOWN
    latest = history[0] if history else None
    scores = qualification_scores_for(latest)
    state, expires_at = "none", None
    if latest is not None:
        expires_at = rules.qualification_expires_at(
            assessed_at=latest.assessed_at, validity_days=qualification_validity_days(opp.stage)
        )
        if latest.invalidated_at is not None:
            state = "voided"
        elif rules.qualification_is_valid(
            assessed_at=latest.assessed_at,
            invalidated_at=None,
            validity_days=qualification_validity_days(opp.stage),
            now=now,
        ):
            state = "valid"
        else:
            state = "expired"
    return QualificationSummary(
        framework_name=opp.pipeline.framework.name if opp.pipeline.framework_id else None,
        latest=latest,
        state=state,
        expires_at=expires_at,
        elements=[ElementLevel(element=e, score=scores.get(e.id)) for e in elements],
        history=history,
        more=more,
    )


@dataclass(frozen=True)
class RampFirsts:
    """When a rep first did what a ramp measures (None: not yet)."""

    opportunity: Any = None  # first deal created
    qualified: Any = None  # first qualification scoring at least the threshold
    won: Any = None  # first deal won


def ramp_firsts(owner_ids: list[int], *, qualified_pct: int) -> dict[int, RampFirsts]:
    """Per owner: their first deal, first qualification ≥ `qualified_pct` %, first win —
    on deals worked here (imported history is not their ramp), from their start date on
    (deals they inherited or worked before it are not their ramp either). Three
    aggregate queries."""
    mine = Opportunity.objects.filter(owner_id__in=owner_ids, imported_at__isnull=True)
    created = dict(
        mine.filter(since_started_q("created_at"))
        .values("owner_id").annotate(m=Min("created_at")).values_list("owner_id", "m")
    )  # fmt: skip
    won = dict(
        mine.filter(
            since_started_q("closed_at"), status=OpportunityStatus.WON,
            closed_at__isnull=False,
        )
        .values("owner_id").annotate(m=Min("closed_at")).values_list("owner_id", "m")
    )  # fmt: skip
    qualified = dict(
        Qualification.objects.filter(
            since_started_q("assessed_at", "opportunity__owner"),
            opportunity__owner_id__in=owner_ids, opportunity__imported_at__isnull=True,
            score_pct__gte=qualified_pct,
        )
        .values("opportunity__owner_id").annotate(m=Min("assessed_at"))
        .values_list("opportunity__owner_id", "m")
    )  # fmt: skip
    return {
        pk: RampFirsts(opportunity=created.get(pk), qualified=qualified.get(pk), won=won.get(pk))
        for pk in owner_ids
    }


def won_amounts_by_owner(
    owner_ids: list[int], *, starts_at: Any, ends_before: Any, currency: str
) -> dict[int, Decimal]:
    """Per owner: the amount of their deals won in [starts_at, ends_before) in `currency`
    (other currencies are not added in). One query."""
    return dict(
        Opportunity.objects.filter(
            owner_id__in=owner_ids, status=OpportunityStatus.WON, currency=currency,
            closed_at__gte=starts_at, closed_at__lt=ends_before,
        )
        .values("owner_id").annotate(total=Sum("amount")).values_list("owner_id", "total")
    )  # fmt: skip
