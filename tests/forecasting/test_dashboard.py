"""forecasting.dashboard.dashboard_data: what it composes, its scope (checked first), that it
pickles (the lead caches it), and a fixed number of queries however big the company."""

from __future__ import annotations

import datetime as dt
import pickle
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forecasting import dashboard, selectors
from forecasting import services as forecasting_services
from forecasting.models import ForecastDataVersion, ForecastSubmission, Quota
from pipeline.models import Opportunity
from salesops import side_reads
from salesops.exceptions import ValidationFailed
from salesops.models import Role, Team
from salesops.services import organisation_update
from tests.conftest import make_manager, make_rep
from tests.factories import OpportunityFactory, TeamFactory, UserFactory
from tests.forecasting import changes_data, summary_data
from tests.forecasting.changes_data import TODAY, W0, W1

pytestmark = pytest.mark.django_db

D = dt.date
E = Decimal
Q3 = "2026-Q3"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(forecasting_services, "local_today", lambda now=None: TODAY)


@pytest.fixture
def deals(rep, teammate, other_rep, team_b, pipeline):
    """Both hand-computed sets: the summary's deals and quotas, and the snapshot weeks."""
    summary = summary_data.build(rep=rep, other_rep=other_rep, team_b=team_b, pipeline=pipeline)
    changes = changes_data.build(rep, teammate, other_rep, pipeline)
    return summary, changes


def test_the_leader_sees_the_company_composed_from_the_reads(deals, leader):
    dash = dashboard.dashboard_data(leader, Q3)

    assert dash.period.label == Q3
    assert (dash.previous_period, dash.next_period) == ("2026-Q2", "2026-Q4")
    assert (dash.month_period, dash.quarter_period) == ("2026-07", Q3)
    assert dash.currency == "EUR"
    assert dash.scope.company and dash.scope.team_id is None
    assert [t.name for t in dash.scope.teams] == ["Team A", "Team B"]
    assert dash.summary == selectors.forecast_summary(leader, Q3)
    assert dash.changes == selectors.week_over_week(leader, Q3)
    assert (dash.changes.week, dash.changes.previous_week) == (W1, W0)
    history = selectors.history_forecast(leader, Q3)
    assert (dash.history.expected, dash.history.open_amount) == (
        history.expected,
        history.open_amount,
    )
    # The trend: the weeks of Q3 that have begun by Wednesday 12 August (the week of
    # 1 July begins on Monday 29 June), the snapshot weeks among them.
    weeks = [w.week for w in dash.trend.weeks]
    assert weeks == [D(2026, 6, 29) + dt.timedelta(days=7 * n) for n in range(7)]
    assert [w.week for w in dash.trend.weeks if w.has_snapshot] == [W0, W1]
    full = selectors.snapshot_trend(leader, Q3, weeks=7)
    assert dash.trend.weeks == full.weeks
    assert dash.has_snapshots and dash.has_quota
    # Closed won: 55,000 (summary_data) + Winner 15,000 (changes_data, won 6 August);
    # plus what the history expects of the open pipeline.
    assert dash.summary.totals.closed_won == E("70000")
    assert dash.forecast_from_history == E("70000") + history.expected


def test_it_pickles_to_an_equal_value(deals, leader, rep, teammate):
    ForecastSubmission.objects.create(
        period_kind="quarter", period_start=D(2026, 7, 1), submitter=rep, level="rep",
        commit=E("40000"), best_case=E("60000"), currency="EUR", figures={},
        submitted_at=timezone.now(),
    )  # fmt: skip
    dash = dashboard.dashboard_data(leader, Q3)
    assert pickle.loads(pickle.dumps(dash)) == dash


def test_the_calls_total_sums_the_reps_latest_calls_in_the_currency(
    deals, leader, manager, rep, teammate, other_rep
):
    def call(who, commit, best, currency="EUR", supersedes=None):
        return ForecastSubmission.objects.create(
            period_kind="quarter", period_start=D(2026, 7, 1), submitter=who, level="rep",
            commit=E(commit), best_case=E(best), currency=currency, figures={},
            supersedes=supersedes, submitted_at=timezone.now(),
        )  # fmt: skip

    first = call(rep, "10000", "20000")
    call(rep, "40000", "60000", supersedes=first)  # the latest of rep's: counts
    call(teammate, "5000", "7000")
    call(other_rep, "1000", "2000", currency="USD")  # another currency: left out
    calls = dashboard.dashboard_data(leader, Q3).calls
    assert (calls.calls, calls.commit, calls.best_case) == (2, E("45000"), E("67000"))
    # Team B alone: other_rep's call is in USD.
    team_b = dashboard.dashboard_data(leader, Q3, other_rep.team_id).calls
    assert (team_b.calls, team_b.commit) == (0, E("0"))
    # A manager: their team's reps.
    assert dashboard.dashboard_data(manager, Q3).calls.commit == E("45000")


