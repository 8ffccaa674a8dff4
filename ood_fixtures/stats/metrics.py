"""Per-cell statistics: accuracy with its uncertainty, macro accuracy, calibration, and ImageNet-C's error.

The Wilson interval and the Mann-Whitney AUROC are closed forms written here rather than scipy.stats calls:
importing scipy.stats costs about 0.6 s, paid by every xdist worker of every run, and on a fully cached rerun
that was the largest cost left. tests/test_metrics.py checks both against scipy.stats.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Sequence

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Accuracy:
    n: int
    correct: int
    ci_low: float
    ci_high: float

    @property
    def value(self) -> float:
        return self.correct / self.n


def accuracy(correct: int, n: int, confidence: float = CONFIDENCE) -> Accuracy:
    """Accuracy with its Wilson score interval (well behaved near 0 and 1, unlike the normal approximation)."""
    if n < 1:
        raise ValueError("accuracy of an empty cell")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Accuracy(n, correct, float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def retained(value: float, reference: float | None) -> float | None:
    """The share of the reference cell's accuracy kept under the shift (None without a usable reference)."""
    if reference is None or reference <= 0:
        return None
    return value / reference


def macro_accuracy(labels: Sequence[str], correct: Sequence[bool]) -> float:
    """Mean of per-class accuracies: a class-imbalanced cell cannot hide a failing class behind a frequent one."""
    per_class: dict[str, list[bool]] = {}
    for label, ok in zip(labels, correct):
        per_class.setdefault(label, []).append(ok)
    return float(np.mean([np.mean(v) for v in per_class.values()]))


def expected_calibration_error(confidence: Sequence[float], correct: Sequence[bool], bins: int = 15) -> float:
    """ECE with equal-width confidence bins (Guo et al. 2017): sum over bins of |accuracy - confidence|,
    weighted by the share of samples in the bin."""
    conf = np.asarray(confidence, dtype=float)
    hits = np.asarray(correct, dtype=float)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(which):
        members = which == b
        total += members.mean() * abs(hits[members].mean() - conf[members].mean())
    return float(total)


def confidence_auroc(confidence: Sequence[float], correct: Sequence[bool]) -> float | None:
    """How well confidence separates right from wrong answers (0.5 = not at all); None if all are one kind.

    The Mann-Whitney U statistic divided by the number of (right, wrong) pairs is the AUROC, ties counted half.
    """
    conf = np.asarray(confidence, dtype=float)
    hits = np.asarray(correct, dtype=bool)
    if hits.all() or not hits.any():
        return None
    _, group, counts = np.unique(conf, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[group]  # 1-based ranks, ties given their mean rank
    right, wrong = int(hits.sum()), int((~hits).sum())
    u = ranks[hits].sum() - right * (right + 1) / 2
    return float(u / (right * wrong))


def corruption_error(errors: Sequence[float], baseline_errors: Sequence[float]) -> float | None:
    """ImageNet-C's CE: the model's summed error over severities over the baseline's (None if the baseline
    made no error: the ratio is undefined)."""
    denominator = float(np.sum(baseline_errors))
    return float(np.sum(errors)) / denominator if denominator > 0 else None
