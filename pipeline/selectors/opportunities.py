"""Reads of deals, scoped to the user: the list and its filters (pages, CSV, API), one
deal (404 outside the scope), the API's deals with their open flags and latest
qualification, a deal's history, activities and business issues, and the owners a deal
may be given."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.http import Http404

from pipeline.models import (
    Activity,
    BusinessIssue,
    Opportunity,
    OpportunityChange,
    OpportunityFlag,
    OpportunityStatus,
    Qualification,
)
from pipeline.selectors.common import is_id
from pipeline.selectors.flags import open_flags_prefetch
from salesops import access
from salesops.models import User


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
        if is_id(pk)
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


def assignable_owners_for(user: User) -> QuerySet[User]:
    return User.objects.filter(access.visible_users_q(user), is_active=True).order_by("username")


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
    opp = opportunity_api_list_for(user).filter(pk=pk).first() if is_id(pk) else None
    if opp is None:
        raise Http404("No such opportunity.")
    return opp


def attention_load(opp: Opportunity) -> Opportunity:
    """Give an opportunity read without `with_attention` (e.g. returned by a service) the
    same attributes: two queries."""
    opp.open_flags = list(  # type: ignore[attr-defined]  # what with_attention's Prefetch(to_attr=) sets
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
