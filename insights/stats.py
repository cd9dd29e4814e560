"""Statistics for "top performers vs the rest" and before/after comparisons: pure stdlib.

No Django, no database: the selectors hand in plain numbers (one value per rep, or per
deal) and get back estimates with 95 % intervals, so a page can say how sure a
difference is, not only how large.

- Proportions (win rates): `wilson_interval`, and `proportion_difference` with
  Newcombe's hybrid score interval. Both behave at 0/n and n/n, where the Wald
  interval collapses to a point.
- Means: `mean_difference` with a Welch interval (no equal-variance assumption; the
  Student-t quantile is computed here, `t_quantile`), and `cohens_d` (Hedges' g).
- Ranks: `cliffs_delta`, the effect size the study leads with, because per-rep
  behaviour counts are skewed and a few heavy users would dominate a mean;
  `magnitude` names its size.
- `top_quartile` picks the group of top performers from per-rep scores.

Inputs must be finite numbers: a NaN sorts nowhere and would silently corrupt every
rank-based figure, so it is refused with ValueError instead.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

# The 0.975 quantile of the standard normal (statistics.NormalDist().inv_cdf(0.975)):
# two-sided 95 %.
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    """A closed interval [low, high]."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low <= self.high:  # also refuses NaN
            raise ValueError(f"Interval needs low <= high, got [{self.low}, {self.high}].")

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies wholly on one side of 0: the sign is settled."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Difference:
    """A difference between two groups (first minus second), with its 95 % interval."""

    estimate: float
    interval: Interval


@dataclass(frozen=True)
class EffectSize:
    """A standardised effect (first group vs second), its 95 % interval, and which one."""

    estimate: float
    interval: Interval
    method: str


