"""The study's decisions on hand-made numbers, without a database: the top group, a gap
and its verdict, the ranking, the sentence, the suggested minimum."""

from __future__ import annotations

from decimal import Decimal

import pytest

from insights import rules


def rep(pk: int, closed: int, won_amount: int, *, win_rate=None, attainment=None):
    return rules.RepResult(
        rep_id=pk,
        name=f"Rep {pk}",
        closed=closed,
        won_amount=Decimal(won_amount),
        win_rate=win_rate,
        attainment=attainment,
    )


def shares(met: int, total: int, deals: int | None = None) -> rules.RepMeasure:
    return rules.RepMeasure(histogram={1.0: met, 0.0: total - met}, deals=deals or total)


def test_top_quartile_by_won_amount_and_too_few_deals():
    reps = [rep(pk, 10, 1000 * pk) for pk in range(1, 9)] + [rep(9, 2, 10**6), rep(10, 0, 0)]
    group = rules.top_group(reps, rank_by="won_amount", min_closed=5)
    assert group.top == (8, 7) and group.rest == (6, 5, 4, 3, 2, 1)
    assert group.too_few == (9, 10)  # the big deal of rep 9 and a rep with none: not ranked


def test_ranking_by_attainment_leaves_out_reps_without_a_quota():
    reps = [rep(1, 9, 5, attainment=1.4), rep(2, 9, 5, attainment=0.8), rep(3, 9, 5)]
    group = rules.top_group(reps, rank_by="attainment", min_closed=1)
    assert (group.top, group.rest, group.too_few) == ((1,), (2,), (3,))


@pytest.mark.parametrize("reps", [[], [rep(1, 10, 100)]])
def test_no_one_or_one_rep_has_no_top_group(reps):
    group = rules.top_group(reps, rank_by="win_rate", min_closed=1)
    assert group.top == () and len(group.rest) == len(reps) - len(group.too_few)


def test_unknown_ranking_is_refused():
    with pytest.raises(ValueError):
        rules.top_group([], rank_by="height", min_closed=1)


def group_of(top, rest):
    return rules.TopGroup(
        rank_by="won_amount", min_closed=1, top=tuple(top), rest=tuple(rest), too_few=(),
        scores={},
    )  # fmt: skip


def test_a_clear_gap_with_its_counts_and_sentence():
    per_rep = {1: shares(9, 10), 2: shares(10, 10), 3: shares(4, 10), 4: shares(3, 10)}
    gap = rules.gap(
        key="milestone:7",
        label="'Budget confirmed' done before leaving Qualify",
        unit="share",
        higher_is_better=True,
        per_rep=per_rep,
        group=group_of([1, 2], [3, 4]),
    )
    assert (gap.top_value, gap.rest_value) == (0.95, 0.35)
    assert gap.effect.estimate == pytest.approx(0.6)  # the difference of the two shares
    assert gap.distinguishable and gap.favours_top and gap.magnitude == "large"
    assert rules.sentence(gap) == (
        "'Budget confirmed' done before leaving Qualify: top performers in 95 % of cases, "
        "the rest in 35 % — 2 vs 2 reps, 40 deals."
    )


def test_identical_groups_are_noise_and_do_not_vary():
    per_rep = {pk: shares(5, 10) for pk in range(1, 5)}
    gap = rules.gap(
        key="advances_met", label="Advances", unit="share", higher_is_better=True,
        per_rep=per_rep, group=group_of([1, 2], [3, 4]),
    )  # fmt: skip
    assert gap.effect.estimate == 0 and not gap.distinguishable and not gap.favours_top
    assert not gap.varies
    assert rules.sentence(gap).endswith("Not yet distinguishable from noise.")


def test_too_little_data_says_so_and_ranks_last():
    thin = rules.gap(
        key="a", label="Thin", unit="share", higher_is_better=True,
        per_rep={1: shares(3, 3), 2: shares(0, 3)}, group=group_of([1], [2]),
    )  # fmt: skip
    assert not thin.enough_data and rules.sentence(thin).startswith("Not enough data")
    clear = rules.gap(
        key="b", label="Clear", unit="share", higher_is_better=True,
        per_rep={1: shares(20, 20), 2: shares(19, 20), 3: shares(2, 20), 4: shares(1, 20)},
        group=group_of([1, 2], [3, 4]),
    )  # fmt: skip
    assert rules.ranked([thin, clear]) == [clear, thin]


def test_all_deals_in_one_group_has_no_effect():
    gap = rules.gap(
        key="a", label="One side", unit="count", higher_is_better=True,
        per_rep={1: shares(3, 30), 2: shares(4, 30)}, group=group_of([1, 2], [3, 4]),
    )  # fmt: skip
    assert gap.effect is None and gap.rest_reps == 0 and not gap.enough_data


def test_lower_is_better_for_days():
    fast = rules.RepMeasure(histogram={1.0: 10}, deals=10)
    slow = rules.RepMeasure(histogram={6.0: 10}, deals=10)
    gap = rules.gap(
        key="first_activity_days", label="Days", unit="days", higher_is_better=False,
        per_rep={1: fast, 2: fast, 3: slow, 4: slow}, group=group_of([1, 2], [3, 4]),
    )  # fmt: skip
    assert gap.effect.estimate == -1.0 and gap.favours_top and rules.worth_suggesting(gap)
    assert (gap.top_value, gap.rest_value) == (1.0, 6.0)  # medians


@pytest.mark.parametrize(
    ("top", "current", "expected"),
    [(73.4, 50, 70), (73.4, 70, None), (73.4, None, 70), (4.0, None, None), (None, 10, None)],
)
def test_suggested_minimum_score(top, current, expected):
    assert rules.suggested_min_score(top, current) == expected
