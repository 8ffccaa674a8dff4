"""Asks a model about one cell: render its images, ask the model (in context where the cell has examples), and
keep every sample's answer with a few images for the report.

A cell is streamed: its images are rendered BATCH at a time, the next batch in a background thread while the
model answers this one, so a cell holds at most two batches of images (a 10,000-image cell at 448 px would
otherwise hold 6.0 GB) and rendering overlaps inference. Every answer and example is the same as when the whole
cell is asked at once (`render`, then `answer`).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

import numpy as np

from generators.sample import Sample, SampleError
from ood_fixtures.adapters import Adapter
from ood_fixtures.adapters.base import Episode
from ood_fixtures.catalog import icl
from ood_fixtures.catalog.cells import Cell
from ood_fixtures.evaluation import incontext

EXAMPLES_PER_CELL = 4  # the first two samples, then the first wrong answers (or more samples, if few are wrong)
FIRST, WRONG = 2, 2  # of which the first samples and the first wrong answers
# Images rendered and asked at a time: 2 x 256 x 448 x 448 x 3 bytes = 308 MB alive at most. A multiple of every
# batch the model is asked in otherwise (the prediction cache's chunk, 256; batching.AUTO_START, 256, and
# CPU_BATCH, 64), so the model sees the same chunks as with the whole cell at once: on a CPU the reference CLIP's
# scores differ by up to 2e-6 between batches of 1, 7 and 64, and are equal bit for bit in equal chunks.
BATCH = 256

Drawn = TypeVar("Drawn")
Query = tuple[int, Sample | SampleError, Episode | None]  # sample index, its image (or why not), its episode


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
    cell: Cell, adapter: Adapter | Callable[[], Adapter], seed: int, count: int, batch: int = BATCH,
    first: Future | None = None,
) -> tuple[list[SampleResult], list[tuple[SampleResult, np.ndarray]]]:
    """Every sample's answer, in index order, and a few samples with their images for the report. `adapter` may
    be a function that loads the model: it is called in a background thread while the first images render, so
    that a process's model loading (imports, weights, label texts: 5 s of the bench's ViT-B/32) overlaps them.

    A source with fewer images than `count` (a real dataset's folder) gives all it has. An image that cannot be
    read is not sent to the model: it counts as a wrong answer whose text names the problem. The queries of an
    in-context cell are asked after their examples (`ood_fixtures.catalog.icl`). The model is asked `batch`
    images at a time (see BATCH); `batch_for` gives one for a model asked in batches of another size. `first`:
    the first batch's queries, drawn earlier (`first_batch`).
    """
    results: list[SampleResult] = []
    examples = Examples()
    if cell.context is not None:  # its example pool, drawn before the render thread starts: one thread per source
        icl.pool(cell.context.pool, seed, cell.context.spurious)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="load") as loader:
        model = loader.submit(lambda: adapter if hasattr(adapter, "classify") else adapter())
        for queries in stream(lambda index: _query(cell, seed, index), available(cell, count), batch, first):
            results += _answer(cell, model.result(), seed, queries, examples)
    return results, examples.chosen()


def first_batch(cell: Cell, seed: int, count: int, batch: int = BATCH) -> Future | None:
    """The first `batch` queries of the cell, drawn from now on in a thread of their own; `predict(first=...)` takes
    them up. For the cell a process asks next, drawn while the model answers the one before (the bench's 200-image
    cells are one batch each, so the render thread of `stream` alone overlaps nothing: the model waited 6.8 of
    its 33 s for images). None for an in-context cell, whose example pool must be drawn before its queries."""
    if cell.context is not None:
        return None
    drawer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")
    first = drawer.submit(lambda: [_query(cell, seed, index) for index in range(min(batch, available(cell, count)))])
    drawer.shutdown(wait=False)  # the thread ends with its batch
    return first


def batch_for(model_batch: int | None) -> int:
    """The smallest multiple of the model's batch size (--batch-size; None: auto) from BATCH on: the model then
    sees the same chunks as with the whole cell at once."""
    return BATCH if model_batch is None else -(-BATCH // model_batch) * model_batch


def stream(draw: Callable[[int], Drawn], count: int, batch: int = BATCH,
           first: Future | None = None) -> Iterator[list[Drawn]]:  # fmt: skip
    """`draw(index)` for every index below `count`, in lists of `batch`. The next list is drawn in a background
    thread while the caller works on this one (rendering is numpy, OpenCV and PIL, which release the GIL for much
    of their work), so at most two lists are alive. An error in drawing is raised here; when the caller stops
    early (an error of its own), the list in progress stops at its next image. `first`, the first list drawn
    already (or being drawn)."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    stop = threading.Event()

    def drawn(indices: range) -> list[Drawn]:
        return [draw(index) for index in indices if not stop.is_set()]  # cut short only when nobody reads it

    def indices(start: int) -> range:
        return range(start, min(start + batch, count))

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="render") as renderer:
        try:
            upcoming = first if first is not None else renderer.submit(drawn, indices(0))
            for start in range(0, count, batch):
                current = upcoming.result()  # the list before is no longer held here
                upcoming = renderer.submit(drawn, indices(start + batch))  # empty after the last list
                yield current
        finally:
            stop.set()