# --- Location ---------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    """The median (the mean of the middle two for an even count); None when empty."""
    if not values:
        return None
    _check_finite(values)
    return float(statistics.median(values))


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean; None when empty."""
    if not values:
        return None
    _check_finite(values)
    return statistics.fmean(values)


# --- Proportions ------------------------------------------------------------------------


def wilson_interval(successes: int, trials: int, *, z: float = Z_95) -> Interval | None:
    """The Wilson score interval for successes/trials (95 % by default).

        centre = (p + z²/2n) / (1 + z²/n)
        half   = z / (1 + z²/n) · √(p(1 − p)/n + z²/4n²)

    None when trials == 0 (nothing to estimate). Refuses (ValueError) successes outside
    0..trials and z <= 0.
    """
    if not 0 <= successes <= trials:
        raise ValueError(f"Need 0 <= successes <= trials, got {successes}/{trials}.")
    if not z > 0:
        raise ValueError(f"z must be positive, got {z}.")
    if trials == 0:
        return None
    n = trials
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At 0/n and n/n the bound is exactly 0 or 1 in theory; rounding would leave 1e-17
    # outside, which a caller testing "low == 0" or clamping a chart would trip on.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low, high)


def proportion_difference(s1: int, n1: int, s2: int, n2: int) -> Difference | None:
    """p1 − p2 = s1/n1 − s2/n2 with Newcombe's hybrid score interval (1998, method 10).

    From the Wilson intervals [l1, u1] of p1 and [l2, u2] of p2:

        low  = (p1 − p2) − √((p1 − l1)² + (u2 − p2)²)
        high = (p1 − p2) + √((u1 − p1)² + (p2 − l2)²)

    Unlike the Wald interval it stays inside [−1, 1] and has a width at 0/n and n/n.
    None if n1 or n2 is 0; ValueError as wilson_interval for impossible counts.
    """
    w1 = wilson_interval(s1, n1)
    w2 = wilson_interval(s2, n2)
    if w1 is None or w2 is None:
        return None
    p1, p2 = s1 / n1, s2 / n2
    d = p1 - p2
    low = d - math.hypot(p1 - w1.low, w2.high - p2)
    high = d + math.hypot(w1.high - p1, p2 - w2.low)
    return Difference(d, Interval(low, high))


# --- Means ------------------------------------------------------------------------------


def mean_difference(a: Sequence[float], b: Sequence[float]) -> Difference | None:
    """mean(a) − mean(b) with a 95 % Welch interval.

        se² = s_a²/n_a + s_b²/n_b            (sample variances, n − 1 denominators)
        df  = se⁴ / ((s_a²/n_a)²/(n_a − 1) + (s_b²/n_b)²/(n_b − 1))   (Welch–Satterthwaite)
        CI  = d ± t(0.975, df) · se

    None unless each group has at least 2 values (no variance otherwise). When both
    variances are 0 the interval is the point [d, d]: there is no spread to be unsure of.
    """
    if len(a) < 2 or len(b) < 2:
        return None
    _check_finite(a)
    _check_finite(b)
    d = statistics.fmean(a) - statistics.fmean(b)
    va = statistics.variance(a) / len(a)
    vb = statistics.variance(b) / len(b)
    se2 = va + vb
    if se2 == 0:
        return Difference(d, Interval(d, d))
    # Written with the shares va/se² and vb/se² (which sum to 1) so that tiny variances
    # cannot underflow to 0/0.
    wa, wb = va / se2, vb / se2
    df = 1 / (wa * wa / (len(a) - 1) + wb * wb / (len(b) - 1))
    half = t_quantile(0.975, df=df) * math.sqrt(se2)
    return Difference(d, Interval(d - half, d + half))


def cohens_d(a: Sequence[float], b: Sequence[float]) -> EffectSize | None:
    """Hedges' g: Cohen's d on the pooled SD, corrected for small samples; 95 % interval.

        s_p² = ((n1 − 1)s1² + (n2 − 1)s2²) / (n1 + n2 − 2)
        d    = (mean(a) − mean(b)) / s_p
        g    = J · d,  J = Γ(ν/2) / (√(ν/2) · Γ((ν − 1)/2)),  ν = n1 + n2 − 2
               (Hedges 1981's exact factor; ≈ 1 − 3/(4ν − 1))
        var  = (n1 + n2)/(n1 n2) + g²/(2(n1 + n2))     (large-sample)
        CI   = g ± z · √var

    None if either group has fewer than 2 values or the pooled SD is 0 (no unit to
    standardise by).
    """
    n1, n2 = len(a), len(b)
    if n1 < 2 or n2 < 2:
        return None
    _check_finite(a)
    _check_finite(b)
    nu = n1 + n2 - 2
    pooled_var = ((n1 - 1) * statistics.variance(a) + (n2 - 1) * statistics.variance(b)) / nu
    if pooled_var == 0:
        return None
    d = (statistics.fmean(a) - statistics.fmean(b)) / math.sqrt(pooled_var)
    j = math.exp(math.lgamma(nu / 2) - math.lgamma((nu - 1) / 2)) / math.sqrt(nu / 2)
    g = j * d
    half = Z_95 * math.sqrt((n1 + n2) / (n1 * n2) + g * g / (2 * (n1 + n2)))
    return EffectSize(g, Interval(g - half, g + half), "Hedges' g")


# --- Ranks ------------------------------------------------------------------------------


def cliffs_delta(a: Sequence[float], b: Sequence[float]) -> EffectSize | None:
    """Cliff's delta δ = P(A > B) − P(A < B) over all n·m pairs (ties count 0), 95 % CI.

    With d_ij = sign(a_i − b_j), d_i. = mean over j of d_ij, d.j = mean over i:

        δ     = Σ d_ij / (n m)
        s_i.² = Σ_i (d_i. − δ)² / (n − 1)
        s_.j² = Σ_j (d.j − δ)² / (m − 1)
        s_ij² = Σ_ij (d_ij − δ)² / ((n − 1)(m − 1))
        s²    = ((m − 1) s_i.² + (n − 1) s_.j² + s_ij²) / (n m)   (Cliff 1993, consistent)

    and the asymmetric interval of Cliff (1996) / Feng & Cliff (2004), clamped to [−1, 1]:

        CI = (δ − δ³ ± z s √((1 − δ²)² + z² s²)) / (1 − δ² + z² s²)

    Dividing through by (1 − δ²) shows it is the Wilson score interval of
    p = (1 + δ)/2 with an effective sample size N = (1 − δ²)/s²:

        CI = (δ ± z √(1/N) √(1 − δ² + z²/N)) / (1 + z²/N)

    which is the form computed, as it stays defined at δ = ±1.

    Where s² is not usable — a group of one value (the d_i./d.j variances need two), or
    every pair compared the same way (groups fully separated, or all tied), where s² is 0
    by construction rather than by evidence — N = min(n, m). That is Birnbaum & Klose's
    (1957) bound on the variance of the Mann–Whitney statistic, s² ≤ (1 − δ²)/min(n, m),
    so the interval errs on the wide side: fully separated groups of 10 and 10 give
    δ = 1 with CI [(10 − z²)/(10 + z²), 1] ≈ [0.445, 1], not the point [1, 1].

    Computed from the value counts (`cliffs_delta_counts`): sorting and bisection make it
    O((n + m) log(n + m)). None unless both groups have a value.
    """
    _check_finite(a)
    _check_finite(b)
    return cliffs_delta_counts(Counter(a), Counter(b))


def magnitude(delta: float) -> str:
    """Name the size of a Cliff's delta by the thresholds of Romano et al. (2006):
    |δ| < 0.147 negligible, < 0.33 small, < 0.474 medium, else large."""
    if not -1 <= delta <= 1:  # also refuses NaN
        raise ValueError(f"Cliff's delta lies in [-1, 1], got {delta}.")
    size = abs(delta)
    if size < 0.147:
        return "negligible"
    if size < 0.33:
        return "small"
    if size < 0.474:
        return "medium"
    return "large"


# --- Groups -----------------------------------------------------------------------------


class _Orderable(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Orderable)


def top_quartile(scores: Mapping[K, float], *, fraction: float = 0.25) -> set[K]:
    """The keys of the top `fraction` of `scores` (the top performers); the rest is the
    comparison group.

    The top group has max(1, ⌈len · fraction⌉) keys, at most len − 1 so that the rest is
    never empty. Keys tied with the last one in are all let in, unless that would leave no
    rest (the cut-off score is everyone's lowest); then exactly that many are taken,
    highest scores first and, among equal scores, smallest keys first — so the answer
    never depends on the order the mapping was built in.

    Fewer than 2 keys: an empty set, since one rep cannot be compared with "the rest".
    Refuses (ValueError) a fraction outside (0, 1) and non-finite scores.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}.")
    _check_finite(list(scores.values()))
    total = len(scores)
    if total < 2:
        return set()
    # Rounded first: 100 × 0.07 is 7.000000000000001 in binary, and 7 % of 100 reps is 7.
    count = min(max(1, math.ceil(round(total * fraction, 9))), total - 1)
    ranked = sorted(scores, key=lambda key: (-scores[key], key))
    cut_off = scores[ranked[count - 1]]
    with_ties = {key for key in ranked if scores[key] >= cut_off}
    if len(with_ties) < total:
        return with_ties
    return set(ranked[:count])


# --- Student's t ------------------------------------------------------------------------


def t_quantile(p: float, *, df: float) -> float:
    """The p-quantile of Student's t with df (> 0, may be fractional or math.inf) degrees
    of freedom, e.g. t_quantile(0.975, df=5) = 2.5706. Accurate to about 1e-11.

    Up to df = 10,000: bisection, down to adjacent floats, on the upper tail
    P(T > t) = ½ · I_x(df/2, ½) at x = df/(df + t²), with the regularised incomplete beta
    function I evaluated by its continued fraction (modified Lentz). Above that, x is so
    close to 1 that the fraction loses digits (at df = 1e12 it is wrong in the 6th), while
    the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5) to 1/df⁴,

        t = z + g1/df + g2/df² + g3/df³ + g4/df⁴,   z the normal quantile,
        g1 = (z³ + z)/4                       g2 = (5z⁵ + 16z³ + 3z)/96
        g3 = (3z⁷ + 19z⁵ + 17z³ − 15z)/384    g4 = (79z⁹ + 776z⁷ + 1482z⁵ − 1920z³ − 945z)/92160

    is exact to rounding there.
    """
    if not 0 < p < 1:
        raise ValueError(f"p must be between 0 and 1, got {p}.")
    if not df > 0:
        raise ValueError(f"df must be positive, got {df}.")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1 - p, df=df)
    z = statistics.NormalDist().inv_cdf(p)
    if df > _T_EXPANSION_FROM_DF:
        g1 = (z**3 + z) / 4
        g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
        g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
        g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
        u = 1 / df  # 0 for math.inf: the normal quantile
        return z + u * (g1 + u * (g2 + u * (g3 + u * g4)))
    tail = 1 - p
    low, high = 0.0, max(1.0, z)
    while _t_upper_tail(high, df) > tail:
        low, high = high, 2 * high
        if high > 1e150:  # t² would overflow: only for df far below 1 (Welch's is >= 1)
            raise OverflowError(f"The {p} quantile of t with df={df} is beyond floats.")
    while True:
        middle = (low + high) / 2
        if middle in (low, high):  # the bracket is down to adjacent floats
            return middle
        if _t_upper_tail(middle, df) > tail:
            low = middle
        else:
            high = middle


