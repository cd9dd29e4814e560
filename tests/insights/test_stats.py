"""insights.stats on hand-made data with known answers (no database): published interval
examples, hand computations written out beside each check, and property tests against
a naive count."""

from __future__ import annotations

import math
from collections import Counter
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insights import stats
from insights.stats import Interval

Z = stats.Z_95
Z2 = Z * Z


def feng_cliff(delta: float, s2: float) -> tuple[float, float]:
    """The Feng & Cliff (2004) interval as published, to check the module's Wilson form."""
    s = math.sqrt(s2)
    root = Z * s * math.sqrt((1 - delta**2) ** 2 + Z2 * s2)
    denominator = 1 - delta**2 + Z2 * s2
    return (delta - delta**3 - root) / denominator, (delta - delta**3 + root) / denominator


def t_cdf_by_simpson(q: float, df: float) -> float:
    """P(T <= q), q >= 0, by Simpson's rule on the t density: independent of the module's
    incomplete beta function."""
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def density(x: float) -> float:
        return math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))

    steps = 4000
    h = q / steps
    total = density(0) + density(q)
    total += sum((4 if i % 2 else 2) * density(i * h) for i in range(1, steps))
    return 0.5 + total * h / 3


# --- median, mean -----------------------------------------------------------------------


def test_median_and_mean_of_nothing_are_none():
    assert stats.median([]) is None
    assert stats.mean([]) is None


@pytest.mark.parametrize(
    ("values", "median", "mean"),
    [
        ([5], 5.0, 5.0),
        ([3, 1, 2], 2.0, 2.0),
        ([4, 1, 3, 2], 2.5, 2.5),  # even length: the mean of the middle two, 2 and 3
        ([1, 2, 3, 10], 2.5, 4.0),  # the median ignores the outlier, the mean does not
        ([0.5, 0.25], 0.375, 0.375),
    ],
)
def test_median_and_mean(values, median, mean):
    assert stats.median(values) == median
    assert stats.mean(values) == mean
    assert isinstance(stats.median(values), float)


def test_non_finite_values_are_refused():
    with pytest.raises(ValueError):
        stats.median([1.0, math.nan])
    with pytest.raises(ValueError):
        stats.cliffs_delta([1.0, 2.0], [math.inf])
    with pytest.raises(ValueError):
        stats.top_quartile({1: 1.0, 2: math.nan})


# --- Interval ---------------------------------------------------------------------------


def test_interval_contains_and_excludes_zero():
    interval = Interval(0.2, 0.5)
    assert interval.contains(0.2) and interval.contains(0.5) and interval.contains(0.3)
    assert not interval.contains(0.1) and not interval.contains(0.6)
    assert interval.excludes_zero
    assert Interval(-0.5, -0.1).excludes_zero
    assert not Interval(-0.1, 0.3).excludes_zero
    assert not Interval(0.0, 0.3).excludes_zero  # touching 0 does not settle the sign


def test_interval_refuses_low_above_high():
    with pytest.raises(ValueError):
        Interval(0.5, 0.2)
    with pytest.raises(ValueError):
        Interval(math.nan, 1.0)


def test_z_is_the_normal_975_quantile():
    assert pytest.approx(NormalDist().inv_cdf(0.975), abs=1e-12) == Z


# --- Wilson -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe (1998a), Table I, method 3 (score, no continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # Edges: 0/10 → [0, z²/(n + z²)] = [0, 3.8415/13.8415]; 10/10 mirrors it.
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_published_values(successes, trials, low, high):
    interval = stats.wilson_interval(successes, trials)
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_wilson_edges_are_exact():
    # Computed as centre ∓ half, 0/7 would give 2.8e-17 and 10/10 0.9999999999999999.
    assert stats.wilson_interval(0, 7).low == 0.0
    assert stats.wilson_interval(10, 10).high == 1.0
    assert stats.wilson_interval(13, 13).high == 1.0


def test_wilson_with_another_z():
    # 5/10, z = 2: centre = (0.5 + 4/20)/(1 + 4/10) = 0.5;
    # half = 2/1.4 · √(0.25/10 + 4/400) = 1.428571 · √0.035 = 0.267261.
    interval = stats.wilson_interval(5, 10, z=2.0)
    assert interval.low == pytest.approx(0.5 - 0.267261, abs=1e-6)
    assert interval.high == pytest.approx(0.5 + 0.267261, abs=1e-6)


