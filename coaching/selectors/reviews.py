"""Opportunity reviews: the lists and the review page's reads (its agenda's layout), a
deal's reviews, and the snapshot of a deal a review's agenda is generated from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import (
    Count,
    Prefetch,
    Q,
    QuerySet,
)
from django.http import Http404

from coaching import rules
from coaching.models import (
    ActionItem,
    CoachingPoint,
    OpportunityReview,
    ReviewAgendaItem,
    ReviewFinding,
    ReviewStatus,
)
from coaching.selectors.visibility import reviews_visible_q
from pipeline import selectors as pipeline_selectors
from pipeline.models import ChangeField, FlagKind
from proposals import selectors as proposal_selectors
from proposals import services as proposal_services
from salesops import organisation
from salesops.models import User

# --- opportunity reviews ---
# A rep sees the reviews of their deals; a manager their teams' (and those they held); a
# leader all (reviews_visible_q). The agenda's facts are read through the pipeline's and
# proposals' own selectors and services, and judged by coaching.rules.review_agenda.

REVIEW_RELATED = ("opportunity", "opportunity__account", "rep", "manager")


def _review_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def reviews_for(user: User, filters: dict[str, Any] | None = None) -> QuerySet[OpportunityReview]:
    """The reviews `user` may see, latest first, with the deal, rep and manager joined and
    `open_items` (action items not done) counted. Filters (optional, already validated):
    rep, manager, opportunity, status."""
    f = filters or {}
    qs = (
        OpportunityReview.objects.filter(reviews_visible_q(user))
        .select_related(*REVIEW_RELATED)
        .annotate(open_items=Count("action_items", filter=Q(action_items__done_at__isnull=True)))
        .order_by("-started_at", "-id")
    )
    for name in ("rep", "manager", "opportunity", "status"):
        if f.get(name):
            qs = qs.filter(**{name if name == "status" else f"{name}_id": f[name]})
    return qs


def review_get_for(user: User, pk: Any) -> OpportunityReview:
    """One review with its agenda, findings, coaching points (and skills) and action items
    (and owners) loaded: a fixed number of queries. 404 outside `user`'s scope."""
    pk = _review_id(pk)
    review = (
        reviews_for(user)
        .prefetch_related(
            Prefetch(
                "agenda_items",
                queryset=ReviewAgendaItem.objects.select_related("added_by").order_by(
                    "order", "id"
                ),
            ),
            Prefetch("findings", queryset=ReviewFinding.objects.select_related("created_by")),
            Prefetch(
                "coaching_points",
                queryset=CoachingPoint.objects.select_related("skill", "created_by"),
            ),
            Prefetch(
                "action_items",
                queryset=ActionItem.objects.select_related(
                    "owner", "review__rep", "review__manager"
                ).order_by("due_on", "id"),
            ),
        )
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if review is None:
        raise Http404("No such review.")
    return review


@dataclass(frozen=True)
class AgendaLayout:
    """A review's agenda as its page lays it out (coaching.rules.fold_agenda)."""

    shown: list[ReviewAgendaItem]
    folded: list[ReviewAgendaItem]

    @property
    def folded_undiscussed(self) -> int:
        return sum(1 for item in self.folded if not item.discussed)


def review_agenda_layout(review: OpportunityReview) -> AgendaLayout:
    """The top points of the review's agenda in view (and the manager's own), the rest
    folded. Reads the agenda prefetched by review_get_for: no query of its own."""
    shown, folded = rules.fold_agenda(list(review.agenda_items.all()))
    return AgendaLayout(shown=shown, folded=folded)


def open_review_of(opportunity_id: int) -> OpportunityReview | None:
    """The deal's review in progress, if any (the caller has checked scope)."""
    return OpportunityReview.objects.filter(
        opportunity_id=opportunity_id, status=ReviewStatus.OPEN
    ).first()


def last_review_of(opportunity_id: int) -> OpportunityReview | None:
    """The deal's latest review (open or completed), or None."""
    return (
        OpportunityReview.objects.filter(opportunity_id=opportunity_id)
        .order_by("-started_at", "-id")
        .first()
    )


def reviews_of_opportunity(user: User, opportunity_id: int) -> list[OpportunityReview]:
    """The deal's reviews `user` may see, latest first (the opportunity page's card)."""
    return list(reviews_for(user, {"opportunity": opportunity_id})[:5])


def review_since(last: OpportunityReview | None) -> Any:
    """Changes count from when the last review ended (or started, if it never ended)."""
    if last is None:
        return None
    return last.completed_at or last.started_at


def deal_snapshot(opp: Any, since: Any) -> rules.DealSnapshot:
    """The facts a review's agenda is generated from, read now: unmet required milestones of
    the current and the next open stage, the qualification, open flags, the latest
    proposal's executive summary checks, and close date / amount changes after `since` (the
    last review; None: since the deal was created). The caller has checked scope."""
    groups = pipeline_selectors.milestones_by_stage(opp)
    after = pipeline_selectors.next_stage(opp)
    unmet: list[rules.UnmetMilestone] = []
    for group in groups:
        if group.stage.pk not in (opp.stage_id, after.pk if after else None):
            continue
        for row in group.open_required:
            unmet.append(
                rules.UnmetMilestone(
                    stage=group.stage.name,
                    title=row.milestone.title,
                    in_next_stage=group.stage.pk != opp.stage_id,
                    lacks=tuple(row.gaps),
                )
            )
    summary = pipeline_selectors.qualification_summary_for(opp)
    elements = (
        tuple((e.element.name, e.score.score if e.score else None) for e in summary.elements)
        if summary.latest is not None
        else ()
    )
    kinds = dict(FlagKind.choices)
    flags = tuple(
        rules.OpenFlagFact(
            label=kinds.get(f.kind, f.kind), severity=f.severity, explanation=f.explanation
        )
        for f in pipeline_selectors.open_flags_for(opp)
    )
    proposal = proposal_selectors.proposals_of_opportunity(opp.pk).first()
    summary_state = "no_proposal"
    failures: tuple[str, ...] = ()
    if proposal is not None:
        checks = proposal_services.summary_checks(opportunity=opp, text=proposal.executive_summary)
        failures = tuple(c.message for c in checks if not c.passed)
        summary_state = "failing" if failures else "passing"
    history = pipeline_selectors.history_for(opp).filter(
        field__in=[ChangeField.CLOSE_DATE, ChangeField.AMOUNT]
    )
    if since is not None:
        history = history.filter(changed_at__gt=since)
    dates: list[rules.DateChange] = []
    amounts: list[rules.AmountChange] = []
    org = organisation.current()
    for change in sorted(history, key=lambda c: (c.changed_at, c.pk)):
        if not change.old_value:  # the deal's creation: no "old" to compare with
            continue
        by = str(change.changed_by) if change.changed_by else ""
        at = org.localtime(change.changed_at)
        try:
            if change.field == ChangeField.CLOSE_DATE:
                dates.append(
                    rules.DateChange(
                        old=dt.date.fromisoformat(change.old_value),
                        new=dt.date.fromisoformat(change.new_value),
                        at=at,
                        by=by,
                    )
                )
            else:
                amounts.append(
                    rules.AmountChange(
                        old=Decimal(change.old_value), new=Decimal(change.new_value), at=at, by=by
                    )
                )
        except (ValueError, InvalidOperation):
            continue  # an imported row in another format: history, not an agenda point
    return rules.DealSnapshot(
        stage=opp.stage.name,
        next_stage=after.name if after else None,
        unmet_milestones=tuple(unmet),
        qualification_state=summary.state,
        element_scores=elements,
        flags=flags,
        summary_state=summary_state,
        summary_failures=failures,
        close_date_changes=tuple(dates),
        amount_changes=tuple(amounts),
        currency=opp.currency,
        reviewed_before=since is not None,
    )


def review_people_for(user: User) -> QuerySet[User]:
    """The reps whose reviews `user` sees (the list page's rep filter)."""
    if not (user.is_authenticated and user.is_active):
        return User.objects.none()
    return User.objects.filter(
        pk__in=OpportunityReview.objects.filter(reviews_visible_q(user)).values("rep_id")
    ).order_by("first_name", "last_name", "username")
