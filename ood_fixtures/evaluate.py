"""Runs one cell through a model: render its images, ask the model, score the answers, apply the gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ood_fixtures import gate, icl, metrics
from ood_fixtures.adapters import Adapter
from ood_fixtures.baseline import Baseline
from ood_fixtures.scenarios import Cell, Sample, SampleError

EXAMPLES_PER_CELL = 4  # the first two samples, then the first wrong answers (or more samples, if few are wrong)


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
    macro_accuracy: float
    retained: float | None
    unparsed: int
    ece: float | None  # these two only when the model gives scores
    auroc: float | None
    verdict: gate.Verdict
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


def predict(
    cell: Cell, adapter: Adapter, seed: int, count: int
) -> tuple[list[SampleResult], list[tuple[SampleResult, np.ndarray]]]:
    """Every sample's answer, in index order, and a few samples with their images for the report.

    A source with fewer images than `count` (a real dataset's folder) gives all it has. An image that cannot be
    read is not sent to the model: it counts as a wrong answer whose text names the problem. The queries of an
    in-context cell are asked after their examples (`ood_fixtures.icl`).
    """
    return answer(cell, adapter, seed, render(cell, seed, count))


def render(cell: Cell, seed: int, count: int) -> list[Sample | SampleError]:
    """The cell's first `count` images (all a finite source has), an unreadable one as its SampleError."""
    count = min(count, len(cell.source)) if hasattr(cell.source, "__len__") else count
    rendered: list[Sample | SampleError] = []
    for index in range(count):
        try:
            rendered.append(cell.render(seed, index))
        except SampleError as error:
            rendered.append(error)
    return rendered


def answer(
    cell: Cell, adapter: Adapter, seed: int, rendered: list[Sample | SampleError]
) -> tuple[list[SampleResult], list[tuple[SampleResult, np.ndarray]]]:
    """The model's answers to rendered images (`render`), as `predict` returns them."""
    readable = [(index, s) for index, s in enumerate(rendered) if isinstance(s, Sample)]
    predictions = iter(_ask(cell, adapter, seed, readable) if readable else [])
    results = []
    for sample in rendered:
        if isinstance(sample, SampleError):
            results.append(SampleResult(sample.sample_id, sample.label, None, f"unreadable: {sample.reason}", None))
            continue
        prediction = next(predictions, None)
        if prediction is None:
            raise RuntimeError(f"{adapter.spec} answered fewer than the {len(readable)} images of {cell.id}")
        confidence = max(prediction.scores) if prediction.scores else None
        results.append(SampleResult(sample.sample_id, sample.label, prediction.label, prediction.text, confidence))
    if next(predictions, None) is not None:
        raise RuntimeError(f"{adapter.spec} answered more than the {len(readable)} images of {cell.id}")
    shown = [i for i, _ in readable]
    wrong = [i for i in shown if not results[i].correct]
    chosen = sorted(set(shown[:2]) | set(wrong[:2]))
    chosen += [i for i in shown if i not in chosen][: EXAMPLES_PER_CELL - len(chosen)]
    return results, [(results[i], rendered[i].image) for i in sorted(chosen)]


def _ask(cell: Cell, adapter: Adapter, seed: int, readable: list[tuple[int, Sample]]) -> list:
    if cell.context is None:
        return adapter.classify([s.image for _, s in readable], cell.labels)
    episodes = [icl.episode(cell, seed, index, s.image) for index, s in readable]
    return icl.answer(adapter, episodes, cell.labels)


@dataclass(frozen=True)
class Gating:
    """How a cell is judged: its threshold limits, and the baseline to compare with, if any, at `level` (the
    cell's share of the run's error rate, ood_fixtures/release.py)."""

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
    verdict = gate.decide(gating.limits, acc, kept, unparsed, ece, comparison, gating.strict)
    macro = metrics.macro_accuracy([s.label for s in samples], correct)
    return CellResult(cell, acc, macro, kept, unparsed, ece, auroc, verdict, tuple(samples), tuple(examples))