def test_wilson_nothing_to_estimate_and_impossible_counts():
    assert stats.wilson_interval(0, 0) is None
    for successes, trials in [(11, 10), (-1, 10), (1, 0)]:
        with pytest.raises(ValueError):
            stats.wilson_interval(successes, trials)
    with pytest.raises(ValueError):
        stats.wilson_interval(1, 2, z=0)


# --- Newcombe ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "estimate", "low", "high"),
    [
        # Newcombe (1998b), Table II, method 10 (hybrid score, no continuity correction).
        ((56, 70, 48, 80), 0.2, 0.0524, 0.3339),
        ((9, 10, 3, 10), 0.6, 0.1705, 0.8090),
        ((5, 56, 0, 29), 0.0893, -0.0381, 0.1926),
        ((0, 10, 0, 10), 0.0, -0.2775, 0.2775),
        ((10, 10, 0, 10), 1.0, 0.6075, 1.0),
    ],
)
def test_newcombe_published_values(counts, estimate, low, high):
    difference = stats.proportion_difference(*counts)
    assert difference.estimate == pytest.approx(estimate, abs=5e-5)
    assert difference.interval.low == pytest.approx(low, abs=5e-5)
    assert difference.interval.high == pytest.approx(high, abs=5e-5)


def test_newcombe_without_trials_and_impossible_counts():
    assert stats.proportion_difference(1, 2, 0, 0) is None
    assert stats.proportion_difference(0, 0, 1, 2) is None
    with pytest.raises(ValueError):
        stats.proportion_difference(3, 2, 1, 2)


@given(
    n1=st.integers(1, 300),
    n2=st.integers(1, 300),
    f1=st.floats(0, 1),
    f2=st.floats(0, 1),
)
def test_newcombe_contains_its_estimate_and_stays_in_range(n1, n2, f1, f2):
    s1, s2 = round(f1 * n1), round(f2 * n2)
    difference = stats.proportion_difference(s1, n1, s2, n2)
    assert difference.interval.contains(difference.estimate)
    assert -1 - 1e-12 <= difference.interval.low <= difference.interval.high <= 1 + 1e-12


# --- Student's t ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.7062047),
        (0.975, 2, 4.3026527),
        (0.975, 4, 2.7764451),
        (0.975, 5, 2.5705818),
        (0.975, 10, 2.2281389),
        (0.975, 30, 2.0422725),
        (0.975, 100, 1.9839715),
        (0.975, 1000, 1.9623391),
        (0.975, math.inf, 1.9599640),
        (0.95, 10, 1.8124611),
        (0.995, 1, 63.6567412),
        (0.025, 5, -2.5705818),  # the lower tail mirrors the upper
        (0.5, 7, 0.0),
    ],
)
def test_t_quantile_table_values(p, df, expected):
    assert stats.t_quantile(p, df=df) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.999])
def test_t_quantile_closed_forms(p):
    # df = 1 is the Cauchy: tan(π(p − ½)); df = 2: (2p − 1)/√(2p(1 − p)).
    assert stats.t_quantile(p, df=1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
    expected_2 = (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    assert stats.t_quantile(p, df=2) == pytest.approx(expected_2, rel=1e-9)


@pytest.mark.parametrize("df", [1.5, 216 / 53, 7.3, 60.0])
def test_t_quantile_fractional_df_inverts_the_density(df):
    # Welch's df are fractional; integrating the density up to the quantile gives p back.
    q = stats.t_quantile(0.975, df=df)
    assert t_cdf_by_simpson(q, df) == pytest.approx(0.975, abs=1e-8)


@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.999999, 1 - 1e-12])
def test_t_quantile_has_no_step_where_the_expansion_takes_over(p):
    # Bisection up to df = 10,000, the Cornish–Fisher expansion above: they agree.
    at_seam = stats.t_quantile(p, df=10_000)
    just_above = stats.t_quantile(p, df=10_000 * (1 + 1e-9))
    assert at_seam == pytest.approx(just_above, abs=5e-11)


@pytest.mark.parametrize("df", [1e9, 1e15])
def test_t_quantile_at_huge_df(df):
    # t = z + (z³ + z)/(4 df) + O(1/df²), so here the first correction is exact to 1e-17
    # (bisection on the incomplete beta would be off in the 9th digit at 1e9).
    correction = (Z**3 + Z) / (4 * df)
    assert stats.t_quantile(0.975, df=df) == pytest.approx(Z + correction, abs=1e-14)


