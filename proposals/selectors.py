"""Every read of proposals, already limited to what the user may see (the deal's scope)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import CharField, Count, F, Func, Min, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Lower
from django.http import Http404

from pipeline.models import Account, BusinessIssue, Opportunity
from proposals import rules
from proposals.models import (
    Proposal,
    ProposalComment,
    ProposalSection,
    ProposalStatus,
    ReviewChecklistItem,
)
from salesops import access
from salesops.models import User
from salesops.selectors import since_started_q


def approved_proposal_count(*, opportunity_id: int) -> int:
    """Proposals of the deal that a reviewer approved (sent ones were approved first)."""
    return Proposal.objects.filter(
        opportunity_id=opportunity_id,
        status__in=[ProposalStatus.APPROVED, ProposalStatus.SENT],
    ).count()


def proposal_list_for(user: User, filters: dict[str, Any] | None = None) -> QuerySet[Proposal]:
    """Proposals of the deals `user` may see, newest activity first, with what list rows
    show. Filters (optional): status, opportunity, owner."""
    f = filters or {}
    qs = (
        Proposal.objects.filter(access.owner_scope_sql_q(user, field="opportunity__owner"))
        .select_related("opportunity", "opportunity__owner", "opportunity__account")
        .order_by("-updated_at", "-id")
    )
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("opportunity"):
        qs = qs.filter(opportunity_id=f["opportunity"])
    if f.get("owner"):
        qs = qs.filter(opportunity__owner_id=f["owner"])
    return qs


def review_queue_for(user: User) -> QuerySet[Proposal]:
    """Proposals waiting for `user`'s review: in review, on deals of people they manage (a
    leader: everyone's), never their own deals; oldest submission first."""
    if not (user.is_authenticated and (user.sees_everything or user.is_manager)):
        return Proposal.objects.none()
    return (
        proposal_list_for(user, {"status": ProposalStatus.IN_REVIEW})
        .exclude(opportunity__owner=user)
        .annotate(comment_count=Count("comments"))
        .order_by("submitted_at", "id")
    )


def awaiting_review_for(user: User) -> QuerySet[Proposal, Mapping[str, Any]]:
    """The review queue as a subquery of keys (team scope resolved in SQL), for counting
    inside another query — the navbar's."""
    if not (user.is_authenticated and (user.sees_everything or user.is_manager)):
        return Proposal.objects.none().values("pk")
    return (
        Proposal.objects.filter(
            access.owner_scope_sql_q(user, field="opportunity__owner"),
            status=ProposalStatus.IN_REVIEW,
        )
        .exclude(opportunity__owner=user)
        .order_by()
        .values("pk")
    )


def proposal_get_for(user: User, pk: Any) -> Proposal:
    """One proposal with its sections, reviews and comments; 404 outside `user`'s scope."""
    try:
        pk = int(pk)
    except (TypeError, ValueError) as exc:
        raise Http404("No such proposal.") from exc
    proposal = (
        proposal_list_for(user)
        .select_related("opportunity__stage", "created_by", "approved_by")
        .prefetch_related(
            Prefetch("sections", queryset=ProposalSection.objects.order_by("order")),
            "reviews__reviewer",
            Prefetch(
                "comments",
                queryset=ProposalComment.objects.select_related("author").order_by(
                    "created_at", "id"
                ),
            ),
        )
        .filter(pk=pk)
        .first()
    )
    if proposal is None:
        raise Http404("No such proposal.")
    return proposal


def proposals_of_opportunity(opportunity_id: int) -> QuerySet[Proposal]:
    """The versions of one deal's proposal, newest first (the caller has checked scope)."""
    return Proposal.objects.filter(opportunity_id=opportunity_id).order_by("-number")


def checklist_items() -> QuerySet[ReviewChecklistItem]:
    return ReviewChecklistItem.objects.filter(is_active=True).order_by("order", "id")


def visible_q(user: User) -> Q:
    return access.owner_scope_q(user, field="opportunity__owner")


