"""A hand-computed set of deals over two snapshot weeks for the week-over-week tests.

Period 2026-Q3 (1 July - 30 September 2026). Last week W0 = Monday 3 August 2026, this
week W1 = Monday 10 August 2026; "today" is Wednesday 12 August. Team A: rep, teammate
(manager); team B: other_rep (other_manager). `mover` was in team A in W0 and is in team B
in W1 (and now). Amounts EUR unless marked; categories as the snapshot recorded them.

  deal        owner      W0 (close, amount, category)  W1 / now                 kinds
  steady      rep        Aug 20, 10,000 commit         Sep 10, 10,000 commit    -
  fresh       rep        -                             Aug 30, 5,000 pipeline   new
  early       rep        Oct 15 (Q4), 8,000 best case  Sep 1, 9,500 best case   pulled in,
                                                                                amount up
  slipping    teammate   Sep 15, 12,000 pipeline       Nov 1, 12,000 pipeline   pushed out
  grower      teammate   Aug 25, 20,000 best case      Aug 25, 25,000 best case amount up
  shrinker    other_rep  Sep 5, 30,000 commit          Sep 5, 18,000 commit     amount down
  winner      rep        Aug 28, 15,000 commit         won Thu 6 Aug            won
  loser       other_rep  Sep 20, 7,000 pipeline        lost Fri 7 Aug           lost
  carried     mover      Sep 12, 4,000 pipeline, A     Sep 12, 4,000, team B    moved out of
                                                                                A, into B
  back_forth  rep        Sep 25, 6,000 omitted         Sep 28, 6,000 omitted    - (left Q3
                                                                                and came back)
  next_year   rep        Feb 1 2027, 1,000 pipeline    Feb 1 2027, 2,000        - (not Q3)
  dollar      other_rep  -                             Sep 9, USD 3,000 pipel.  new (USD)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from forecasting.models import PipelineSnapshot
from pipeline.models import Opportunity, OpportunityStatus
from tests.conftest import make_rep
from tests.factories import OpportunityFactory

D = dt.date
PERIOD = "2026-Q3"
W0 = D(2026, 8, 3)
W1 = D(2026, 8, 10)
TODAY = D(2026, 8, 12)


def snap(week, opp, amount, close, category, *, owner=None, team=None, currency="EUR"):
    owner = owner or opp.owner
    PipelineSnapshot.objects.create(
        week=week,
        opportunity=opp,
        owner=owner,
        team=team if team is not None else owner.team,
        stage=opp.stage,
        forecast_category=category,
        amount=Decimal(amount),
        currency=currency,
        close_date=close,
        status="open",
    )


def closed(opp: Opportunity, status: str, day: dt.date) -> None:
    Opportunity.objects.filter(pk=opp.pk).update(
        status=status,
        closed_at=dt.datetime.combine(day, dt.time(15), tzinfo=timezone.get_default_timezone()),
        loss_reason="Chose a competitor." if status == OpportunityStatus.LOST else "",
    )


def build(rep, teammate, other_rep, pipeline) -> SimpleNamespace:
    team_a, team_b = rep.team, other_rep.team
    mover = make_rep(team_b, "mover")  # now in team B

    def deal(name, owner, amount, close, **kw):
        return OpportunityFactory(
            name=name,
            owner=owner,
            amount=Decimal(amount),
            close_date=close,
            **{"stage": pipeline.discover, **kw},
        )

    d = SimpleNamespace(mover=mover, team_a=team_a, team_b=team_b)
    d.steady = deal("Steady", rep, "10000", D(2026, 9, 10))
    snap(W0, d.steady, "10000", D(2026, 8, 20), "commit")
    snap(W1, d.steady, "10000", D(2026, 9, 10), "commit")
    d.fresh = deal("Fresh", rep, "5000", D(2026, 8, 30))
    snap(W1, d.fresh, "5000", D(2026, 8, 30), "pipeline")
    d.early = deal("Early", rep, "9500", D(2026, 9, 1))
    snap(W0, d.early, "8000", D(2026, 10, 15), "best_case")
    snap(W1, d.early, "9500", D(2026, 9, 1), "best_case")
    d.slipping = deal("Slipping", teammate, "12000", D(2026, 11, 1))
    snap(W0, d.slipping, "12000", D(2026, 9, 15), "pipeline")
    snap(W1, d.slipping, "12000", D(2026, 11, 1), "pipeline")
    d.grower = deal("Grower", teammate, "25000", D(2026, 8, 25))
    snap(W0, d.grower, "20000", D(2026, 8, 25), "best_case")
    snap(W1, d.grower, "25000", D(2026, 8, 25), "best_case")
    d.shrinker = deal("Shrinker", other_rep, "18000", D(2026, 9, 5))
    snap(W0, d.shrinker, "30000", D(2026, 9, 5), "commit")
    snap(W1, d.shrinker, "18000", D(2026, 9, 5), "commit")
    d.winner = deal("Winner", rep, "15000", D(2026, 8, 28), stage=pipeline.won)
    snap(W0, d.winner, "15000", D(2026, 8, 28), "commit")
    closed(d.winner, OpportunityStatus.WON, D(2026, 8, 6))
    d.loser = deal("Loser", other_rep, "7000", D(2026, 9, 20), stage=pipeline.lost)
    snap(W0, d.loser, "7000", D(2026, 9, 20), "pipeline")
    closed(d.loser, OpportunityStatus.LOST, D(2026, 8, 7))
    d.carried = deal("Carried", mover, "4000", D(2026, 9, 12))
    snap(W0, d.carried, "4000", D(2026, 9, 12), "pipeline", team=team_a)
    snap(W1, d.carried, "4000", D(2026, 9, 12), "pipeline", team=team_b)
    d.back_forth = deal("Back and forth", rep, "6000", D(2026, 9, 28))
    snap(W0, d.back_forth, "6000", D(2026, 9, 25), "omitted")
    snap(W1, d.back_forth, "6000", D(2026, 9, 28), "omitted")
    d.next_year = deal("Next year", rep, "2000", D(2027, 2, 1))
    snap(W0, d.next_year, "1000", D(2027, 2, 1), "pipeline")
    snap(W1, d.next_year, "2000", D(2027, 2, 1), "pipeline")
    d.dollar = deal("Dollar", other_rep, "3000", D(2026, 9, 9), currency="USD")
    snap(W1, d.dollar, "3000", D(2026, 9, 9), "pipeline", currency="USD")
    return d
