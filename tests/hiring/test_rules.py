"""The pure decisions of hiring, on hand-made figures with known answers."""

from __future__ import annotations

import pytest

from hiring import rules


@pytest.mark.parametrize(
    ("ratings", "expected"),
    [
        ((4, 5), False),  # one point apart: they agree
        ((2, 4), True),  # No and Yes
        ((3, 5, None), True),
        ((1,), False),  # one voice cannot disagree
        ((None, None), False),
        ((), False),
        ((3, 3, 3), False),
    ],
)
def test_interviewers_disagree_when_two_ratings_are_two_points_apart(ratings, expected):
    assert rules.disagree(ratings) is expected


def line(category, *ratings):
    return rules.AttributeLine(attribute_id=1, name="x", category=category, ratings=ratings)


def test_the_weighted_view_counts_track_record_least():
    # Aptitude 5 (weight 3), track record 1 (weight 1): (15 + 1) / 4.
    assert rules.weighted_mean([line("aptitude", 5, 5), line("track_record", 1)]) == 4.0
    assert rules.weighted_mean([line("aptitude", 4, 2)]) == 3.0  # the mean of its ratings
    assert rules.weighted_mean([line("attitude", None)]) is None  # nothing assessed
    assert rules.weighted_mean([]) is None
    assert not line("culture_fit", None, None).assessed
    assert line("culture_fit", None, 3).mean == 3


@pytest.mark.parametrize(
    ("current", "target", "reason", "allowed"),
    [
        ("applied", "screen", "", True),
        ("screen", "applied", "", True),  # a mistake put right
        ("offer", "rejected", "Chose another offer", True),
        ("interviews", "rejected", "  ", False),  # a reason is required
        ("interviews", "withdrawn", "", False),
        ("offer", "hired", "", False),  # hiring is the decision
        ("rejected", "screen", "", False),  # the process has ended
        ("hired", "rejected", "Oops", False),
        ("screen", "screen", "", False),
        ("screen", "promoted", "", False),
    ],
)
def test_stage_moves(current, target, reason, allowed):
    assert (rules.stage_move_problem(current, target, reason) is None) is allowed


def test_attribute_means_lowest_first_ties_in_template_order():
    rows = [(10, 2, 4), (10, 2, 2), (11, 1, 3), (12, 0, 5), (13, 3, 3)]
    assert rules.attribute_means(rows) == [(11, 3.0), (10, 3.0), (13, 3.0), (12, 5.0)]
    assert rules.attribute_means([]) == []


def test_ranks_share_ties_and_spearman_has_known_answers():
    assert rules.ranks([10, 20, 20, 5]) == [2.0, 3.5, 3.5, 1.0]
    assert rules.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert rules.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # Ranks (1, 2, 3, 4) against (1, 3, 2, 4): 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/60 = 0.8.
    assert rules.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert rules.spearman([1, 2], [1, 2]) is None  # too few pairs
    assert rules.spearman([3, 3, 3], [1, 2, 3]) is None  # one side does not vary


def test_ramp_days_and_medians():
    import datetime as dt

    start = dt.date(2026, 9, 1)
    assert rules.days_since(start, dt.datetime(2026, 9, 15, 17, tzinfo=dt.UTC)) == 14
    assert rules.days_since(start, dt.datetime(2026, 8, 20, tzinfo=dt.UTC)) == 0  # before
    assert rules.days_since(start, None) is None
    assert rules.median([30, 10, 20]) == 20 and rules.median([10, 20]) == 15
    assert rules.median([]) is None
