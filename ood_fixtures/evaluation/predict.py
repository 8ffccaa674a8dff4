"""Asks a model about one cell: render its images, ask the model (in context where the cell has examples), and
keep every sample's answer with a few images for the report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from generators.sample import Sample, SampleError
from ood_fixtures.adapters import Adapter
from ood_fixtures.catalog.cells import Cell
from ood_fixtures.evaluation import incontext

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


def predict(
    cell: Cell, adapter: Adapter, seed: int, count: int
) -> tuple[list[SampleResult], list[tuple[SampleResult, np.ndarray]]]:
    """Every sample's answer, in index order, and a few samples with their images for the report.

    A source with fewer images than `count` (a real dataset's folder) gives all it has. An image that cannot be
    read is not sent to the model: it counts as a wrong answer whose text names the problem. The queries of an
    in-context cell are asked after their examples (`ood_fixtures.catalog.icl`).
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
    episodes = [incontext.episode(cell, seed, index, s.image) for index, s in readable]
    return incontext.answer(adapter, episodes, cell.labels)
