"""Accuracy and its uncertainty for one cell."""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import binomtest

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
    interval = binomtest(correct, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Accuracy(n, correct, float(interval.low), float(interval.high))


def retained(value: float, reference: float | None) -> float | None:
    """The share of the reference cell's accuracy kept under the shift (None without a usable reference)."""
    if reference is None or reference <= 0:
        return None
    return value / reference
