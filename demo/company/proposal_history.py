"""The demo's proposals: a few made through the proposal services on late-stage deals,
each with its own executive summary."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from pipeline.models import BusinessIssue, Opportunity, OpportunityStatus
from proposals import selectors as proposal_selectors
from proposals import services as proposal_services
from salesops.models import User

# Closing paragraphs of the demo executive summaries: each demo proposal gets its own, so
# the summaries are personal and none reads as a copy of another (the checks would say so).
SUMMARY_CLOSERS = (
    "We propose a twelve week rollout that starts with the two teams feeling the problem "
    "most, measured against the baseline we agreed in the discovery workshop, with a "
    "steering review every second Friday and a go-live before the end of the quarter.",
    "Our plan runs in three phases over ten weeks: a pilot with one region, a review of "
    "the results with your leadership team, then the rollout to every team, with our "
    "customer success lead on site for the first month after go-live.",
    "The first month pairs our consultants with your managers on live deals, so the new "
    "way of working is proven on your own numbers before it is rolled out; we report "
    "progress against the agreed metrics to your sponsor every two weeks.",
)


def _demo_summary(opp: Opportunity, issue: BusinessIssue, closer: str) -> str:
    value = f"{issue.quantified_value:,.0f} {opp.currency}" if issue.quantified_value else ""
    return (
        f"{opp.account.name} told us that {issue.issue[0].lower()}{issue.issue[1:]}. "
        f"{issue.impact} {issue.our_value} We estimate the value for {opp.account.name} at "
        f"{value} a year. {closer}"
    )


def build_proposals(users: dict[str, User]) -> int:
    """A few proposals through the real services: one sent, one waiting for its manager's
    review, one draft — on late-stage deals with a business issue mapped to our value."""
    deals = (
        Opportunity.objects.filter(
            status=OpportunityStatus.OPEN, stage__name__in=("Proposal", "Negotiate")
        )
        .exclude(business_issues__quantified_value=None)
        .select_related("account", "owner__team__manager")
        .order_by("close_date", "id")
    )
    made, seen_issues = 0, set()
    items = [i.pk for i in proposal_selectors.checklist_items()]
    for opp in deals:
        issue = opp.business_issues.exclude(quantified_value=None).order_by("id").first()
        assert issue is not None  # `deals` keeps only deals with a quantified issue
        if issue.issue in seen_issues or opp.owner.team is None:
            continue
        seen_issues.add(issue.issue)
        proposal = proposal_services.proposal_create(
            actor=opp.owner,
            opportunity_id=opp.pk,
            title=f"{issue.our_value.split('.')[0][:150]} for {opp.account.name}",
            executive_summary=_demo_summary(opp, issue, SUMMARY_CLOSERS[made]),
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            sections=[
                {"heading": "Scope", "body": f"{opp.name}: licences, onboarding and coaching."},
                {"heading": "Investment", "body": f"{opp.amount:,.0f} {opp.currency} a year."},
                {"heading": "Next steps", "body": "Sign-off by the sponsor, then kick-off."},
            ],
        )
        if made < 2:
            proposal_services.proposal_submit(actor=opp.owner, proposal_id=proposal.pk)
        if made == 0:
            manager = opp.owner.team.manager
            assert manager is not None  # every demo team has a manager (cast.TEAMS)
            proposal_services.proposal_approve(
                actor=manager, proposal_id=proposal.pk, checked_items=items
            )
            proposal_services.proposal_mark_sent(actor=opp.owner, proposal_id=proposal.pk)
        made += 1
        if made == len(SUMMARY_CLOSERS):
            break
    return made
