"""The hand-computed data set of the forecast accuracy tests (test_accuracy.py,
test_api_accuracy.py): two closed quarters, reps in a team with a sub-team, the manager's
team calls, calls superseded before and after a checkpoint, people without a call, a
zero actual and a call in another currency.

"Now" is 15 July 2026, 10:00 Berlin: the last two closed quarters are 2026-Q1 and 2026-Q2.
Checkpoints (weeks 1 and 6; a week ends on Sunday, the cutoff is the next Monday 00:00):
  2026-Q1  starts Thu 1 Jan   week_start Mon 29 Dec 2025  week 1 < Mon 5 Jan   week 6 < Mon 9 Feb
  2026-Q2  starts Wed 1 Apr   week_start Mon 30 Mar       week 1 < Mon 6 Apr   week 6 < Mon 11 May

Names: Rita Rep, Tom Teammate, Mia Manager, Nina Newbie, Otto Other, Olga Othermanager.
Teams: Team A (managed by `manager`, who is a member of it) with its sub-team Team A1 (no
manager); Team B (other_manager). Everyone started on 1 Jan 2025, except `newbie` (Team A,
rep) who started on 20 Apr 2026: owed no call in Q1 nor at Q2's week 1.

Closed won in EUR (status won, closed_at in the quarter, Berlin time):
  rep       Q1 100,000 (20 Feb)   Q2 50,000 (10 May)  [+ Q2 30,000 USD: not EUR; a lost deal]
  teammate  (Team A1)  Q1 0       Q2 40,000 (30 Jun 23:30 Berlin)  [+ 9,000 on 1 Jul 00:30: Q3]
  manager   Q2 20,000 (15 Jun) — counts for Team A, not as a rep
  other_rep Q1 70,000 (Team B)
  Team A (with A1): Q1 100,000; Q2 50,000 + 40,000 + 20,000 = 110,000

Calls (commit / best case, EUR unless said):
  rep Q1   R1  2 Jan 12:00   80,000 / 120,000
           R2  4 Jan 23:00   90,000 / 130,000   supersedes R1 before week 1's cutoff
           R3  9 Feb 00:30  200,000 / 200,000   after week 6's cutoff (R2 still stands)
  rep Q2   R4 20 Apr         65,000 /  70,000   after week 1: week 1 has no call
  teammate Q1  T  3 Feb       5,000 /   5,000   zero actual: no accuracy
  teammate Q2  —                                no call at all
  manager, Team A  Q1  M1  2 Jan   95,000 / 150,000;  M2 1 Feb 120,000 / 160,000
                   Q2  M3  5 Apr  110,000 / 140,000
  other_rep Q2  O  10 Apr  1,000 / 1,000 USD        another currency
  other_manager, Team B: no call

By hand, row by row (error = commit − actual; accuracy = 1 − |error| ÷ actual):
  rep Q1 w1  R2 90,000 vs 100,000  → −10,000, 0.9   (best case +30,000)
  rep Q1 w6  R2 90,000 vs 100,000  → −10,000, 0.9
  rep Q2 w1  no call (actual 50,000)
  rep Q2 w6  R4 65,000 vs 50,000   → +15,000, 1 − 15,000/50,000 = 0.7 (best case +20,000)
  teammate Q1 w1  no call (actual 0); w6  T 5,000 vs 0 → +5,000, no accuracy
  teammate Q2 w1, w6  no call (actual 40,000)
  newbie Q2 w6  no call (actual 0); nothing else (not started)
  Team A Q1 w1  M1  95,000 vs 100,000 → −5,000, 0.95
  Team A Q1 w6  M2 120,000 vs 100,000 → +20,000, 0.8
  Team A Q2 w1  M3 110,000 vs 110,000 → 0, 1.0;  w6 the same
By person (over the periods with a row):
  rep w1      periods 2, calls 1, accuracy 0.9, bias −10,000, ratio −10,000/100,000 = −0.1
  rep w6      periods 2, calls 2, accuracy (0.9+0.7)/2 = 0.8, bias (−10,000+15,000)/2 = 2,500,
              ratio 5,000/150,000 = 0.0333
  teammate w1 periods 2, calls 0 → "no call"
  teammate w6 periods 2, calls 1, no accuracy → "no closed won", bias 5,000, ratio None (Σ 0)
  newbie w6   periods 1, calls 0 → "no call"
  Team A w1   calls 2, accuracy (0.95+1)/2 = 0.975, bias −2,500, ratio −5,000/210,000 = −0.0238
  Team A w6   calls 2, accuracy (0.8+1)/2 = 0.9, bias 10,000, ratio 20,000/210,000 = 0.0952
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from forecasting.services import forecast_submit
from pipeline.models import OpportunityStatus
from salesops.models import Role, User
from tests.factories import OpportunityFactory, TeamFactory, UserFactory

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 7, 15, 10, 0, tzinfo=BERLIN)


def at(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=BERLIN)


def cutoff(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=BERLIN)


Q1_W1, Q1_W6 = cutoff(2026, 1, 5), cutoff(2026, 2, 9)
Q2_W1, Q2_W6 = cutoff(2026, 4, 6), cutoff(2026, 5, 11)


def build(*, rep, teammate, manager, other_rep, other_manager, pipeline) -> SimpleNamespace:
    team_a = rep.team
    team_a1 = TeamFactory(name="Team A1", parent=team_a)
    teammate.team = team_a1
    teammate.save(update_fields=["team"])
    newbie = UserFactory(
        username="newbie", first_name="Nina", last_name="Newbie", role=Role.REP, team=team_a
    )
    names = {
        rep: ("Rita", "Rep"),
        teammate: ("Tom", "Teammate"),
        manager: ("Mia", "Manager"),
        other_rep: ("Otto", "Other"),
        other_manager: ("Olga", "Othermanager"),
    }
    for user, (first, last) in names.items():
        User.objects.filter(pk=user.pk).update(first_name=first, last_name=last)
    User.objects.exclude(pk=newbie.pk).update(started_on=dt.date(2025, 1, 1))
    User.objects.filter(pk=newbie.pk).update(started_on=dt.date(2026, 4, 20))
    for user in (rep, teammate, manager, other_rep, other_manager):
        user.refresh_from_db()

    def won(owner, amount, closed_at, currency="EUR"):
        return OpportunityFactory(
            owner=owner,
            stage=pipeline.won,
            amount=Decimal(amount),
            currency=currency,
            close_date=closed_at.date(),
            status=OpportunityStatus.WON,
            closed_at=closed_at,
        )

    won(rep, "100000", at(2026, 2, 20))
    won(rep, "50000", at(2026, 5, 10))
    won(rep, "30000", at(2026, 5, 12), currency="USD")
    OpportunityFactory(
        owner=rep,
        stage=pipeline.lost,
        amount=Decimal("7777"),
        close_date=dt.date(2026, 5, 1),
        status=OpportunityStatus.LOST,
        closed_at=at(2026, 5, 1),
        loss_reason="Budget",
    )
    won(teammate, "40000", at(2026, 6, 30, 23, 30))
    won(teammate, "9000", at(2026, 7, 1, 0, 30))
    won(manager, "20000", at(2026, 6, 15))
    won(other_rep, "70000", at(2026, 2, 2))

    def call(actor, period, commit, best, when, team=None, currency=None):
        return forecast_submit(
            actor=actor,
            period=period,
            commit=commit,
            best_case=best,
            team_id=team.pk if team else None,
            adjustment_note="Manager's view" if team else "",
            currency=currency,
            now=when,
        )

    d = SimpleNamespace(team_a=team_a, team_a1=team_a1, newbie=newbie)
    d.r1 = call(rep, "2026-Q1", "80000", "120000", at(2026, 1, 2))
    d.r2 = call(rep, "2026-Q1", "90000", "130000", at(2026, 1, 4, 23, 0))
    d.r3 = call(rep, "2026-Q1", "200000", "200000", at(2026, 2, 9, 0, 30))
    d.r4 = call(rep, "2026-Q2", "65000", "70000", at(2026, 4, 20))
    d.t = call(teammate, "2026-Q1", "5000", "5000", at(2026, 2, 3))
    d.m1 = call(manager, "2026-Q1", "95000", "150000", at(2026, 1, 2), team=team_a)
    d.m2 = call(manager, "2026-Q1", "120000", "160000", at(2026, 2, 1), team=team_a)
    d.m3 = call(manager, "2026-Q2", "110000", "140000", at(2026, 4, 5), team=team_a)
    d.o = call(other_rep, "2026-Q2", "1000", "1000", at(2026, 4, 10), currency="USD")
    return d