def test_t_quantile_refuses_nonsense():
    for p, df in [(0.0, 3), (1.0, 3), (0.5, 0), (0.9, -1), (0.9, math.nan)]:
        with pytest.raises(ValueError):
            stats.t_quantile(p, df=df)
    with pytest.raises(OverflowError):
        stats.t_quantile(0.975, df=0.001)  # about 10^1500


# --- Welch ------------------------------------------------------------------------------


def test_welch_with_equal_variances_is_student():
    # a: mean 8, var 4; b: mean 3, var 4. se² = 4/3 + 4/3 = 8/3, se = 1.632993;
    # df = (8/3)² / ((4/3)²/2 + (4/3)²/2) = 4; t(0.975, 4) = 2.776445;
    # CI = 5 ± 2.776445 · 1.632993 = 5 ± 4.533916.
    difference = stats.mean_difference([6, 8, 10], [1, 3, 5])
    assert difference.estimate == 5
    assert difference.interval.low == pytest.approx(0.466084, abs=1e-5)
    assert difference.interval.high == pytest.approx(9.533916, abs=1e-5)


def test_welch_with_unequal_variances():
    # a: mean 5, var 20/3, n 4 → 5/3; b: mean 2, var 1, n 3 → 1/3. se² = 2, se = √2;
    # df = 2² / ((5/3)²/3 + (1/3)²/2) = 4 / (25/27 + 1/18) = 4 / (53/54) = 216/53 ≈ 4.0755
    # (pooled Student would say 5); t(0.975, 216/53) = 2.756285 (checked against the
    # density above); CI = 3 ± 2.756285 · √2 = 3 ± 3.897975.
    difference = stats.mean_difference([2, 4, 6, 8], [1, 2, 3])
    assert difference.estimate == 3
    assert difference.interval.low == pytest.approx(-0.897975, abs=1e-5)
    assert difference.interval.high == pytest.approx(6.897975, abs=1e-5)
    assert not difference.interval.excludes_zero


def test_welch_with_one_constant_group():
    # a has no spread: se² = 0 + 1/3, df = n_b − 1 = 2, t(0.975, 2) = 4.302653;
    # CI = 3 ± 4.302653/√3 = 3 ± 2.484138.
    difference = stats.mean_difference([5, 5, 5], [1, 2, 3])
    assert difference.interval.low == pytest.approx(0.515862, abs=1e-5)
    assert difference.interval.high == pytest.approx(5.484138, abs=1e-5)
    assert difference.interval.excludes_zero


def test_welch_without_spread_is_a_point():
    difference = stats.mean_difference([4, 4], [1, 1, 1])
    assert difference == stats.Difference(3.0, Interval(3.0, 3.0))


def test_welch_needs_two_values_each():
    assert stats.mean_difference([1], [1, 2, 3]) is None
    assert stats.mean_difference([1, 2], []) is None


# --- Hedges' g --------------------------------------------------------------------------


def test_hedges_g_known_value():
    # a = 2,4,6,8 and b = 1,3,5,7: means 5 and 4, both variances 20/3, so s_p = √(20/3)
    # and d = 1/√(20/3) = √(3/20) = 0.3872983.
    # J(ν = 6) = Γ(3) / (√3 · Γ(5/2)) = 2 / (√3 · ¾√π) = 8 / (3√(3π)) = 0.8686275;
    # g = 0.3872983 · 0.8686275 = 0.3364177.
    # var = 8/16 + g²/16 = 0.5 + 0.1131768/16 = 0.5070736; z·√var = 1.3956726.
    effect = stats.cohens_d([2, 4, 6, 8], [1, 3, 5, 7])
    assert effect.method == "Hedges' g"
    assert effect.estimate == pytest.approx(0.3364177, abs=1e-6)
    assert effect.interval.low == pytest.approx(0.3364177 - 1.3956726, abs=1e-6)
    assert effect.interval.high == pytest.approx(0.3364177 + 1.3956726, abs=1e-6)
    assert stats.cohens_d([1, 3, 5, 7], [2, 4, 6, 8]).estimate == pytest.approx(-0.3364177)


