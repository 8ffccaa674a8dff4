"""The paired drop test of one cell (ood_fixtures/stats/paired.py), pinned against library implementations and exact
enumeration."""

import math

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.power import NormalIndPower

from ood_fixtures.stats import paired


def trinomial(n, p_worse, p_better):
    """Every (worse, better) table of n pairs with its probability."""
    worse, better = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = worse + better <= n
    worse, better = worse[keep], better[keep]
    probability = stats.multinomial.pmf(np.stack([worse, better, n - worse - better], axis=1), n,
                                        [p_worse, p_better, 1 - p_worse - p_better])  # fmt: skip
    return worse, better, probability


def test_at_margin_zero_tango_is_mcnemars_score_statistic():
    for worse, better in [(10, 3), (3, 10), (25, 25), (40, 1)]:
        z = float(paired.tango_statistic(worse, better, 200, 0.0))
        chi2 = mcnemar([[100, worse], [better, 100 - worse - better]], exact=False, correction=False).statistic
        assert z * z == pytest.approx(chi2, rel=1e-9) and math.copysign(1, z) == math.copysign(1, worse - better)


def test_tango_variance_uses_the_constrained_maximum_likelihood():
    """The closed form equals a numerical maximisation of the multinomial likelihood under drop = margin."""
    for worse, better, n, margin in [(12, 4, 100, 0.02), (30, 10, 400, 0.05), (2, 0, 50, 0.02)]:

        def negative_log_likelihood(p_better):
            p_worse = p_better + margin
            rest = n - worse - better
            return -(worse * math.log(p_worse) + better * math.log(p_better) + rest * math.log(1 - p_worse - p_better))

        top = (1 - margin) / 2 - 1e-9
        best = optimize.minimize_scalar(negative_log_likelihood, bounds=(1e-12, top), method="bounded",
                                        options={"xatol": 1e-12}).x  # fmt: skip
        expected = (worse - better - n * margin) / math.sqrt(n * (2 * best + margin * (1 - margin)))
        assert float(paired.tango_statistic(worse, better, n, margin)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("n", [30, 60])
@pytest.mark.parametrize("level", [0.05, 0.001])
def test_the_exact_p_value_never_rejects_more_often_than_its_level_at_the_null_boundary(n, level):
    """Size by enumeration: every table's exact p-value, then the probability of rejection for true drops of
    exactly the margin, over better-rates from none to many."""
    margin = 0.02
    worse, better, _ = trinomial(n, margin, 0.0)
    p_values = np.array([paired.drop_p_value(int(w), int(b), n, margin) for w, b in zip(worse, better)])
    for p_better in (0.0, 0.003, 0.01, 0.05, 0.2, 0.45):
        _, _, probability = trinomial(n, p_better + margin, p_better)
        assert probability[p_values < level].sum() <= level * (1 + 1e-6)


def test_the_asymptotic_p_value_would_exceed_its_level_with_few_discordant_pairs():
    """Why the p-value is exact: with 400 pairs, a better-rate of 0.5% and a true drop of exactly the margin, the
    normal tail rejects at 1e-3 about twice as often as it should."""
    n, margin, level = 400, 0.02, 1e-3
    worse, better, probability = trinomial(n, 0.005 + margin, 0.005)
    asymptotic = stats.norm.sf(paired.tango_statistic(worse, better, n, margin))
    assert probability[asymptotic < level].sum() > 1.5 * level


def test_p_value_orders_drops_and_is_one_when_nothing_dropped():
    assert paired.drop_p_value(0, 0, 100, 0.02) == 1.0
    assert paired.drop_p_value(20, 5, 100, 0.02) < paired.drop_p_value(15, 5, 100, 0.02) < 0.05
    assert paired.drop_p_value(3, 1, 100, 0.02) > 0.3  # a 2-point drop is within a 2-point margin


def test_change_interval_inverts_the_statistic():
    low, high = paired.change_interval(20, 5, 100)
    assert low < -0.15 < high < 0
    z = stats.norm.ppf(0.975)
    assert float(paired.tango_statistic(20, 5, 100, -high)) == pytest.approx(z, abs=1e-6)
    assert float(paired.tango_statistic(20, 5, 100, -low)) == pytest.approx(-z, abs=1e-6)


def test_exact_mcnemar_matches_scipy():
    for worse in range(0, 40, 3):
        for better in range(0, 40, 5):
            if worse + better:
                expected = stats.binomtest(worse, worse + better, 0.5, alternative="greater").pvalue
                assert paired.mcnemar_exact(worse, better) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("better_rate, level", [(0.0, 1e-4), (0.06, 1e-4), (0.15, 0.01)])
def test_samples_to_detect_matches_statsmodels_power_solver(better_rate, level):
    drop, margin = 0.10, 0.02
    spread = math.sqrt(2 * better_rate + drop - drop * drop)
    expected = NormalIndPower().solve_power(effect_size=(drop - margin) / spread, alpha=level, power=paired.POWER,
                                            ratio=0, alternative="larger")  # fmt: skip
    assert paired.samples_to_detect(drop, better_rate, margin, level) == math.ceil(expected)


def test_detectable_drop_has_the_stated_power():
    """At the detectable drop, the test rejects with about 80% probability (enumerated, asymptotic region)."""
    n, margin, level, better_rate = 200, 0.02, 0.005, 0.05
    drop = paired.detectable_drop(n, better_rate, margin, level)
    worse, better, probability = trinomial(n, better_rate + drop, better_rate)
    power = probability[stats.norm.sf(paired.tango_statistic(worse, better, n, margin)) < level].sum()
    assert 0.75 < power < 0.85
    assert paired.detectable_drop(n, better_rate, margin, level, room=drop / 2) is None  # cannot lose that much