_T_EXPANSION_FROM_DF = 10_000


def _t_upper_tail(t: float, df: float) -> float:
    """P(T > t) for t >= 0, that is ½ · I_x(a, ½) with a = df/2 and x = df/(df + t²)."""
    t2 = t * t
    if t2 == 0:
        return 0.5
    a, b = df / 2, 0.5
    x = df / (df + t2)
    # 1 − x and log x straight from t² and df: from x itself they would lose the digits
    # that x shares with 1.
    y = t2 / (df + t2)
    log_front = (
        math.lgamma(a + b)
        - math.lgamma(a)
        - math.lgamma(b)
        - a * math.log1p(t2 / df)
        + b * math.log(y)
    )
    front = math.exp(log_front)
    # The continued fraction converges fast only below the mean of the beta; above it,
    # I_x(a, b) = 1 − I_{1−x}(b, a).
    if x < (a + 1) / (a + b + 2):
        return 0.5 * front * _beta_continued_fraction(x, a, b) / a
    return 0.5 * (1 - front * _beta_continued_fraction(y, b, a) / b)


_TINY = 1e-300


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    def guard(v: float) -> float:
        return v if abs(v) >= _TINY else _TINY

    c = 1.0
    d = 1 / guard(1 - (a + b) * x / (a + 1))
    h = d
    for i in range(1, 100_000):
        # Even step, then odd step, of the fraction's terms.
        numerator = i * (b - i) * x / ((a + 2 * i - 1) * (a + 2 * i))
        d = 1 / guard(1 + numerator * d)
        c = guard(1 + numerator / c)
        h *= d * c
        numerator = -(a + i) * (a + b + i) * x / ((a + 2 * i) * (a + 2 * i + 1))
        d = 1 / guard(1 + numerator * d)
        c = guard(1 + numerator / c)
        step = d * c
        h *= step
        if abs(step - 1) < 1e-15:
            return h
    raise ArithmeticError(f"Incomplete beta did not converge for x={x}, a={a}, b={b}.")