def test_a_manager_sees_their_teams_and_picks_among_them(deals, manager, rep, other_rep):
    dash = dashboard.dashboard_data(manager, Q3)
    assert not dash.scope.company and dash.scope.team_id is None
    assert [t.name for t in dash.scope.teams] == ["Team A"]
    assert dash.summary == selectors.forecast_summary(manager, Q3)
    picked = dashboard.dashboard_data(manager, Q3, str(rep.team_id))
    assert (picked.scope.team_id, picked.scope.team_name) == (rep.team_id, "Team A")
    assert picked.summary == selectors.forecast_summary(manager, Q3, rep.team_id)
    with pytest.raises(Http404):
        dashboard.dashboard_data(manager, Q3, other_rep.team_id)


def test_a_sub_team_is_pickable_by_the_manager_above(manager, rep):
    sub = TeamFactory(name="Team A — SMB", parent=rep.team)
    scope = dashboard.dashboard_scope(manager, sub.pk)
    assert scope.team_id == sub.pk
    assert [t.name for t in scope.teams] == ["Team A", "Team A — SMB"]


@pytest.mark.parametrize("team", ["abc", "-1", "0", "1e3", "9" * 19, " 1", "1.0", "%00"])
def test_junk_team_ids_are_a_404(leader, team):
    with pytest.raises(Http404):
        dashboard.dashboard_scope(leader, team)


def test_reps_and_inactive_users_have_no_dashboard(rep, manager):
    with pytest.raises(Http404):
        dashboard.dashboard_data(rep, Q3)
    manager.is_active = False
    with pytest.raises(Http404):
        dashboard.dashboard_data(manager, Q3)


def test_the_scope_is_checked_before_any_other_read(leader, rep, manager, other_rep):
    # A rep: refused with no query; a manager's team outside theirs: the teams only.
    with CaptureQueriesContext(connection) as ctx, pytest.raises(Http404):
        dashboard.dashboard_scope(rep, None)
    assert len(ctx) == 0
    with CaptureQueriesContext(connection) as ctx, pytest.raises(Http404):
        dashboard.dashboard_data(manager, "junk", other_rep.team_id)
    assert len(ctx) == 1


def test_a_bad_period_is_refused_with_the_reason(leader):
    with pytest.raises(ValidationFailed) as exc:
        dashboard.dashboard_data(leader, "2026-Q7")
    assert "Q1-Q4" in exc.value.details["period"][0]


def test_no_quota_and_no_snapshots_are_empty_states_not_errors(leader):
    dash = dashboard.dashboard_data(leader)
    assert dash.period.label == "2026-Q3"  # the current quarter on 12 August
    assert not dash.has_quota and not dash.has_snapshots
    assert dash.summary.by_team == [] and not dash.changes.available
    charts = dashboard.dashboard_charts(dash)
    assert charts.attainment.empty and charts.trend.empty and charts.waterfall.empty


@pytest.mark.parametrize(
    ("period", "first", "last", "weeks"),
    [
        # Q3 on 12 Aug: from the week of 1 Jul (Mon 29 Jun) to this week (Mon 10 Aug).
        ("2026-Q3", D(2026, 6, 29), D(2026, 8, 10), 7),
        # Q2, over: its own weeks, to the week of 30 Jun (Mon 29 Jun).
        ("2026-Q2", D(2026, 3, 30), D(2026, 6, 29), 20),
        # Q4, not begun: the last 13 weeks.
        ("2026-Q4", D(2026, 5, 18), D(2026, 8, 10), 13),
        # Long ago: at most 104 weeks back.
        ("2020-Q1", D(2019, 12, 30), D(2020, 3, 30), 104),
    ],
)
def test_trend_weeks(period, first, last, weeks):
    the_period = forecasting_services.period_from_label(period)
    assert dashboard.trend_weeks(the_period, TODAY) == (weeks, first, last)


def _queries(user, *args) -> int:
    with CaptureQueriesContext(connection) as ctx:
        dashboard.dashboard_data(user, *args)
    return len(ctx)


