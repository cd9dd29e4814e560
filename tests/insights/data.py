"""A hand-made sales team whose top performers behave differently, with known answers.

`build_team` gives 8 reps (`top` = the first two, by far the largest won amounts) a year of
closed deals, each with its full stage history on the test's clock: created in Discover,
Qualify after 10 days, Proposal after 20, closed after 30 (won: Proposal → Closed won,
a forward exit; lost: Proposal → Closed lost). The required milestones are always met
before a stage is left. The optional Proposal milestone is the behaviour that differs:
the top reps complete it on every deal, the others on the first of every three.

Per rep (8 deals): top reps win 6 (50,000 each), the others win 3 (10,000 each)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from pipeline.models import (
    Milestone,
    MilestoneCompletion,
    Opportunity,
    OpportunityChange,
    OpportunityStatus,
    Pipeline,
)
from salesops.models import Role, Team, User
from tests.factories import AccountFactory, UserFactory

DEALS_PER_REP = 8
TOP_WINS, REST_WINS = 6, 3
TOP_AMOUNT, REST_AMOUNT = Decimal("50000.00"), Decimal("10000.00")


@dataclass
class Team8:
    top: list[User]
    rest: list[User]
    optional: Milestone
    deals: list[Opportunity]

    @property
    def reps(self) -> list[User]:
        return [*self.top, *self.rest]


def _stage_change(opp: Opportunity, old, new, at: dt.datetime, actor: User) -> OpportunityChange:
    return OpportunityChange(
        opportunity=opp,
        field="stage",
        old_value="" if old is None else str(old.pk),
        new_value=str(new.pk),
        old_display="" if old is None else old.name,
        new_display=new.name,
        changed_by=actor,
        changed_at=at,
    )


def build_team(pipeline: Pipeline, team: Team, *, now: dt.datetime | None = None) -> Team8:
    now = now or timezone.now()
    stages = {s.name: s for s in pipeline.stages.all()}
    discover, qualify, proposal = stages["Discover"], stages["Qualify"], stages["Proposal"]
    won, lost = stages["Closed won"], stages["Closed lost"]
    milestones = list(Milestone.objects.filter(stage__pipeline=pipeline))
    optional = next(m for m in milestones if not m.required)
    reps = [UserFactory(role=Role.REP, team=team, username=f"seller{i}") for i in range(8)]
    top, rest = reps[:2], reps[2:]
    account = AccountFactory(name="Study account", industry="Energy", employees=300)
    deals, changes, completions = [], [], []
    for rep in reps:
        is_top = rep in top
        for i in range(DEALS_PER_REP):
            created = now - dt.timedelta(days=300 - 30 * i, hours=rep.pk % 5)
            closed = created + dt.timedelta(days=30)
            is_won = i < (TOP_WINS if is_top else REST_WINS)
            opp = Opportunity.objects.create(
                name=f"{rep.username} deal {i}",
                account=account,
                owner=rep,
                pipeline=pipeline,
                stage=won if is_won else lost,
                amount=TOP_AMOUNT if is_top else REST_AMOUNT,
                currency="EUR",
                close_date=closed.date(),
                forecast_category="closed" if is_won else "omitted",
                status=OpportunityStatus.WON if is_won else OpportunityStatus.LOST,
                stage_entered_at=closed,
                closed_at=closed,
                created_at=created,
                loss_reason="" if is_won else "Chose a competitor",
            )
            deals.append(opp)
            path = [
                (None, discover, created),
                (discover, qualify, created + dt.timedelta(days=10)),
                (qualify, proposal, created + dt.timedelta(days=20)),
                (proposal, won if is_won else lost, closed),
            ]
            changes += [_stage_change(opp, old, new, at, rep) for old, new, at in path]
            for m in milestones:
                if m.required or is_top or i % 3 == 0:
                    left = {discover.pk: 10, qualify.pk: 20, proposal.pk: 30}[m.stage_id]
                    completions.append(
                        MilestoneCompletion(
                            opportunity=opp,
                            milestone=m,
                            completed_by=rep,
                            completed_at=created + dt.timedelta(days=left - 2),
                            evidence="Confirmed in writing",
                        )
                    )
    OpportunityChange.objects.bulk_create(changes)
    MilestoneCompletion.objects.bulk_create(completions)
    return Team8(top=top, rest=rest, optional=optional, deals=deals)


def one_worked_deal(pipeline: Pipeline, owner: User, *, closer: User) -> Opportunity:
    """One deal worked in Salesops: created in Proposal three weeks ago (with its history
    row), won through the pipeline service — the smallest world with every kind of row
    the insights queries read a label for."""
    from pipeline import services

    stages = {s.name: s for s in pipeline.stages.all()}
    deal = Opportunity.objects.create(
        name="First deal",
        account=AccountFactory(name="First account"),
        owner=owner,
        pipeline=pipeline,
        stage=stages["Proposal"],
        amount=Decimal("1000.00"),
        close_date=timezone.localdate(),
        forecast_category="best_case",
        stage_entered_at=timezone.now() - dt.timedelta(days=21),
        created_at=timezone.now() - dt.timedelta(days=21),
    )
    OpportunityChange.objects.create(
        opportunity=deal,
        field="stage",
        new_value=str(stages["Proposal"].pk),
        changed_at=deal.created_at,
    )
    services.opportunity_close_won(opportunity_id=deal.pk, actor=closer)
    return deal