def test_hedges_g_undefined():
    assert stats.cohens_d([1], [1, 2]) is None
    assert stats.cohens_d([1, 2], [3]) is None
    assert stats.cohens_d([3, 3], [5, 5, 5]) is None  # pooled SD 0: no unit


# --- Cliff's delta ----------------------------------------------------------------------


def naive_delta(a, b):
    return sum((x > y) - (x < y) for x in a for y in b) / (len(a) * len(b))


def test_cliffs_delta_hand_computed():
    # a = 3,5,7 vs b = 2,4: pairs > : 3>2, 5>2, 5>4, 7>2, 7>4 (5); < : 3<4 (1). δ = 4/6.
    # d_i. = 0, 1, 1; d.j = 1, 1/3.
    # s_i.² = ((−2/3)² + 2·(1/3)²)/2 = 1/3;  s_.j² = ((1/3)² + (−1/3)²)/1 = 2/9;
    # s_ij² = (5·(1/3)² + 1·(5/3)²)/(2·1) = 5/3;
    # s² = (1·1/3 + 2·2/9 + 5/3)/6 = 11/27.
    effect = stats.cliffs_delta([3, 5, 7], [2, 4])
    assert effect.method == "Cliff's delta"
    assert effect.estimate == pytest.approx(2 / 3)
    low, high = feng_cliff(2 / 3, 11 / 27)
    assert effect.interval.low == pytest.approx(low, abs=1e-12)
    assert effect.interval.high == pytest.approx(high, abs=1e-12)


def test_cliffs_delta_variance_matches_effsize():
    # R's effsize (cliff.delta, use.unbiased = FALSE) documents for these data the terms
    # s_i.² = 0.2669753, s_.j² = 0.447, s_ij² = 1.0055556; δ = −0.25, n = 10, m = 6:
    # s² = (5 · 0.2669753 + 9 · 0.447 + 1.0055556)/60 = 0.1060572.
    treatment = [10, 10, 20, 20, 20, 30, 30, 30, 40, 50]
    control = [10, 20, 30, 40, 40, 50]
    effect = stats.cliffs_delta(treatment, control)
    assert effect.estimate == -0.25
    low, high = feng_cliff(-0.25, (5 * 0.2669753 + 9 * 0.447 + 1.0055556) / 60)
    assert effect.interval.low == pytest.approx(low, abs=1e-7)  # −0.71254
    assert effect.interval.high == pytest.approx(high, abs=1e-7)  # 0.36400
    assert stats.magnitude(effect.estimate) == "small"


def test_cliffs_delta_ties_count_zero():
    # 1 loses to 2, 2, 3 (−3); each 2 ties 2, 2 and loses to 3 (−1 each): δ = −5/9.
    assert stats.cliffs_delta([1, 2, 2], [2, 2, 3]).estimate == pytest.approx(-5 / 9)


def test_cliffs_delta_identical_groups():
    effect = stats.cliffs_delta([1, 2, 3, 4], [4, 3, 2, 1])
    assert effect.estimate == 0
    assert effect.interval.low == pytest.approx(-effect.interval.high)
    assert not effect.interval.excludes_zero


def test_cliffs_delta_fully_separated_uses_the_bound():
    # Every pair the same way: the consistent s² is 0 by construction, so N = min(n, m)
    # = 10 and the interval is 2 · Wilson(10/10) − 1 = [(10 − z²)/(10 + z²), 1].
    top, rest = list(range(11, 21)), list(range(1, 11))
    effect = stats.cliffs_delta(top, rest)
    assert effect.estimate == 1
    assert effect.interval.low == pytest.approx((10 - Z2) / (10 + Z2))  # ≈ 0.4449
    assert effect.interval.high == 1
    assert effect.interval.excludes_zero
    mirrored = stats.cliffs_delta(rest, top)
    assert mirrored.estimate == -1
    assert mirrored.interval.low == -1
    assert mirrored.interval.high == pytest.approx(-(10 - Z2) / (10 + Z2))
    # With N = 28, rounding alone would put the formula's upper bound at
    # 0.9999999999999998, leaving the estimate outside its own interval.
    assert stats.cliffs_delta(range(100, 128), range(30)).interval.high == 1


