"""The hand-computed data set of the forecast summary tests (test_summary.py,
test_api_summary.py): two reps in two teams, eleven deals, quotas for 2026-Q3.

Period 2026-Q3 = 1 July – 30 September 2026 (fiscal year = calendar year), Europe/Berlin.
Stages (make_pipeline + one): Discover 10 % pipeline, Qualify 25 % pipeline, Proposal
60 % best case, Negotiate 80 % commit (added here), Closed won, Closed lost.

`rep` (Team A)
  D1  won      30,000  closed 15 Jul                               → closed won
  D2  open     20,000  Negotiate (commit 80 %), closes 10 Aug      → commit, weighted 16,000
  D3  open     40,000  Qualify (pipeline 25 %), closes 30 Sep      → pipeline, weighted 10,000
  D4  open     10,000  Discover (10 %) OVERRIDDEN to best case,
                       closes 1 Jul                                → best case, weighted 1,000
  D5  open     50,000  Proposal (best case 60 %), close date MOVED
                       from 15 Sep to 1 Oct (history row)          → not in Q3; Q4 best case
  D6  lost      5,000  closed 1 Aug                                → nowhere
  D7  open     99,000  USD, Negotiate, closes 1 Aug                → not in a EUR summary
`other_rep` (Team B now; moved from Team A on 1 Aug — only the current team is known)
  D8  won      25,000  closed 30 Sep 23:30 Berlin (21:30 UTC)      → closed won (in Q3)
  D9  open     15,000  Proposal (best case 60 %), closes 1 Sep     → best case, weighted 9,000
  D10 open      8,000  Discover OVERRIDDEN to omitted, closes 15 Aug → nowhere
  D11 won       7,000  closed 30 Jun 23:30 Berlin                  → Q2, not Q3
No deal but D5 has any history row ("no history" is the normal case for the rest).

Quotas for 2026-Q3 (EUR): rep 100,000; other_rep 0 (zero quota); Team B 80,000 (set);
Team A none set → the sum of its reps' = 100,000 (teammate has none).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from forecasting.models import Quota
from pipeline.models import ChangeField, OpportunityChange, OpportunityStatus
from tests.factories import OpportunityFactory, StageFactory

BERLIN = ZoneInfo("Europe/Berlin")
Q3_START = dt.date(2026, 7, 1)


def at(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=BERLIN)


def build(*, rep, other_rep, team_b, pipeline) -> SimpleNamespace:
    p = pipeline
    negotiate = StageFactory(
        pipeline=p, name="Negotiate", order=6, probability=80, forecast_category="commit"
    )

    def deal(owner, stage, amount, close, **extra):
        return OpportunityFactory(
            owner=owner, stage=stage, amount=Decimal(amount), close_date=close, **extra
        )

    def won(owner, amount, closed_at):
        return deal(
            owner, p.won, amount, closed_at.date(), status=OpportunityStatus.WON,
            closed_at=closed_at,
        )  # fmt: skip

    d = SimpleNamespace()
    d.d1 = won(rep, "30000", at(2026, 7, 15))
    d.d2 = deal(rep, negotiate, "20000", dt.date(2026, 8, 10))
    d.d3 = deal(rep, p.qualify, "40000", dt.date(2026, 9, 30))
    d.d4 = deal(
        rep, p.discover, "10000", dt.date(2026, 7, 1), forecast_category="best_case",
        forecast_category_override_reason="Signed LOI",
    )  # fmt: skip
    d.d5 = deal(rep, p.proposal, "50000", dt.date(2026, 10, 1))
    OpportunityChange.objects.create(
        opportunity=d.d5, field=ChangeField.CLOSE_DATE, old_value="2026-09-15",
        new_value="2026-10-01", changed_by=rep, changed_at=at(2026, 8, 20),
    )  # fmt: skip
    d.d6 = deal(
        rep, p.lost, "5000", dt.date(2026, 8, 1), status=OpportunityStatus.LOST,
        closed_at=at(2026, 8, 1), loss_reason="Budget cut",
    )  # fmt: skip
    d.d7 = deal(rep, negotiate, "99000", dt.date(2026, 8, 1), currency="USD")
    d.d8 = won(other_rep, "25000", at(2026, 9, 30, 23, 30))
    d.d9 = deal(other_rep, p.proposal, "15000", dt.date(2026, 9, 1))
    d.d10 = deal(
        other_rep, p.discover, "8000", dt.date(2026, 8, 15), forecast_category="omitted",
        forecast_category_override_reason="Customer on hold",
    )  # fmt: skip
    d.d11 = won(other_rep, "7000", at(2026, 6, 30, 23, 30))
    # other_rep moved to Team B mid-quarter (the cast already has them there).
    other_rep.team = team_b
    other_rep.save(update_fields=["team"])

    def quota(amount, **whose):
        return Quota.objects.create(
            period_kind="quarter", period_start=Q3_START, amount=Decimal(amount),
            currency="EUR", **whose,
        )  # fmt: skip

    d.rep_quota = quota("100000", rep=rep)
    d.other_rep_quota = quota("0", rep=other_rep)
    d.team_b_quota = quota("80000", team=team_b)
    d.negotiate = negotiate
    return d


# The expected figures, computed by hand from the table above (money as strings).
REP = {
    "closed_won": "30000.00",  # D1
    "commit": "20000.00",  # D2
    "best_case": "10000.00",  # D4 (override)
    "pipeline": "40000.00",  # D3
    "commit_cumulative": "50000.00",  # 30,000 + 20,000
    "best_case_cumulative": "60000.00",  # 50,000 + 10,000
    "pipeline_cumulative": "100000.00",  # 60,000 + 40,000
    "open_pipeline": "70000.00",  # 20,000 + 10,000 + 40,000
    "weighted_pipeline": "27000.00",  # 16,000 + 10,000 + 1,000
    "quota": "100000.00",
    "attainment_percent": 30.0,  # 30,000 / 100,000
    "remaining": "70000.00",  # 100,000 − 30,000
    "coverage": 1.0,  # 70,000 / 70,000
}
OTHER_REP = {
    "closed_won": "25000.00",  # D8 (30 Sep 23:30 Berlin)
    "commit": "0.00",
    "best_case": "15000.00",  # D9
    "pipeline": "0.00",  # D10 is omitted
    "commit_cumulative": "25000.00",
    "best_case_cumulative": "40000.00",
    "pipeline_cumulative": "40000.00",
    "open_pipeline": "15000.00",
    "weighted_pipeline": "9000.00",  # 15,000 × 60 %
    "quota": "0.00",  # zero quota
    "attainment_percent": None,
    "remaining": "0.00",
    "coverage": None,
}
TEAM_A = REP  # rep is Team A's only owner with deals; quota = sum of reps' = 100,000
TEAM_B = OTHER_REP | {
    "quota": "80000.00",  # set on the team
    "attainment_percent": 31.3,  # 25,000 / 80,000 = 31.25 % → 31.3
    "remaining": "55000.00",  # 80,000 − 25,000
    "coverage": 0.27,  # 15,000 / 55,000 = 0.2727…
}
COMPANY = {
    "closed_won": "55000.00",  # 30,000 + 25,000
    "commit": "20000.00",
    "best_case": "25000.00",  # 10,000 + 15,000
    "pipeline": "40000.00",
    "commit_cumulative": "75000.00",  # 55,000 + 20,000
    "best_case_cumulative": "100000.00",  # 75,000 + 25,000
    "pipeline_cumulative": "140000.00",  # 100,000 + 40,000
    "open_pipeline": "85000.00",  # 20,000 + 25,000 + 40,000
    "weighted_pipeline": "36000.00",  # 27,000 + 9,000
    "quota": "180000.00",  # Team A 100,000 (sum of reps) + Team B 80,000 (set)
    "attainment_percent": 30.6,  # 55,000 / 180,000 = 30.555… %
    "remaining": "125000.00",  # 180,000 − 55,000
    "coverage": 0.68,  # 85,000 / 125,000
}
FIGURE_NAMES = list(REP)


def as_api(figures) -> dict:
    """A rules.ForecastFigures in the API's representation (for the selector tests)."""

    def money(v):
        return None if v is None else f"{v:.2f}"

    return {
        "closed_won": money(figures.closed_won),
        "commit": money(figures.commit),
        "best_case": money(figures.best_case),
        "pipeline": money(figures.pipeline),
        "commit_cumulative": money(figures.commit_cumulative),
        "best_case_cumulative": money(figures.best_case_cumulative),
        "pipeline_cumulative": money(figures.pipeline_cumulative),
        "open_pipeline": money(figures.open_pipeline),
        "weighted_pipeline": money(figures.weighted_pipeline),
        "quota": money(figures.quota),
        "attainment_percent": None
        if figures.attainment_percent is None
        else float(figures.attainment_percent),
        "remaining": money(figures.remaining),
        "coverage": None if figures.coverage is None else float(figures.coverage),
    }