def available(cell: Cell, count: int) -> int:
    """How many of the first `count` images the cell has (all a finite source has; a wrapper of a generated
    source passes on its TypeError)."""
    try:
        return min(count, len(cell.source))
    except TypeError:  # a generated source draws any index
        return count


def render(cell: Cell, seed: int, count: int) -> list[Sample | SampleError]:
    """The cell's first `count` images (all a finite source has), an unreadable one as its SampleError; all at
    once (`predict` streams them)."""
    return [_render(cell, seed, index) for index in range(available(cell, count))]


def answer(
    cell: Cell, adapter: Adapter, seed: int, rendered: list[Sample | SampleError]
) -> tuple[list[SampleResult], list[tuple[SampleResult, np.ndarray]]]:
    """The model's answers to rendered images (`render`), as `predict` returns them."""
    examples = Examples()
    queries = [(index, s, _episode(cell, seed, index, s)) for index, s in enumerate(rendered)]
    return _answer(cell, adapter, seed, queries, examples), examples.chosen()


class Examples:
    """The report's examples, chosen as answers come: the first FIRST readable samples and the first WRONG wrong
    answers, then more readable samples in index order up to EXAMPLES_PER_CELL. Only the first EXAMPLES_PER_CELL
    readable samples and the first WRONG wrong ones can be chosen, so only their images are kept (6 at most)."""

    def __init__(self) -> None:
        self.first: list[int] = []
        self.wrong: list[int] = []
        self.kept: dict[int, tuple[SampleResult, np.ndarray]] = {}

    def offer(self, index: int, result: SampleResult, image: np.ndarray) -> None:
        """A readable sample's answer, in index order."""
        if len(self.first) < EXAMPLES_PER_CELL:
            self.first.append(index)
            self.kept[index] = (result, image)
        if not result.correct and len(self.wrong) < WRONG:
            self.wrong.append(index)
            self.kept[index] = (result, image)

    def chosen(self) -> list[tuple[SampleResult, np.ndarray]]:
        chosen = sorted(set(self.first[:FIRST]) | set(self.wrong))
        chosen += [i for i in self.first if i not in chosen][: EXAMPLES_PER_CELL - len(chosen)]
        return [self.kept[i] for i in sorted(chosen)]


def _render(cell: Cell, seed: int, index: int) -> Sample | SampleError:
    try:
        return cell.render(seed, index)
    except SampleError as error:
        return error


def _episode(cell: Cell, seed: int, index: int, sample: Sample | SampleError) -> Episode | None:
    if cell.context is None or isinstance(sample, SampleError):
        return None
    return incontext.episode(cell, seed, index, sample.image)


def _query(cell: Cell, seed: int, index: int) -> Query:
    """One sample with its episode: drawn together in the render thread, so that a cell's images (queries and
    in-context examples) are all drawn on one thread, never two at once from one source."""
    sample = _render(cell, seed, index)
    return index, sample, _episode(cell, seed, index, sample)


def _answer(cell: Cell, adapter: Adapter, seed: int, queries: list[Query], examples: Examples) -> list[SampleResult]:
    """The model's answers to some of a cell's samples, in index order; the readable ones offered to `examples`."""
    readable = [(index, s, episode) for index, s, episode in queries if isinstance(s, Sample)]
    predictions = iter(_ask(cell, adapter, readable, seed) if readable else [])
    results = []
    for index, sample, _ in queries:
        if isinstance(sample, SampleError):
            results.append(SampleResult(sample.sample_id, sample.label, None, f"unreadable: {sample.reason}", None))
            continue
        prediction = next(predictions, None)
        if prediction is None:
            raise RuntimeError(f"{adapter.spec} answered fewer than the {len(readable)} images of {cell.id}")
        confidence = max(prediction.scores) if prediction.scores else None
        results.append(SampleResult(sample.sample_id, sample.label, prediction.label, prediction.text, confidence))
        examples.offer(index, results[-1], sample.image)
    if next(predictions, None) is not None:
        raise RuntimeError(f"{adapter.spec} answered more than the {len(readable)} images of {cell.id}")
    return results


def _ask(cell: Cell, adapter: Adapter, readable: list[Query], seed: int) -> list:
    if cell.context is None:
        return adapter.classify([s.image for _, s, _ in readable], cell.labels)
    return incontext.answer(adapter, [episode for _, _, episode in readable], cell.labels, cell.context, seed)