def test_cliffs_delta_all_tied_uses_the_bound():
    # Constant and equal groups: δ = 0, and N = min(3, 2) = 2, i.e. 2 · Wilson(1/2) − 1.
    effect = stats.cliffs_delta([4, 4, 4], [4, 4])
    wilson = stats.wilson_interval(1, 2)
    assert effect.estimate == 0
    assert effect.interval.low == pytest.approx(2 * wilson.low - 1)
    assert effect.interval.high == pytest.approx(2 * wilson.high - 1)


def test_cliffs_delta_with_a_group_of_one():
    # 5 beats 1, 2, 3, 4 and loses to 6, 7: δ = 2/6. One value has no d_i. variance, so
    # s² = (1 − δ²)/min(1, 6) = 8/9, the Birnbaum–Klose bound.
    effect = stats.cliffs_delta([5], [1, 2, 3, 4, 6, 7])
    assert effect.estimate == pytest.approx(1 / 3)
    low, high = feng_cliff(1 / 3, 8 / 9)
    assert effect.interval.low == pytest.approx(low)  # ≈ −0.812
    assert effect.interval.high == pytest.approx(high)  # ≈ 0.949


def test_cliffs_delta_needs_a_value_each():
    assert stats.cliffs_delta([], [1]) is None
    assert stats.cliffs_delta([1], []) is None


def test_cliffs_delta_at_scale():
    # 0..2999 vs 0.5..2999.5: a_i beats i values and loses to 3000 − i, so
    # δ = (Σ i − Σ (3000 − i)) / 3000² = −3000/3000² = −1/3000. Done by sorting, not 9M pairs.
    effect = stats.cliffs_delta(list(range(3000)), [i + 0.5 for i in range(3000)])
    assert effect.estimate == pytest.approx(-1 / 3000)
    assert effect.interval.contains(0)


small_ints = st.lists(st.integers(0, 6), min_size=1, max_size=25)  # many ties
any_floats = st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=25)


@given(a=small_ints | any_floats, b=small_ints | any_floats)
def test_cliffs_delta_properties(a, b):
    forward = stats.cliffs_delta(a, b)
    backward = stats.cliffs_delta(b, a)
    assert forward.estimate == naive_delta(a, b)
    assert backward.estimate == -forward.estimate
    assert backward.interval.low == pytest.approx(-forward.interval.high, abs=1e-9)
    assert backward.interval.high == pytest.approx(-forward.interval.low, abs=1e-9)
    assert forward.interval.contains(forward.estimate)
    assert -1 <= forward.interval.low <= forward.interval.high <= 1


@given(
    a=st.lists(st.floats(-1e4, 1e4), min_size=2, max_size=20),
    b=st.lists(st.floats(-1e4, 1e4), min_size=2, max_size=20),
)
def test_mean_intervals_contain_their_estimates(a, b):
    assert stats.mean_difference(a, b).interval.contains(stats.mean_difference(a, b).estimate)
    effect = stats.cohens_d(a, b)
    if effect is not None:
        assert effect.interval.contains(effect.estimate)


# --- magnitude --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "name"),
    [
        (0.0, "negligible"),
        (0.146, "negligible"),
        (-0.146, "negligible"),
        (0.147, "small"),
        (0.329, "small"),
        (0.33, "medium"),
        (-0.473, "medium"),
        (0.474, "large"),
        (-1.0, "large"),
    ],
)
def test_magnitude(delta, name):
    assert stats.magnitude(delta) == name


def test_magnitude_refuses_impossible_deltas():
    for delta in (1.5, -1.01, math.nan):
        with pytest.raises(ValueError):
            stats.magnitude(delta)


# --- top_quartile -----------------------------------------------------------------------


def test_top_quartile_takes_the_top_quarter():
    scores = {rep: float(rep) for rep in range(1, 9)}  # 8 reps: ⌈8 · 0.25⌉ = 2
    assert stats.top_quartile(scores) == {7, 8}
    assert stats.top_quartile({1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0, 5: 5.0}) == {4, 5}  # ⌈1.25⌉


def test_top_quartile_lets_in_ties_at_the_cut_off():
    scores = {"a": 9, "b": 7, "c": 7, "d": 5, "e": 3, "f": 1, "g": 1, "h": 0}
    assert stats.top_quartile(scores) == {"a", "b", "c"}  # b and c tie for 2nd place


