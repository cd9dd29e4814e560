"""forecast_summary: every number against the hand-computed data set of summary_data.py,
the scopes and their 404s, the edge cases, and fixed query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.http import Http404

from forecasting import rules
from forecasting.models import Quota
from forecasting.selectors import forecast_summary
from salesops.exceptions import ValidationFailed
from salesops.models import Role, Team
from tests.factories import OpportunityFactory, TeamFactory, UserFactory
from tests.forecasting.summary_data import (
    COMPANY,
    OTHER_REP,
    Q3_START,
    REP,
    TEAM_A,
    TEAM_B,
    as_api,
    build,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset(rep, teammate, other_rep, team_b, pipeline):
    """The data set of summary_data.py (teammate: in Team A, no deal, no quota)."""
    return build(rep=rep, other_rep=other_rep, team_b=team_b, pipeline=pipeline)


Q3 = "2026-Q3"


def rows(summary_rows) -> dict:
    return {row.id: as_api(row.figures) for row in summary_rows}


def test_leader_sees_the_company_with_both_breakdowns(dataset, leader, rep, other_rep):
    s = forecast_summary(leader, Q3)
    assert (s.period.label, s.period.start, s.period.last_day) == (
        "2026-Q3",
        dt.date(2026, 7, 1),
        dt.date(2026, 9, 30),
    )
    assert s.currency == "EUR"
    assert as_api(s.totals) == COMPANY
    assert rows(s.by_team) == {rep.team_id: TEAM_A, other_rep.team_id: TEAM_B}
    assert [r.name for r in s.by_team] == ["Team A", "Team B"]
    assert rows(s.by_owner) == {rep.pk: REP, other_rep.pk: OTHER_REP}


def test_a_team_scope_uses_the_team_quota_when_set(dataset, leader, other_rep):
    s = forecast_summary(leader, Q3, team_id=other_rep.team_id)
    assert as_api(s.totals) == TEAM_B
    assert rows(s.by_team) == {other_rep.team_id: TEAM_B}
    assert rows(s.by_owner) == {other_rep.pk: OTHER_REP}


def test_a_team_without_its_own_quota_sums_its_reps(dataset, leader, rep, teammate):
    # Team A: no team quota; rep 100,000 + teammate (none) = 100,000.
    s = forecast_summary(leader, Q3, team_id=rep.team_id)
    assert as_api(s.totals) == TEAM_A
    # Setting one on the team replaces the sum: 30,000 / 120,000 = 25 %, remaining 90,000,
    # coverage 70,000 / 90,000 = 0.777… → 0.78; the company becomes 120,000 + 80,000.
    Quota.objects.create(
        period_kind="quarter", period_start=Q3_START, team_id=rep.team_id,
        amount=Decimal("120000"), currency="EUR",
    )  # fmt: skip
    figures = as_api(forecast_summary(leader, Q3, team_id=rep.team_id).totals)
    assert (figures["quota"], figures["attainment_percent"]) == ("120000.00", 25.0)
    assert (figures["remaining"], figures["coverage"]) == ("90000.00", 0.78)
    assert as_api(forecast_summary(leader, Q3).totals)["quota"] == "200000.00"


def test_a_parent_team_rolls_up_its_sub_team(dataset, leader, rep, other_rep):
    # Team B under Team A: Team A's row covers both (deals and, with no quota of its own,
    # the reps of both: 100,000 + 0); the company quota is Team A's alone (top level).
    Team.objects.filter(pk=other_rep.team_id).update(parent_id=rep.team_id)
    s = forecast_summary(leader, Q3)
    team_a = rows(s.by_team)[rep.team_id]
    assert team_a["closed_won"] == "55000.00"  # 30,000 + 25,000
    assert team_a["open_pipeline"] == "85000.00"
    assert team_a["quota"] == "100000.00"  # 100,000 + 0 (Team B's own 80,000 not used)
    assert rows(s.by_team)[other_rep.team_id] == TEAM_B
    assert as_api(s.totals)["quota"] == "100000.00"


def test_manager_sees_their_team_only(dataset, manager, rep):
    s = forecast_summary(manager, Q3)
    assert as_api(s.totals) == TEAM_A
    assert rows(s.by_team) == {rep.team_id: TEAM_A}
    assert rows(s.by_owner) == {rep.pk: REP}


def test_rep_sees_themselves(dataset, rep):
    s = forecast_summary(rep, Q3)
    assert as_api(s.totals) == REP
    assert s.by_team == []
    assert rows(s.by_owner) == {rep.pk: REP}
    assert as_api(forecast_summary(rep, Q3, owner_id=rep.pk).totals) == REP


def test_owner_scope(dataset, manager, leader, rep, other_rep):
    assert as_api(forecast_summary(manager, Q3, owner_id=rep.pk).totals) == REP
    s = forecast_summary(leader, Q3, team_id=other_rep.team_id, owner_id=other_rep.pk)
    assert as_api(s.totals) == OTHER_REP  # the owner's own (zero) quota, not the team's
    assert s.by_team == []


@pytest.mark.parametrize(
    ("who", "team", "owner"),
    [
        ("rep", "team_a", None),  # a rep picks no team, not even their own
        ("rep", None, "teammate"),
        ("rep", None, "other_rep"),
        ("manager", "team_b", None),
        ("manager", None, "other_rep"),
        ("other_manager", "team_a", None),
        ("other_manager", None, "rep"),
        ("leader", "team_b", "rep"),  # an owner outside the picked team
        ("leader", "missing", None),
        ("leader", None, "missing"),
    ],
)
def test_outside_the_scope_is_a_404(dataset, request, who, team, owner):
    def resolve(name):
        if name is None:
            return None
        if name == "missing":
            return 999_999_999
        value = request.getfixturevalue(name)
        return value.pk

    with pytest.raises(Http404):
        forecast_summary(request.getfixturevalue(who), Q3, resolve(team), resolve(owner))


def test_a_deal_moved_to_the_next_period_counts_there(dataset, rep):
    # D5 (50,000, Proposal 60 %) moved from 15 Sep to 1 Oct: Q4 has it, Q3 does not (REP).
    s = forecast_summary(rep, "2026-Q4")
    figures = as_api(s.totals)
    assert figures["best_case"] == "50000.00"
    assert figures["weighted_pipeline"] == "30000.00"  # 50,000 × 60 %
    assert figures["closed_won"] == "0.00"
    # No quota for Q4: attainment, remaining and coverage are unknown, not an error.
    assert (figures["quota"], figures["attainment_percent"]) == (None, None)
    assert (figures["remaining"], figures["coverage"]) == (None, None)


def test_a_month(dataset, rep):
    # July 2026: D1 won 15 Jul (30,000), D4 best case closing 1 Jul (10,000, 10 %).
    figures = as_api(forecast_summary(rep, "2026-07").totals)
    assert figures["closed_won"] == "30000.00"
    assert figures["best_case"] == "10000.00"
    assert figures["commit"] == figures["pipeline"] == "0.00"
    assert figures["weighted_pipeline"] == "1000.00"
    assert figures["quota"] is None  # the quarter's quota is not a month's


def test_closed_won_is_bounded_in_the_organisations_timezone(dataset, leader, other_rep):
    # D11 was won 30 Jun 23:30 Berlin: Q2. D8, 30 Sep 23:30 Berlin, is Q3 (above).
    q2 = forecast_summary(leader, "2026-Q2", owner_id=other_rep.pk)
    assert as_api(q2.totals)["closed_won"] == "7000.00"


def test_a_rep_who_changed_team_takes_their_closed_won_along(dataset, leader, rep, other_rep):
    # other_rep won D8 while in Team A (until 1 Aug) and is in Team B now: the summary
    # credits the current team (the team at close is not recorded).
    s = forecast_summary(leader, Q3)
    assert rows(s.by_team)[rep.team_id]["closed_won"] == "30000.00"
    assert rows(s.by_team)[other_rep.team_id]["closed_won"] == "25000.00"


def test_the_owner_at_close_is_credited(dataset, leader, rep, teammate):
    # A won deal follows its owner: handed to teammate, it is teammate's closed won.
    dataset.d1.owner = teammate
    dataset.d1.save(update_fields=["owner"])
    by_owner = rows(forecast_summary(leader, Q3).by_owner)
    assert by_owner[teammate.pk]["closed_won"] == "30000.00"
    assert by_owner[rep.pk]["closed_won"] == "0.00"
    assert by_owner[teammate.pk]["quota"] is None


def test_other_currencies_are_reported_on_their_own(dataset, rep):
    # D7 (99,000 USD, Negotiate 80 %) is the only USD deal; no USD quota.
    figures = as_api(forecast_summary(rep, Q3, currency="usd").totals)
    assert figures["commit"] == "99000.00"
    assert figures["weighted_pipeline"] == "79200.00"
    assert figures["closed_won"] == "0.00"
    assert figures["quota"] is None


def test_no_deals_and_no_quotas(db, leader):
    s = forecast_summary(leader, Q3)
    assert as_api(s.totals)["pipeline_cumulative"] == "0.00"
    assert s.totals.quota is None and s.by_owner == []


def test_a_bad_period_or_currency_is_refused(db, leader):
    with pytest.raises(ValidationFailed) as exc:
        forecast_summary(leader, "2026-Q5")
    assert exc.value.details == {"period": ['"2026-Q5": the quarter must be Q1-Q4.']}
    with pytest.raises(ValidationFailed) as exc:
        forecast_summary(leader, Q3, currency="EURO")
    assert list(exc.value.details) == ["currency"]


def test_the_default_period_is_the_current_quarter(db, leader):
    from forecasting.services import local_today

    today = local_today()
    expected = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    assert forecast_summary(leader).period.label == expected


def _more_owners(count: int, team: Team, pipeline) -> None:
    for _ in range(count):
        owner = UserFactory(role=Role.REP, team=team)
        for stage in (pipeline.discover, pipeline.proposal):
            OpportunityFactory(owner=owner, stage=stage, close_date=dt.date(2026, 8, 3))
        Quota.objects.create(
            period_kind="quarter", period_start=Q3_START, rep=owner, amount=1, currency="EUR"
        )


@pytest.mark.parametrize("extra", [0, 30])
def test_query_count_does_not_grow_with_rows(
    dataset, leader, manager, rep, pipeline, django_assert_max_num_queries, extra
):
    team_c = TeamFactory(name="Team C")
    _more_owners(extra, team_c, pipeline)
    for _ in range(extra // 10):
        TeamFactory(parent=team_c)
    # teams, deals, quotas — plus the owner when one is picked.
    with django_assert_max_num_queries(3):
        s = forecast_summary(leader, Q3)
    assert len(s.by_owner) == 2 + extra
    with django_assert_max_num_queries(3):
        forecast_summary(manager, Q3)
    with django_assert_max_num_queries(3):
        forecast_summary(leader, Q3, team_id=team_c.pk)
    with django_assert_max_num_queries(4):
        forecast_summary(leader, Q3, owner_id=rep.pk)


# --- the pure figures (rules.ForecastFigures) -------------------------------------------


def figures_of(**values) -> rules.ForecastFigures:
    zero = Decimal("0")
    base = {"closed_won": zero, "commit": zero, "best_case": zero, "pipeline": zero}
    return rules.ForecastFigures(**(base | {"weighted_raw": zero, "quota": None} | values))


def test_figures_over_quota_leave_nothing_remaining():
    # 120 won of a 100 quota: 120 %, remaining max(−20, 0) = 0, coverage undefined.
    f = figures_of(closed_won=Decimal("120"), pipeline=Decimal("50"), quota=Decimal("100"))
    assert (f.attainment_percent, f.remaining, f.coverage) == (Decimal("120.0"), 0, None)


def test_figures_add_up_and_keep_a_missing_quota_missing():
    a = figures_of(commit=Decimal("10"), weighted_raw=Decimal("550"))
    b = figures_of(best_case=Decimal("5"), quota=Decimal("40"))
    total = a + b
    assert (total.open_pipeline, total.weighted_pipeline, total.quota) == (
        Decimal("15"),
        Decimal("5.50"),  # 550 / 100
        Decimal("40"),
    )
    assert (a + a).quota is None
    assert rules.sum_quotas([None, None]) is None
    assert rules.sum_quotas([None, Decimal("0")]) == Decimal("0")