def _grow_company(pipeline, teams: int, reps_per_team: int, deals_per_rep: int) -> None:
    """More teams (nested), reps, deals, quotas, calls and snapshots."""
    for t in range(teams):
        team = TeamFactory(name=f"Grown {t}", parent=Team.objects.order_by("id").first())
        boss = make_manager(team, f"grown_boss_{t}")
        Quota.objects.create(
            period_kind="quarter", period_start=D(2026, 7, 1), team=team, amount=E("50000"),
            currency="EUR",
        )  # fmt: skip
        for r in range(reps_per_team):
            rep = make_rep(team, f"grown_{t}_{r}")
            Quota.objects.create(
                period_kind="quarter", period_start=D(2026, 7, 1), rep=rep,
                amount=E("20000"), currency="EUR",
            )  # fmt: skip
            ForecastSubmission.objects.create(
                period_kind="quarter", period_start=D(2026, 7, 1), submitter=rep,
                level="rep", commit=E("1000"), best_case=E("2000"), currency="EUR", figures={},
                submitted_at=timezone.now(),
            )  # fmt: skip
            for n in range(deals_per_rep):
                opp = OpportunityFactory(
                    owner=rep, stage=pipeline.proposal, amount=E(1000 + n),
                    close_date=D(2026, 9, 1 + n % 28),
                )  # fmt: skip
                for week in (W0, W1):
                    changes_data.snap(week, opp, str(1000 + n), opp.close_date, "best_case")
        del boss


@pytest.mark.parametrize("role", ["leader", "manager"])
def test_the_number_of_queries_does_not_grow_with_the_company(
    deals, role, request, pipeline, leader
):
    user = request.getfixturevalue(role)
    small = _queries(user, Q3)
    _grow_company(pipeline, teams=6, reps_per_team=4, deals_per_rep=5)
    UserFactory(username="extra_leader", role=Role.LEADER)
    large = _queries(user, Q3)
    assert small == large
    assert large <= 24, large
    team = user.team_id
    assert _queries(user, Q3, team) <= 27


# --- the cache (forecasting.freshness) -------------------------------------------------------


@pytest.fixture
def cached(settings, deals, rep, leader, manager):
    """Caching on, an empty cache, and the fixtures' writes already counted: the deferred
    version triggers fire now (SET CONSTRAINTS ALL IMMEDIATE) and what follows is marked
    as a new transaction, so the next change bumps the version as a commit would."""
    from django.core.cache import cache

    settings.FORECAST_CACHE_SECONDS = 60
    cache.clear()
    ForecastDataVersion.objects.get_or_create(pk=1)  # a flushing test may have removed it
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT set_config('salesops.forecast_data_bumped', '', true)")
    yield
    cache.clear()


def test_a_cached_dashboard_is_served_until_a_deal_changes(cached, leader, rep):
    first = dashboard.dashboard_data(leader, Q3)
    assert _queries(leader, Q3) == 2  # the scope's teams and the version: nothing computed

    deal = Opportunity.objects.filter(
        owner=rep, status="open", currency="EUR", close_date__range=(D(2026, 7, 1), D(2026, 9, 30))
    ).exclude(forecast_category="omitted")[0]
    Opportunity.objects.filter(pk=deal.pk).update(amount=deal.amount + E("1000.00"))
    again = dashboard.dashboard_data(leader, Q3)

    assert again.summary != first.summary  # computed again, not the cached entry
    assert again.summary == selectors.forecast_summary(leader, Q3)


def test_each_scope_and_period_has_its_own_entry(cached, leader, manager):
    company = dashboard.dashboard_data(leader, Q3)
    teams = dashboard.dashboard_data(manager, Q3)
    assert company.summary == selectors.forecast_summary(leader, Q3)
    assert teams.summary == selectors.forecast_summary(manager, Q3)
    assert teams.summary != company.summary
    assert dashboard.dashboard_data(leader, "2026-Q4").period.label == "2026-Q4"


def test_a_new_fiscal_year_start_is_not_served_the_old_calendars_dashboard(
    cached, leader, admin_user
):
    before = dashboard.dashboard_data(leader)
    assert before.period.label == Q3  # TODAY: 12 Aug 2026, a January fiscal year
    assert dashboard.dashboard_data(leader) == before  # from the cache

    organisation_update(actor=admin_user, fiscal_year_start_month=8)
    after = dashboard.dashboard_data(leader)
    # August to October 2026 is the first quarter of FY2027 now.
    assert (after.period.label, after.period.start) == ("FY2027-Q1", D(2026, 8, 1))
    assert after.summary == selectors.forecast_summary(leader, "FY2027-Q1")
    assert after.summary != before.summary


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_changes_are_read_on_a_second_connection(
    deals, leader, monkeypatch
):
    threads = []
    side_read = side_reads.on_side_connection

    def spy(read):
        threads.append(threading.current_thread().name)
        return side_read(read)

    monkeypatch.setattr(side_reads, "on_side_connection", spy)
    parallel = dashboard.dashboard_data(leader, Q3)
    assert len(threads) == 1 and threads[0].startswith("side-read")

    with transaction.atomic():  # inside a transaction everything is read in line
        in_line = dashboard.dashboard_data(leader, Q3)
    assert len(threads) == 1
    assert parallel == in_line
    assert parallel.changes == selectors.week_over_week(leader, Q3)