def test_top_quartile_cuts_ties_by_key_when_they_would_swallow_the_rest():
    # The 2nd place ties with everyone below it: letting all in leaves no rest, so two
    # are taken, the smaller key first among the tied.
    scores = {8: 9.0, 5: 5.0, 3: 5.0, 1: 5.0, 2: 5.0, 4: 5.0, 6: 5.0, 7: 5.0}
    assert stats.top_quartile(scores) == {8, 1}


def test_top_quartile_all_equal_is_deterministic():
    assert stats.top_quartile({"d": 5, "b": 5, "a": 5, "c": 5}) == {"a"}
    assert stats.top_quartile({"a": 5, "b": 5, "c": 5, "d": 5}) == {"a"}
    assert stats.top_quartile({2: 1.0, 1: 1.0}) == {1}


def test_top_quartile_needs_someone_to_compare_with():
    assert stats.top_quartile({}) == set()
    assert stats.top_quartile({"only": 10.0}) == set()
    assert stats.top_quartile({"a": 1.0, "b": 2.0}) == {"b"}


def test_top_quartile_fraction():
    scores = {rep: float(rep) for rep in range(30)}
    assert len(stats.top_quartile(scores, fraction=0.1)) == 3
    # 100 × 0.07 is 7.000000000000001 in binary; 7 % of 100 reps is still 7.
    assert len(stats.top_quartile({rep: rep for rep in range(100)}, fraction=0.07)) == 7
    assert len(stats.top_quartile(scores, fraction=0.5)) == 15
    assert len(stats.top_quartile({1: 1.0, 2: 2.0}, fraction=0.9)) == 1  # a rest remains
    for fraction in (0.0, 1.0, 1.5, -0.2):
        with pytest.raises(ValueError):
            stats.top_quartile(scores, fraction=fraction)


@given(
    scores=st.dictionaries(st.integers(0, 50), st.integers(0, 5), max_size=30),
    fraction=st.floats(0.01, 0.99),
)
def test_top_quartile_properties(scores, fraction):
    top = stats.top_quartile(scores, fraction=fraction)
    if len(scores) < 2:
        assert top == set()
        return
    rest = scores.keys() - top
    count = min(max(1, math.ceil(round(len(scores) * fraction, 9))), len(scores) - 1)
    assert top <= scores.keys() and rest
    assert len(top) >= count
    assert min(scores[k] for k in top) >= max(scores[k] for k in rest)
    # Either every tie at the cut-off is in, or the count was cut exactly.
    cut_off = min(scores[k] for k in top)
    assert len(top) == count or all(scores[k] < cut_off for k in rest)


# --- From value counts ------------------------------------------------------------------


@given(a=st.lists(st.integers(0, 6), max_size=25), b=st.lists(st.integers(0, 6), max_size=25))
def test_counts_twins_agree_with_the_value_lists(a, b):
    # median_of_counts and cliffs_delta_counts take value → count; expanded, the same data
    # must give the same answers as the list functions.
    assert stats.median_of_counts(Counter(a)) == stats.median(a)
    from_lists = stats.cliffs_delta(a, b)
    from_counts = stats.cliffs_delta_counts(Counter(a), Counter(b))
    if from_lists is None:
        assert from_counts is None
        return
    assert from_counts.estimate == from_lists.estimate
    assert from_counts.interval.low == pytest.approx(from_lists.interval.low, abs=1e-12)
    assert from_counts.interval.high == pytest.approx(from_lists.interval.high, abs=1e-12)


@pytest.mark.parametrize(
    ("counts", "q", "expected"),
    [
        ({10.0: 1, 20.0: 1, 30.0: 1, 40.0: 1}, 0.25, 10.0),
        ({10.0: 1, 20.0: 1, 30.0: 1, 40.0: 1}, 0.5, 20.0),
        ({10.0: 1, 20.0: 1, 30.0: 1, 40.0: 1}, 1.0, 40.0),
        ({50.0: 3, 90.0: 9}, 0.25, 50.0),  # rank 3 of 12
        ({50.0: 2, 90.0: 10}, 0.25, 90.0),  # rank 3 of 12
        ({5.0: 0, 7.0: 2}, 0.25, 7.0),
        ({}, 0.5, None),
    ],
)
def test_quantile_of_counts_nearest_rank(counts, q, expected):
    assert stats.quantile_of_counts(counts, q) == expected


def test_quantile_refuses_q_outside_the_unit_interval():
    with pytest.raises(ValueError):
        stats.quantile_of_counts({1.0: 1}, 0)
