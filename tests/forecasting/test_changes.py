"""Week-over-week changes and the snapshot trend (forecasting.selectors), against the
hand-computed deals of tests/forecasting/changes_data.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.http import Http404

from forecasting import selectors
from forecasting import services as forecasting_services
from pipeline.models import OpportunityStatus
from salesops.exceptions import ValidationFailed
from tests.factories import OpportunityFactory
from tests.forecasting import changes_data
from tests.forecasting.changes_data import PERIOD, TODAY, W0, W1, closed, snap

pytestmark = pytest.mark.django_db

D = dt.date
E = Decimal


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(forecasting_services, "local_today", lambda now=None: TODAY)


@pytest.fixture
def deals(rep, teammate, other_rep, pipeline):
    return changes_data.build(rep, teammate, other_rep, pipeline)


def figures(result) -> dict[str, tuple[int, dict[str, Decimal], list[str]]]:
    """The kinds that occurred: (count, deltas per currency, names largest first)."""
    return {
        group.kind.value: (group.count, group.deltas, [item.name for item in group.items])
        for group in result.changes
        if group.count
    }


def test_leader_sees_every_kind_of_the_company(deals, leader):
    result = selectors.week_over_week(leader, PERIOD, week=W1)

    assert (result.week, result.previous_week, result.available) == (W1, W0, True)
    # Opening (W0 rows in Q3): steady 10,000 + slipping 12,000 + grower 20,000 + shrinker
    # 30,000 + winner 15,000 + loser 7,000 + carried 4,000 + back_forth 6,000 = 104,000.
    assert result.opening == {"EUR": E("104000")}
    # Closing (W1 rows in Q3): steady 10,000 + fresh 5,000 + early 9,500 + grower 25,000
    # + shrinker 18,000 + carried 4,000 + back_forth 6,000 = 77,500; USD: dollar 3,000.
    assert result.closing == {"EUR": E("77500"), "USD": E("3000")}
    assert figures(result) == {
        "new": (2, {"EUR": E("5000"), "USD": E("3000")}, ["Fresh", "Dollar"]),
        "pulled_in": (1, {"EUR": E("8000")}, ["Early"]),
        "pushed_out": (1, {"EUR": E("-12000")}, ["Slipping"]),
        # grower +5,000, early +1,500 (the deal with two changes)
        "amount_up": (2, {"EUR": E("6500")}, ["Grower", "Early"]),
        "amount_down": (1, {"EUR": E("-12000")}, ["Shrinker"]),
        "won": (1, {"EUR": E("-15000")}, ["Winner"]),
        "lost": (1, {"EUR": E("-7000")}, ["Loser"]),
    }
    # 104,000 + 5,000 + 8,000 - 12,000 + 6,500 - 12,000 - 15,000 - 7,000 = 77,500.
    eur = sum((g.deltas.get("EUR", E("0")) for g in result.changes), E("104000"))
    assert eur == result.closing["EUR"]


def test_every_kind_is_listed_in_order_even_when_empty(deals, leader):
    result = selectors.week_over_week(leader, PERIOD, week=W1)

    assert [g.kind.value for g in result.changes] == [
        "new", "pulled_in", "pushed_out", "amount_up", "amount_down", "won", "lost",
        "moved_in", "moved_out", "dropped",
    ]  # fmt: skip
    moved_in = result.changes[7]
    assert (moved_in.count, moved_in.deltas, moved_in.items, moved_in.truncated) == (
        0, {}, [], False
    )  # fmt: skip


def test_items_carry_both_weeks(deals, leader):
    result = selectors.week_over_week(leader, PERIOD, week=W1)
    by_kind = {g.kind.value: g for g in result.changes}

    (early,) = by_kind["pulled_in"].items
    assert (early.opportunity_id, early.delta, early.currency) == (deals.early.pk, E("8000"), "EUR")
    assert (early.amount_before, early.amount_after) == (E("8000"), E("9500"))
    assert (early.close_date_before, early.close_date_after) == (D(2026, 10, 15), D(2026, 9, 1))
    (winner,) = by_kind["won"].items
    # Closed since: no row this week; the close date is the deal's now.
    assert (winner.amount_before, winner.amount_after) == (E("15000"), None)
    assert (winner.close_date_before, winner.close_date_after) == (D(2026, 8, 28), D(2026, 8, 28))
    (fresh, dollar) = by_kind["new"].items
    assert (fresh.amount_before, fresh.close_date_before, fresh.amount_after) == (
        None, None, E("5000")
    )  # fmt: skip
    assert (dollar.currency, dollar.delta) == ("USD", E("3000"))


def test_manager_sees_the_team_as_it_was_each_week(deals, manager):
    result = selectors.week_over_week(manager, PERIOD, week=W1)

    # Team A rows in Q3. W0: steady 10,000 + slipping 12,000 + grower 20,000 + winner
    # 15,000 + carried 4,000 (mover still in A) + back_forth 6,000 = 67,000.
    assert result.opening == {"EUR": E("67000")}
    # W1: steady 10,000 + fresh 5,000 + early 9,500 + grower 25,000 + back_forth 6,000.
    assert result.closing == {"EUR": E("55500")}
    assert figures(result) == {
        "new": (1, {"EUR": E("5000")}, ["Fresh"]),
        "pulled_in": (1, {"EUR": E("8000")}, ["Early"]),
        "pushed_out": (1, {"EUR": E("-12000")}, ["Slipping"]),
        "amount_up": (2, {"EUR": E("6500")}, ["Grower", "Early"]),
        "won": (1, {"EUR": E("-15000")}, ["Winner"]),
        # The rep who changed teams took the deal out of team A's pipeline.
        "moved_out": (1, {"EUR": E("-4000")}, ["Carried"]),
    }


def test_the_other_team_gains_the_movers_deal(deals, other_manager):
    result = selectors.week_over_week(other_manager, PERIOD, week=W1)

    assert result.opening == {"EUR": E("37000")}  # shrinker 30,000 + loser 7,000
    # shrinker 18,000 + carried 4,000; USD: dollar 3,000
    assert result.closing == {"EUR": E("22000"), "USD": E("3000")}
    assert figures(result) == {
        "new": (1, {"USD": E("3000")}, ["Dollar"]),
        "amount_down": (1, {"EUR": E("-12000")}, ["Shrinker"]),
        "lost": (1, {"EUR": E("-7000")}, ["Loser"]),
        "moved_in": (1, {"EUR": E("4000")}, ["Carried"]),
    }


def test_rep_sees_their_own(deals, rep):
    result = selectors.week_over_week(rep, PERIOD, week=W1)

    assert result.opening == {"EUR": E("31000")}  # steady 10,000 + winner 15,000 + back_forth 6,000
    # steady 10,000 + fresh 5,000 + early 9,500 + back_forth 6,000
    assert result.closing == {"EUR": E("30500")}
    assert figures(result) == {
        "new": (1, {"EUR": E("5000")}, ["Fresh"]),
        "pulled_in": (1, {"EUR": E("8000")}, ["Early"]),
        "amount_up": (1, {"EUR": E("1500")}, ["Early"]),
        "won": (1, {"EUR": E("-15000")}, ["Winner"]),
    }


def test_owner_filter_follows_the_rows_of_that_person(deals, leader, other_manager):
    everyone = selectors.week_over_week(leader, PERIOD, week=W1, owner_id=deals.mover.pk)
    # The leader sees the mover's deal in both weeks: no change.
    assert (everyone.opening, everyone.closing, figures(everyone)) == (
        {"EUR": E("4000")}, {"EUR": E("4000")}, {}
    )  # fmt: skip
    team_b = selectors.week_over_week(other_manager, PERIOD, week=W1, owner_id=deals.mover.pk)
    assert (team_b.opening, team_b.closing) == ({}, {"EUR": E("4000")})
    assert figures(team_b) == {"moved_in": (1, {"EUR": E("4000")}, ["Carried"])}


def test_team_filter_of_a_leader_is_the_teams_history(deals, leader, manager):
    as_leader = selectors.week_over_week(leader, PERIOD, week=W1, team_id=deals.team_a.pk)
    as_manager = selectors.week_over_week(manager, PERIOD, week=W1)
    assert (as_leader.opening, as_leader.closing) == ({"EUR": E("67000")}, {"EUR": E("55500")})
    assert figures(as_leader) == figures(as_manager)


@pytest.mark.parametrize(
    ("who", "team", "owner"),
    [
        ("rep", "team_a", None),  # a rep picks no team, not even their own
        ("rep", None, "teammate"),
        ("manager", "team_b", None),
        ("manager", None, "other_rep"),
        ("manager", None, "mover"),  # was in team A, is in team B now
        ("other_manager", "team_a", None),
        ("leader", "missing", None),
        ("leader", None, "missing"),
        ("leader", "text", None),
    ],
)
def test_a_team_or_person_outside_the_scope_is_a_404(deals, request, who, team, owner):
    user = request.getfixturevalue(who)

    def pick(name):
        if name is None:
            return None
        return {
            "team_a": deals.team_a.pk,
            "team_b": deals.team_b.pk,
            "mover": deals.mover.pk,
            "missing": 999999,
            "text": "abc",
        }.get(name) or request.getfixturevalue(name).pk

    with pytest.raises(Http404):
        selectors.week_over_week(user, PERIOD, week=W1, team_id=pick(team), owner_id=pick(owner))
    with pytest.raises(Http404):
        selectors.snapshot_trend(user, PERIOD, team_id=pick(team), owner_id=pick(owner))


def test_default_week_is_the_latest_snapshot(deals, leader):
    result = selectors.week_over_week(leader, PERIOD)
    assert (result.week, result.previous_week) == (W1, W0)


def test_a_week_without_a_snapshot_is_flagged_not_an_error(deals, leader, monkeypatch):
    first = selectors.week_over_week(leader, PERIOD, week=W0)  # 27 July has none
    assert (first.has_snapshot, first.has_previous_snapshot, first.available) == (
        True, False, False
    )  # fmt: skip
    assert first.opening == {}
    assert first.closing == {"EUR": E("104000")}  # W0's pipeline, as above
    assert all(group.count == 0 for group in first.changes)
    assert len(first.changes) == 10

    # A week later, before its snapshot was taken.
    monkeypatch.setattr(forecasting_services, "local_today", lambda now=None: D(2026, 8, 17))
    later = selectors.week_over_week(leader, PERIOD, week=D(2026, 8, 17))
    assert (later.has_snapshot, later.has_previous_snapshot) == (False, True)
    assert later.closing == {} and all(group.count == 0 for group in later.changes)


def test_no_snapshots_at_all(leader):
    result = selectors.week_over_week(leader, PERIOD)
    assert (result.week, result.available, result.opening, result.closing) == (
        D(2026, 8, 10), False, {}, {}
    )  # fmt: skip


def test_closed_after_this_week_is_dropped_not_won(rep, pipeline, leader):
    """Absent from W1's snapshot but won only on 20 August (after W1 ended): it was closed
    and reopened in between, or its close was reversed — dropped."""
    deal = OpportunityFactory(owner=rep, stage=pipeline.won, amount=E("900"))
    snap(W0, deal, "900", D(2026, 9, 1), "commit")
    other = OpportunityFactory(owner=rep, stage=pipeline.discover, amount=E("100"))
    snap(W0, other, "100", D(2026, 9, 1), "commit")
    snap(W1, other, "100", D(2026, 9, 1), "commit")
    closed(deal, OpportunityStatus.WON, D(2026, 8, 20))

    result = selectors.week_over_week(leader, PERIOD, week=W1)

    assert figures(result) == {"dropped": (1, {"EUR": E("-900")}, [deal.name])}


def test_re_dated_into_the_period_and_won(rep, pipeline, leader):
    """In W0 for Q4, won on 5 August with its close date moved into Q3: pulled in and won."""
    deal = OpportunityFactory(
        owner=rep, stage=pipeline.won, amount=E("700"), close_date=D(2026, 8, 5)
    )
    snap(W0, deal, "700", D(2026, 11, 2), "best_case")
    keep = OpportunityFactory(owner=rep, stage=pipeline.discover)
    snap(W1, keep, "100", D(2027, 1, 5), "pipeline")
    closed(deal, OpportunityStatus.WON, D(2026, 8, 5))

    result = selectors.week_over_week(leader, PERIOD, week=W1)

    assert figures(result) == {
        "pulled_in": (1, {"EUR": E("700")}, [deal.name]),
        "won": (1, {"EUR": E("-700")}, [deal.name]),
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"period_label": "2026-Q5"}, "period"),
        ({"period_label": "soon"}, "period"),
        ({"week": "2026-08-11"}, "week"),  # a Tuesday
        ({"week": "last week"}, "week"),
        ({"week": "2026-08-17"}, "week"),  # has not begun on 12 August
    ],
)
def test_bad_period_or_week_is_refused(leader, kwargs, field):
    with pytest.raises(ValidationFailed) as exc:
        selectors.week_over_week(leader, **{"period_label": PERIOD, **kwargs})
    assert list(exc.value.details) == [field]


def test_current_quarter_by_default(deals, leader):
    assert selectors.week_over_week(leader, None, week=W1).period.label == "2026-Q3"
    assert selectors.snapshot_trend(leader, "").period.label == "2026-Q3"


def add_new_deals(owner, pipeline, n: int) -> None:
    for i in range(n):
        deal = OpportunityFactory(owner=owner, stage=pipeline.discover, amount=E("10"))
        snap(W0, deal, "10", D(2026, 10, 1), "pipeline")  # pulled in
        snap(W1, deal, "10" if i % 2 else "20", D(2026, 9, 1), "pipeline")


@pytest.mark.parametrize("many", [False, True])
def test_query_count_does_not_grow_with_deals(
    rep, manager, pipeline, django_assert_max_num_queries, many
):
    add_new_deals(rep, pipeline, 40 if many else 1)
    # managed teams, the team's subtree, the owner, the latest week, totals, changes
    with django_assert_max_num_queries(6):
        result = selectors.week_over_week(manager, PERIOD, team_id=rep.team_id, owner_id=rep.pk)
    assert result.changes[1].count == (40 if many else 1)
    # trend: managed teams, the team's subtree, the owner, the trend
    with django_assert_max_num_queries(4):
        trend = selectors.snapshot_trend(manager, PERIOD, weeks=3, team_id=rep.team_id,
                                         owner_id=rep.pk)  # fmt: skip
    assert trend.weeks[-1].totals == {"EUR": E("600") if many else E("20")}


def test_the_items_listed_are_capped_but_the_count_is_not(rep, pipeline, leader, monkeypatch):
    monkeypatch.setattr(selectors.changes, "CHANGE_ITEMS_PER_KIND", 3)  # read in changes.py
    add_new_deals(rep, pipeline, 5)

    pulled = selectors.week_over_week(leader, PERIOD, week=W1).changes[1]

    assert (pulled.count, len(pulled.items), pulled.truncated) == (5, 3, True)
    assert pulled.deltas == {"EUR": E("50")}


# --- the trend ---


def cells(week) -> set[tuple[str, str, Decimal, int]]:
    return {(c.forecast_category, c.currency, c.amount, c.deals) for c in week.cells}


def test_trend_per_category_and_week(deals, leader):
    trend = selectors.snapshot_trend(leader, PERIOD, weeks=3)

    assert [(w.week, w.has_snapshot) for w in trend.weeks] == [
        (D(2026, 7, 27), False), (W0, True), (W1, True)
    ]  # fmt: skip
    assert cells(trend.weeks[0]) == set()
    # W0 in Q3: commit steady 10,000 + shrinker 30,000 + winner 15,000; best case grower
    # 20,000; pipeline slipping 12,000 + loser 7,000 + carried 4,000; omitted back_forth.
    assert cells(trend.weeks[1]) == {
        ("commit", "EUR", E("55000"), 3),
        ("best_case", "EUR", E("20000"), 1),
        ("pipeline", "EUR", E("23000"), 3),
        ("omitted", "EUR", E("6000"), 1),
    }
    assert trend.weeks[1].totals == {"EUR": E("98000")}  # without omitted
    # W1: commit steady 10,000 + shrinker 18,000; best case early 9,500 + grower 25,000;
    # pipeline fresh 5,000 + carried 4,000, dollar USD 3,000; omitted back_forth.
    assert cells(trend.weeks[2]) == {
        ("commit", "EUR", E("28000"), 2),
        ("best_case", "EUR", E("34500"), 2),
        ("pipeline", "EUR", E("9000"), 2),
        ("pipeline", "USD", E("3000"), 1),
        ("omitted", "EUR", E("6000"), 1),
    }
    assert trend.weeks[2].totals == {"EUR": E("71500"), "USD": E("3000")}


def test_trend_of_a_team_follows_its_history(deals, manager):
    trend = selectors.snapshot_trend(manager, PERIOD, weeks=2)

    # W0 team A: commit steady + winner; best case grower; pipeline slipping + carried.
    assert cells(trend.weeks[0]) == {
        ("commit", "EUR", E("25000"), 2),
        ("best_case", "EUR", E("20000"), 1),
        ("pipeline", "EUR", E("16000"), 2),
        ("omitted", "EUR", E("6000"), 1),
    }
    # W1 team A: commit steady; best case early + grower; pipeline fresh (carried left).
    assert cells(trend.weeks[1]) == {
        ("commit", "EUR", E("10000"), 1),
        ("best_case", "EUR", E("34500"), 2),
        ("pipeline", "EUR", E("5000"), 1),
        ("omitted", "EUR", E("6000"), 1),
    }


@pytest.mark.parametrize("weeks", [0, 105, "3", True])
def test_trend_refuses_weeks_out_of_range(leader, weeks):
    with pytest.raises(ValidationFailed) as exc:
        selectors.snapshot_trend(leader, PERIOD, weeks=weeks)
    assert list(exc.value.details) == ["weeks"]
