"""The drill-down (forecasting.dashboard figure_deals / change_deals / snapshot_deals): the
deals behind every number add up to it — against forecast_summary, week_over_week and
snapshot_trend themselves, in every scope — refusals in words, pages, fixed queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from forecasting import dashboard, selectors
from forecasting import services as forecasting_services
from salesops.exceptions import ValidationFailed
from tests.factories import OpportunityFactory
from tests.forecasting import changes_data, summary_data
from tests.forecasting.changes_data import TODAY, W0, W1

pytestmark = pytest.mark.django_db

E = Decimal
Q3 = "2026-Q3"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(forecasting_services, "local_today", lambda now=None: TODAY)


@pytest.fixture
def deals(rep, teammate, other_rep, team_b, pipeline):
    summary = summary_data.build(rep=rep, other_rep=other_rep, team_b=team_b, pipeline=pipeline)
    changes = changes_data.build(rep, teammate, other_rep, pipeline)
    return summary, changes


def _scopes(request, names):
    """(user, team, owner) triples by fixture names; "team:<fixture>" is that user's team,
    "owner:<fixture>" that user."""
    out = []
    for who, team, owner in names:
        user = request.getfixturevalue(who)
        team_id = request.getfixturevalue(team).team_id if team else None
        owner_id = request.getfixturevalue(owner).pk if owner else None
        out.append((user, team_id, owner_id))
    return out


SCOPES = [
    ("leader", None, None),  # the company
    ("leader", "rep", None),  # Team A
    ("leader", "other_rep", None),  # Team B
    ("leader", None, "rep"),  # one owner
    ("manager", None, None),  # their teams and themselves
    ("manager", None, "teammate"),
    ("rep", None, None),  # themselves
    ("other_manager", "other_rep", None),
]


def test_every_summary_figure_lists_deals_that_add_up_to_it(deals, request):
    checked = 0
    for user, team, owner in _scopes(request, SCOPES):
        summary = selectors.forecast_summary(user, Q3, team, owner)
        for figure in selectors.SUMMARY_FIGURES:
            found = dashboard.figure_deals(user, figure, Q3, team, owner, page_size=None)
            expected = getattr(summary.totals, figure)
            assert found.total == expected, (user, team, owner, figure)
            if figure != "weighted_pipeline":
                assert sum((r.amount for r in found.rows), E("0")) == expected
            assert found.count == len(found.rows)
            checked += expected != 0
    assert checked > 30  # not a comparison of zeros


def test_each_team_row_of_the_summary_drills_into_its_own_deals(deals, leader):
    summary = selectors.forecast_summary(leader, Q3)
    for row in summary.by_team:
        for figure in selectors.SUMMARY_FIGURES:
            found = dashboard.figure_deals(leader, figure, Q3, row.id, page_size=None)
            assert found.total == getattr(row.figures, figure), (row.name, figure)
    for row in summary.by_owner:
        found = dashboard.figure_deals(leader, "commit_cumulative", Q3, owner_id=row.id)
        assert found.total == row.figures.commit_cumulative


def test_the_deals_are_the_hand_computed_ones(deals, leader, rep):
    summary, _ = deals
    found = dashboard.figure_deals(leader, "closed_won", Q3, owner_id=rep.pk)
    # D1 30,000 (summary_data) and Winner 15,000 (changes_data): largest first.
    assert [(r.name, r.amount) for r in found.rows] == [
        (summary.d1.name, E("30000.00")),
        ("Winner", E("15000.00")),
    ]
    row = found.rows[0]
    assert (row.owner_name, row.team_name, row.stage, row.status) == (
        str(rep),
        "Team A",
        "Closed won",
        "Won",
    )
    weighted = dashboard.figure_deals(leader, "weighted_pipeline", Q3, owner_id=rep.pk)
    by_name = {r.name: r.amount for r in weighted.rows}
    # D2 20,000 × 80 % and D3 40,000 × 25 %, D4 10,000 × 10 %.
    assert by_name[summary.d2.name] == E("16000.00")
    assert by_name[summary.d3.name] == E("10000.00")
    assert by_name[summary.d4.name] == E("1000.00")


def test_every_change_lists_deals_that_add_up_to_it(deals, request):
    checked = 0
    for user, team, owner in _scopes(request, SCOPES):
        wow = selectors.week_over_week(user, Q3, None, team, owner)
        for group in wow.changes:
            found = dashboard.change_deals(
                user, group.kind.value, Q3, None, team, owner, page_size=None
            )
            expected = group.deltas.get("EUR", E("0"))
            assert found.total == expected, (user, team, owner, group.kind)
            assert sum((r.amount for r in found.rows), E("0")) == expected
            assert found.week == W1
            checked += expected != 0
    assert checked >= 10


def test_a_change_row_shows_both_weeks(deals, leader):
    found = dashboard.change_deals(leader, "pulled_in", Q3, W1.isoformat())
    (row,) = found.rows
    assert (row.name, row.amount, row.amount_before, row.amount_after) == (
        "Early",
        E("8000"),
        E("8000"),
        E("9500"),
    )
    assert row.close_date == dt.date(2026, 9, 1)


def test_every_trend_point_lists_the_snapshot_rows_that_make_it(deals, request):
    checked = 0
    for user, team, owner in _scopes(request, SCOPES):
        trend = selectors.snapshot_trend(user, Q3, weeks=3, team_id=team, owner_id=owner)
        wow = selectors.week_over_week(user, Q3, W1, team, owner)
        for week in trend.weeks:
            for category in ("commit", "best_case", "pipeline", "omitted"):
                expected = sum(
                    (c.amount for c in week.cells
                     if c.forecast_category == category and c.currency == "EUR"),
                    E("0"),
                )  # fmt: skip
                found = dashboard.snapshot_deals(
                    user, category, week.week.isoformat(), Q3, team, owner, page_size=None
                )
                assert found.total == expected, (user, team, owner, week.week, category)
                assert sum((r.amount for r in found.rows), E("0")) == expected
                checked += expected != 0
            found = dashboard.snapshot_deals(user, "open_pipeline", week.week, Q3, team, owner)
            assert found.total == week.totals.get("EUR", E("0"))
        # The waterfall's ends: every row of the week (week_over_week's totals).
        for week, total in ((W0, wow.opening), (W1, wow.closing)):
            found = dashboard.snapshot_deals(user, "any", week.isoformat(), Q3, team, owner)
            assert found.total == total.get("EUR", E("0")), (user, team, owner, week)
    assert checked > 20


def test_snapshot_rows_show_the_week_as_it_was(deals, leader):
    _, d = deals
    found = dashboard.snapshot_deals(leader, "pipeline", W0.isoformat(), Q3, d.team_a.pk)
    carried = next(r for r in found.rows if r.name == "Carried")
    # In W0 the mover was in team A (now team B).
    assert (carried.team_name, carried.amount, carried.status) == ("Team A", E("4000"), "Open")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda u: dashboard.figure_deals(u, "quota", Q3), "figure"),
        (lambda u: dashboard.figure_deals(u, "<script>", Q3), "figure"),
        (lambda u: dashboard.figure_deals(u, None, Q3), "figure"),
        (lambda u: dashboard.figure_deals(u, "commit", "2026-Q9"), "period"),
        (lambda u: dashboard.change_deals(u, "sideways", Q3), "change"),
        (lambda u: dashboard.change_deals(u, "new", Q3, "2026-08-11"), "week"),
        (lambda u: dashboard.change_deals(u, "new", Q3, "2026-13-45"), "week"),
        (lambda u: dashboard.change_deals(u, "new", Q3, "2031-01-06"), "week"),  # not begun
        (lambda u: dashboard.snapshot_deals(u, "hot", W1, Q3), "category"),
        (lambda u: dashboard.snapshot_deals(u, "commit", None, Q3), "week"),
        (lambda u: dashboard.snapshot_deals(u, "commit", "last week", Q3), "week"),
        (lambda u: dashboard.snapshot_deals(u, "commit", "2026-08-12", Q3), "week"),
        (lambda u: dashboard.snapshot_deals(u, "commit", "2026-08-10T00:00", Q3), "week"),
    ],
)
def test_bad_input_is_refused_in_words(leader, call, field):
    with pytest.raises(ValidationFailed) as exc:
        call(leader)
    assert exc.value.details[field][0]


@pytest.mark.parametrize(
    "call",
    [
        lambda d: dashboard.figure_deals(d.rep, "commit", Q3, d.rep.team_id),  # a rep's team
        lambda d: dashboard.figure_deals(d.manager, "commit", Q3, d.other_rep.team_id),
        lambda d: dashboard.figure_deals(d.manager, "commit", Q3, None, d.other_rep.pk),
        lambda d: dashboard.figure_deals(d.rep, "commit", Q3, None, d.teammate.pk),
        lambda d: dashboard.figure_deals(d.leader, "commit", Q3, "abc"),
        lambda d: dashboard.change_deals(d.manager, "new", Q3, None, d.other_rep.team_id),
        lambda d: dashboard.snapshot_deals(d.manager, "commit", W1, Q3, d.other_rep.team_id),
        lambda d: dashboard.snapshot_deals(d.rep, "commit", W1, Q3, None, d.teammate.pk),
    ],
)
def test_outside_the_scope_is_a_404(rep, teammate, manager, other_rep, leader, call):
    from types import SimpleNamespace

    cast = SimpleNamespace(rep=rep, teammate=teammate, manager=manager, other_rep=other_rep,
                           leader=leader)  # fmt: skip
    with pytest.raises(Http404):
        call(cast)


def test_pages(leader, rep, pipeline):
    for n in range(7):
        OpportunityFactory(
            owner=rep, stage=pipeline.discover, amount=E(100 + n), close_date=dt.date(2026, 8, 1)
        )
    first = dashboard.figure_deals(leader, "pipeline", Q3, page=1, page_size=3)
    last = dashboard.figure_deals(leader, "pipeline", Q3, page="3", page_size=3)
    beyond = dashboard.figure_deals(leader, "pipeline", Q3, page="99", page_size=3)
    junk = dashboard.figure_deals(leader, "pipeline", Q3, page="x", page_size=3)
    assert (first.count, first.pages, first.total) == (7, 3, E("721"))
    assert [r.amount for r in first.rows] == [E("106"), E("105"), E("104")]
    assert [r.amount for r in last.rows] == [E("100")] and not last.has_next
    assert beyond.page == 3 and junk.page == 1 and first.has_next and not first.has_previous


def _count(call) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx)


def test_the_drill_down_reads_a_fixed_number_of_queries(deals, leader, manager, rep, pipeline):
    def measure():
        return (
            _count(lambda: dashboard.figure_deals(leader, "pipeline_cumulative", Q3)),
            _count(lambda: dashboard.figure_deals(manager, "commit", Q3, None, rep.pk)),
            _count(lambda: dashboard.change_deals(leader, "new", Q3, None, rep.team_id)),
            _count(lambda: dashboard.snapshot_deals(manager, "pipeline", W1, Q3, rep.team_id)),
        )

    small = measure()
    for n in range(60):
        opp = OpportunityFactory(
            owner=rep, stage=pipeline.discover, amount=E(100 + n),
            close_date=dt.date(2026, 8, 1 + n % 28),
        )  # fmt: skip
        changes_data.snap(W1, opp, str(100 + n), opp.close_date, "pipeline")
    large = measure()
    assert small == large
    assert large == (3, 4, 6, 5), large