# How many other proposals' summaries the copy check compares with: the most recently
# edited ones, where a pasted template comes from. Bounded, so the live checklist stays
# fast however many proposals the organisation has written.
COPY_CHECK_CANDIDATES = 300


def summary_context(*, opportunity: Opportunity, text: str) -> rules.SummaryContext:
    """What the executive summary checks compare `text` with, for `opportunity`: its
    account, its business issues, other deals' recent summaries, and the other customers
    whose name could be in the text (found in SQL by the name's first word, so a large
    account table is never loaded). Three queries."""
    issues = tuple(
        rules.IssueFacts(
            title=bi.issue,
            value=bi.our_value,
            amount=_issue_amount(bi, opportunity.currency),
        )
        for bi in BusinessIssue.objects.filter(opportunity=opportunity).order_by("created_at", "id")
    )
    others = tuple(
        rules.OtherSummary(account_name=account_name, text=summary)
        for summary, account_name in Proposal.objects.exclude(opportunity=opportunity)
        .exclude(executive_summary="")
        .order_by("-updated_at", "-id")
        .values_list("executive_summary", "opportunity__account__name")[:COPY_CHECK_CANDIDATES]
    )
    tokens = sorted(set(rules.words(text)))[:2000]
    other_names = (
        tuple(
            Account.objects.exclude(pk=opportunity.account_id)
            .annotate(
                first_word=Lower(
                    Func(
                        F("name"),
                        Value(" "),
                        Value(1),
                        function="split_part",
                        output_field=CharField(),
                    )
                )
            )
            .filter(first_word__in=tokens)
            .values_list("name", flat=True)
            .distinct()[:200]
        )
        if tokens
        else ()
    )
    return rules.SummaryContext(
        account_name=opportunity.account.name,
        issues=issues,
        other_summaries=others,
        other_account_names=other_names,
        min_words=settings.PROPOSAL_SUMMARY_MIN_WORDS,
        max_words=settings.PROPOSAL_SUMMARY_MAX_WORDS,
        similarity_threshold=settings.PROPOSAL_SUMMARY_MAX_SIMILARITY,
    )


def _issue_amount(issue: BusinessIssue, currency: str) -> str:
    """The value mapped to an issue as an amount ("" when not quantified). The value in
    words is the mapping: an amount alone does not map it (see rules.IssueFacts)."""
    if issue.quantified_value is None:
        return ""
    return f"{issue.quantified_value:,.0f} {currency}"


def first_pass_by_deal(*, cohort_sql: str, params: dict[str, Any]) -> dict[int, tuple[int, int]]:
    """For the deals of `cohort_sql` (a SELECT with an `id` column, with `params`), per deal
    with a reviewed proposal: its proposals whose first review approved them (the executive
    summary passed on first submission), and its proposals reviewed at least once. One
    query; for the insights facts."""
    sql = f"""
    WITH cohort AS ({cohort_sql}),
    firsts AS (
        SELECT DISTINCT ON (r.proposal_id) r.proposal_id, r.decision
          FROM proposals_proposalreview r
          JOIN proposals_proposal p ON p.id = r.proposal_id
          JOIN cohort k ON k.id = p.opportunity_id
         ORDER BY r.proposal_id, r.decided_at, r.id
    )
    SELECT p.opportunity_id, count(*) FILTER (WHERE f.decision = 'approved'), count(*)
      FROM firsts f
      JOIN proposals_proposal p ON p.id = f.proposal_id
     GROUP BY p.opportunity_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {deal: (ok, reviewed) for deal, ok, reviewed in cursor.fetchall()}


def first_approved_by_owner(owner_ids: list[int]) -> dict[int, Any]:
    """Per owner: when a proposal of theirs was first approved, from their start date on
    (for a new hire's ramp)."""
    return dict(
        Proposal.objects.filter(
            since_started_q("approved_at", "opportunity__owner"),
            opportunity__owner_id__in=owner_ids,
            approved_at__isnull=False,
        )
        .values("opportunity__owner_id")
        .annotate(m=Min("approved_at"))
        .values_list("opportunity__owner_id", "m")
    )