def _check_finite(values: Sequence[float]) -> None:
    if not all(math.isfinite(v) for v in values):
        raise ValueError("Values must be finite numbers (no NaN or infinity).")


# --- From value counts ------------------------------------------------------------------


def median_of_counts(counts: Mapping[float, int]) -> float | None:
    """The median of the values each repeated its count of times (zero counts ignored);
    None when there is none. The mean of the two middle values for an even total."""
    total = sum(n for n in counts.values() if n > 0)
    if total == 0:
        return None
    ordered = sorted((v, n) for v, n in counts.items() if n > 0)

    def at(index: int) -> float:  # the value at a 0-based position of the sorted values
        seen = 0
        for value, n in ordered:
            seen += n
            if index < seen:
                return value
        return ordered[-1][0]

    if total % 2:
        return at(total // 2)
    return (at(total // 2 - 1) + at(total // 2)) / 2


def quantile_of_counts(counts: Mapping[float, int], q: float) -> float | None:
    """The nearest-rank `q`-quantile (0 < q ≤ 1) of values repeated their count of times:
    the smallest value with at least ⌈q·n⌉ values at or below it. None when empty."""
    if not 0 < q <= 1:
        raise ValueError(f"q must lie in (0, 1], got {q}.")
    total = sum(n for n in counts.values() if n > 0)
    if total == 0:
        return None
    rank = max(1, math.ceil(round(q * total, 9)))
    seen = 0
    for value, n in sorted((v, n) for v, n in counts.items() if n > 0):
        seen += n
        if seen >= rank:
            return value
    raise AssertionError("unreachable: the ranks add up to the total")


def cliffs_delta_counts(a: Mapping[float, int], b: Mapping[float, int]) -> EffectSize | None:
    """`cliffs_delta` of two samples given as value → count, with the same estimator and
    interval, in O(k log k) for k distinct values — the study compares the distributions
    of hundreds of thousands of deals that take few distinct values (0/1, levels, counts).
    For 0/1 values δ is the difference of the two shares."""
    a = {float(v): n for v, n in a.items() if n > 0}
    b = {float(v): n for v, n in b.items() if n > 0}
    n, m = sum(a.values()), sum(b.values())
    if n == 0 or m == 0:
        return None
    _check_finite(list(a))
    _check_finite(list(b))
    b_values, a_values = sorted(b), sorted(a)
    b_cum, a_cum = [0], [0]
    for value in b_values:
        b_cum.append(b_cum[-1] + b[value])
    for value in a_values:
        a_cum.append(a_cum[-1] + a[value])

    def b_below(x: float) -> int:
        return b_cum[bisect_left(b_values, x)]

    def b_above(x: float) -> int:
        return m - b_cum[bisect_right(b_values, x)]

    def a_below(y: float) -> int:
        return a_cum[bisect_left(a_values, y)]

    def a_above(y: float) -> int:
        return n - a_cum[bisect_right(a_values, y)]

    wins = sum(count * b_below(x) for x, count in a.items())
    losses = sum(count * b_above(x) for x, count in a.items())
    ties = n * m - wins - losses
    delta = (wins - losses) / (n * m)
    if n == 1 or m == 1 or max(wins, losses, ties) == n * m:
        effective_n = float(min(n, m))
    else:
        s_rows = math.fsum(
            count * ((b_below(x) - b_above(x)) / m - delta) ** 2 for x, count in a.items()
        ) / (n - 1)
        s_cols = math.fsum(
            count * ((a_above(y) - a_below(y)) / n - delta) ** 2 for y, count in b.items()
        ) / (m - 1)
        s_pairs = math.fsum(
            (wins * (1 - delta) ** 2, ties * delta**2, losses * (1 + delta) ** 2)
        ) / ((n - 1) * (m - 1))
        s2 = ((m - 1) * s_rows + (n - 1) * s_cols + s_pairs) / (n * m)
        effective_n = (1 - delta * delta) / s2 if s2 > 0 else float(min(n, m))
    k = Z_95 * Z_95 / effective_n
    half = math.sqrt(k) * math.sqrt(1 - delta * delta + k)
    low = max(-1.0, (delta - half) / (1 + k))
    high = min(1.0, (delta + half) / (1 + k))
    return EffectSize(delta, Interval(min(low, delta), max(high, delta)), "Cliff's delta")
