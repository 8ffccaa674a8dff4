"""Paired-sample statistics of one cell against its baseline: did accuracy drop by more than the tolerance?

Both runs answer the same images, so a cell is n pairs of outcomes; only the discordant pairs carry
information: `worse` (right in the baseline, wrong now) and `better` (the reverse). The drop is
(worse - better) / n. The question a release gate asks is "did accuracy drop by more than the tolerance?", so
the null hypothesis is drop <= tolerance and a cell fails only when the data reject it (a non-inferiority test),
not when they merely reject "no change" (McNemar), which a true drop inside the tolerance does by chance.

- The statistic is Tango's score statistic for the difference of paired proportions (Tango 1998, Statistics in
  Medicine 17:891-908), the standard one for matched-pair non-inferiority.
- Its p-value is exact and unconditional: the largest tail probability over the nuisance parameter (the rate of
  `better` pairs) on the null's boundary, enumerating every (worse, better) table. The asymptotic normal tail
  understates p by up to 3.5x at the levels a run-wide correction asks for (1e-4) when few pairs are
  discordant (tests/test_paired.py measures both by enumeration); above EXACT_LIMIT pairs the normal tail is used.
- The interval is Tango's score interval (inverting the statistic), the power figures a normal approximation.

Written with numpy and the standard library rather than scipy or statsmodels: statsmodels 0.15 has no paired
difference test with a margin, and importing scipy.stats or statsmodels costs 0.6-2 s in every xdist worker;
tests/test_paired.py checks the statistic against McNemar's (statsmodels) and a numerical maximum likelihood
(scipy), and the power figures against statsmodels' solver.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

import numpy as np

EXACT_LIMIT = 1000  # pairs: above this, enumerating every table (n^2 / 2 of them, per nuisance value) costs seconds
NUISANCE_GRID = 60  # better-rates tried for the exact p-value's maximum: 0 and a geometric grid up to the largest
POWER = 0.8  # the power at which a cell's detectable drop is stated
_NORMAL = NormalDist()


def tango_statistic(worse, better, n: int, margin: float):
    """Tango's score z for H0: drop <= margin against H1: drop > margin (large z: evidence of a larger drop).

    The variance is taken at the constrained maximum-likelihood estimate of the better-rate under drop = margin
    (closed form, Tango 1998 eq. 4). Works elementwise on arrays of (worse, better); z = 0 where the variance is 0
    (no discordant pair and margin 0), where the data say nothing.
    """
    worse = np.asarray(worse, dtype=float)
    better = np.asarray(better, dtype=float)
    a = 2.0 * n
    b = -worse - better + (2.0 * n - worse + better) * margin
    c = -better * margin * (1.0 - margin)
    better_rate = (np.sqrt(np.maximum(b * b - 4.0 * a * c, 0.0)) - b) / (2.0 * a)
    variance = n * (2.0 * better_rate + margin * (1.0 - margin))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (worse - better - n * margin) / np.sqrt(variance)
    return np.where(variance > 0, z, 0.0)


@lru_cache(maxsize=65536)  # a run repeats tables: most cells have few discordant pairs
def drop_p_value(worse: int, better: int, n: int, margin: float) -> float:
    """One-sided p-value of H0: drop <= margin; exact (unconditional) up to EXACT_LIMIT pairs."""
    observed = float(tango_statistic(worse, better, n, margin))
    if n > EXACT_LIMIT:
        return _NORMAL.cdf(-observed)
    return _exact_p_value(observed, n, round(margin, 12))


def _exact_p_value(observed: float, n: int, margin: float) -> float:
    """max over the better-rate r of P(T >= observed) under (worse-rate r + margin, better-rate r)."""
    worse, better, log_multinomial, statistic = _tables(n, margin)
    extreme = statistic >= observed - 1e-9  # ties belong to the tail
    if not extreme.any():
        return 0.0
    worse, better, log_multinomial = worse[extreme], better[extreme], log_multinomial[extreme]
    rest = n - worse - better
    largest = 0.0
    for rate in _nuisance_grid(margin):
        p_worse, p_better = rate + margin, rate
        log_p = (log_multinomial + _log_power(worse, p_worse) + _log_power(better, p_better)
                 + _log_power(rest, 1.0 - p_worse - p_better))  # fmt: skip
        largest = max(largest, float(np.exp(log_p).sum()))
    return min(1.0, largest)


def _log_power(count: np.ndarray, p: float) -> np.ndarray:
    """count * log(p), with 0^0 = 1 (a rate of 0 allows only a count of 0)."""
    if p > 0:
        return count * math.log(p)
    return np.where(count > 0, -np.inf, 0.0)


@lru_cache(maxsize=8)
def _tables(n: int, margin: float):
    """Every (worse, better) table of n pairs, its multinomial log-coefficient and its statistic."""
    better, discordant = np.triu_indices(n + 1)  # each better <= discordant <= n once
    worse = discordant - better
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    rest = n - worse - better
    log_multinomial = log_factorial[n] - log_factorial[worse] - log_factorial[better] - log_factorial[rest]
    return worse, better, log_multinomial, tango_statistic(worse, better, n, margin)


def _nuisance_grid(margin: float) -> np.ndarray:
    top = (1.0 - margin) / 2  # worse-rate + better-rate <= 1
    return np.concatenate([[0.0], np.geomspace(1e-4, top * (1 - 1e-9), NUISANCE_GRID - 1)])


def mcnemar_exact(more: int, fewer: int) -> float:
    """Exact one-sided McNemar test: P(at least `more` of the more + fewer discordant pairs go that way | no
    change). The binomial tail summed exactly rather than scipy.stats.binomtest, for the import cost above."""
    changed = more + fewer
    if changed == 0:
        return 1.0
    return min(1.0, sum(math.comb(changed, k) for k in range(more, changed + 1)) / 2**changed)


def change_interval(worse: int, better: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Tango's score interval for the change in accuracy (now minus baseline, = -drop)."""
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)
    low_drop = _solve(lambda d: _statistic(worse, better, n, d) - z)
    high_drop = _solve(lambda d: _statistic(worse, better, n, d) + z)
    return -high_drop, -low_drop


