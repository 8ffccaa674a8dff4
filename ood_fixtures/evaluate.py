"""Runs one cell through a model: render its images, ask the model, score the answers, apply the gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ood_fixtures import gate, metrics
from ood_fixtures.adapters import Adapter
from ood_fixtures.scenarios import Cell

EXAMPLES_PER_CELL = 4


@dataclass(frozen=True)
class SampleResult:
    sample_id: str
    label: str
    prediction: str | None
    text: str | None
    confidence: float | None  # the score of the predicted label, when the model gives scores

    @property
    def correct(self) -> bool:
        return self.prediction == self.label

    def to_dict(self) -> dict[str, Any]:
        row = {"sample_id": self.sample_id, "label": self.label, "prediction": self.prediction,
               "correct": self.correct}  # fmt: skip
        if self.confidence is not None:
            row["confidence"] = round(self.confidence, 6)
        if self.text is not None:
            row["text"] = self.text
        return row


@dataclass(frozen=True)
class CellResult:
    cell: Cell
    accuracy: metrics.Accuracy
    retained: float | None
    unparsed: int
    verdict: gate.Verdict
    samples: tuple[SampleResult, ...]
    examples: tuple[np.ndarray, ...]  # the first few images, for the HTML report only

    def to_dict(self) -> dict[str, Any]:
        """The results.json form of the cell (see docs/architecture.md for the schema)."""
        c = self.cell
        return {
            "id": c.id, "family": c.family, "scenario": c.scenario, "shift": c.shift, "severity": c.severity,
            "n": self.accuracy.n, "correct": self.accuracy.correct, "accuracy": self.accuracy.value,
            "ci_low": self.accuracy.ci_low, "ci_high": self.accuracy.ci_high, "retained": self.retained,
            "unparsed": self.unparsed, "gate": self.verdict.to_dict(),
            "samples": [s.to_dict() for s in self.samples],
        }  # fmt: skip


def predict(cell: Cell, adapter: Adapter, seed: int, count: int) -> tuple[list[SampleResult], list[np.ndarray]]:
    """Every sample's answer, in index order, and the first images for the report."""
    rendered = [cell.render(seed, index) for index in range(count)]
    predictions = adapter.classify([s.image for s in rendered], cell.labels)
    if len(predictions) != len(rendered):
        raise RuntimeError(f"{adapter.spec} answered {len(predictions)} of {len(rendered)} images in {cell.id}")
    results = [
        SampleResult(s.sample_id, s.label, p.label, p.text, max(p.scores) if p.scores else None)
        for s, p in zip(rendered, predictions)
    ]
    return results, [s.image for s in rendered[:EXAMPLES_PER_CELL]]


def score(
    cell: Cell,
    samples: list[SampleResult],
    examples: list[np.ndarray],
    reference_accuracy: float | None,
    limits: dict[str, float],
) -> CellResult:
    acc = metrics.accuracy(sum(s.correct for s in samples), len(samples))
    kept = metrics.retained(acc.value, reference_accuracy)
    unparsed = sum(s.prediction is None for s in samples)
    verdict = gate.decide(limits, acc, kept, unparsed)
    return CellResult(cell, acc, kept, unparsed, verdict, tuple(samples), tuple(examples))
