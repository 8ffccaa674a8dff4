"""The closed forms in ood_fixtures.stats.metrics agree with scipy.stats, which they stand in for."""

import numpy as np
import pytest
from scipy.stats import binomtest, mannwhitneyu

from ood_fixtures.stats import metrics


@pytest.mark.parametrize("n", [1, 7, 100, 1000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_interval_matches_scipy(n, confidence):
    for correct in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        ours = metrics.accuracy(correct, n, confidence)
        theirs = binomtest(correct, n).proportion_ci(confidence_level=confidence, method="wilson")
        assert (ours.ci_low, ours.ci_high) == pytest.approx((theirs.low, theirs.high), abs=1e-12)


def test_auroc_matches_mann_whitney_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(50):
        size = int(rng.integers(2, 60))
        confidence = rng.integers(0, 6, size) / 5  # few distinct values: many ties
        correct = rng.random(size) < 0.6
        if correct.all() or not correct.any():
            continue
        u = mannwhitneyu(confidence[correct], confidence[~correct], alternative="two-sided").statistic
        expected = u / (correct.sum() * (~correct).sum())
        assert metrics.confidence_auroc(confidence, correct) == pytest.approx(expected, abs=1e-12)


def test_an_empty_cell_has_no_accuracy():
    with pytest.raises(ValueError):
        metrics.accuracy(0, 0)


