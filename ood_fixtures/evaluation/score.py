"""Scores one cell from its answers: accuracy with its interval, retained share of the reference, calibration,
and the gate's verdict (limits and the baseline comparison)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ood_fixtures.catalog.cells import Cell
from ood_fixtures.evaluation.predict import SampleResult
from ood_fixtures.gating.verdict import Verdict, decide
from ood_fixtures.gating.baseline import Baseline
from ood_fixtures.stats import metrics


@dataclass(frozen=True)
class CellResult:
    cell: Cell
    accuracy: metrics.Accuracy
    macro_accuracy: float
    retained: float | None
    unparsed: int
    ece: float | None  # these two only when the model gives scores
    auroc: float | None
    verdict: Verdict
    samples: tuple[SampleResult, ...]
    examples: tuple[tuple[SampleResult, np.ndarray], ...]  # a few samples with their images, for the HTML report

    @property
    def id(self) -> str:
        return self.cell.id

    def to_dict(self) -> dict[str, Any]:
        """The results.json form of the cell (see docs/architecture.md for the schema)."""
        c = self.cell
        return {
            "id": c.id, "family": c.family, "scenario": c.scenario, "shift": c.shift, "severity": c.severity,
            "reference": c.reference.id if c.reference else None,
            "n": self.accuracy.n, "correct": self.accuracy.correct, "accuracy": self.accuracy.value,
            "ci_low": self.accuracy.ci_low, "ci_high": self.accuracy.ci_high,
            "macro_accuracy": self.macro_accuracy, "retained": self.retained, "unparsed": self.unparsed,
            "ece": self.ece, "auroc": self.auroc, "gate": self.verdict.to_dict(),
            "samples": [s.to_dict() for s in self.samples],
        }  # fmt: skip


@dataclass(frozen=True)
class Gating:
    """How a cell is judged: its threshold limits, and the baseline to compare with, if any, at `level` (the
    cell's share of the run's error rate, ood_fixtures/gating/release.py)."""

    limits: dict[str, float]
    baseline: Baseline | None = None
    tolerance: float = 0.02
    strict: bool = False
    level: float = 0.05


def score(
    cell: Cell,
    samples: list[SampleResult],
    examples: list[tuple[SampleResult, np.ndarray]],
    reference_accuracy: float | None,
    gating: Gating,
) -> CellResult:
    correct = [s.correct for s in samples]
    acc = metrics.accuracy(sum(correct), len(samples))
    kept = metrics.retained(acc.value, reference_accuracy)
    unparsed = sum(s.prediction is None for s in samples)
    scored = all(s.confidence is not None for s in samples)
    confidence = [s.confidence or 0.0 for s in samples]
    ece = metrics.expected_calibration_error(confidence, correct) if scored else None
    auroc = metrics.confidence_auroc(confidence, correct) if scored else None
    comparison = (
        gating.baseline.compare(cell.id, [(s.sample_id, s.correct) for s in samples], gating.tolerance, gating.level)
        if gating.baseline
        else None
    )
    measures = {"accuracy": acc.value, "ci_low": acc.ci_low, "ci_high": acc.ci_high, "n": acc.n, "retained": kept,
                "unparsed": unparsed, "unparsed_share": unparsed / acc.n, "ece": ece}  # fmt: skip
    verdict = decide("cell", gating.limits, measures, comparison, gating.strict)
    macro = metrics.macro_accuracy([s.label for s in samples], correct)
    return CellResult(cell, acc, macro, kept, unparsed, ece, auroc, verdict, tuple(samples), tuple(examples))