def _statistic(worse: int, better: int, n: int, margin: float) -> float:
    """tango_statistic for one table, in plain floats (the interval's bisection calls it 120 times)."""
    a = 2.0 * n
    b = -worse - better + (2.0 * n - worse + better) * margin
    c = -better * margin * (1.0 - margin)
    variance = n * (2.0 * (math.sqrt(max(b * b - 4.0 * a * c, 0.0)) - b) / (2.0 * a) + margin * (1.0 - margin))
    return (worse - better - n * margin) / math.sqrt(variance) if variance > 0 else 0.0


def _solve(f, low: float = -1.0, high: float = 1.0, steps: int = 60) -> float:
    """The root of a decreasing f on [low, high] by bisection (clipped to the ends)."""
    low, high = low + 1e-12, high - 1e-12
    if f(low) <= 0:
        return low
    if f(high) >= 0:
        return high
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (middle, high) if f(middle) > 0 else (low, middle)
    return (low + high) / 2


def _power(drop: float, better_rate: float, n: int, margin: float, level: float) -> float:
    """Normal-approximation power of the drop test when the true drop is `drop`."""
    spread = math.sqrt(max(2 * better_rate + drop - drop * drop, 1e-12))
    return _NORMAL.cdf((drop - margin) * math.sqrt(n) / spread - _NORMAL.inv_cdf(1 - level))


def detectable_drop(n: int, better_rate: float, margin: float, level: float, room: float = 1.0) -> float | None:
    """The smallest true drop the test detects with POWER at `level`, for a candidate that also gets
    `better_rate` of the samples newly right (the churn this pair shows); None when no drop up to `room` (the
    baseline's accuracy: a cell cannot lose more than it has) is detectable."""
    top = min(room, 1.0 - 2 * better_rate)
    if top <= margin or _power(top, better_rate, n, margin, level) < POWER:
        return None
    return _solve(lambda d: POWER - _power(d, better_rate, n, margin, level), margin, top)


def samples_to_detect(drop: float, better_rate: float, margin: float, level: float) -> int | None:
    """Pairs needed to detect a true `drop` with POWER at `level` (normal approximation); None if drop <= margin."""
    if drop <= margin:
        return None
    spread = math.sqrt(2 * better_rate + drop - drop * drop)
    z = _NORMAL.inv_cdf(1 - level) + _NORMAL.inv_cdf(POWER)
    return math.ceil((z * spread / (drop - margin)) ** 2)


def samples_to_decide(worse: int, better: int, n: int, margin: float, level: float) -> int | None:
    """Pairs at which the observed rates would reject at `level` (as many worse and better pairs per sample);
    None when the observed drop is within the margin."""
    drop = (worse - better) / n
    if drop <= margin:
        return None
    spread = math.sqrt(max((worse + better) / n - drop * drop, 1e-12))
    return math.ceil((_NORMAL.inv_cdf(1 - level) * spread / (drop - margin)) ** 2)
