"""In-context learning under shift: which examples each query of an in-context cell is shown, and how it is asked.

The study's settings, on a (source domain, target domain) pair, each at 2, 4 and 8 examples per query:

- `target`: examples from the target domain, balanced over classes (does target ICL close the OOD gap?);
- `source`: examples from the source domain (a domain shift between the examples and the query);
- `skewed`: target-domain examples, all but one from one class (a label shift in the examples);
- `spurious`: the `target` examples, each framed in its class's colour (a feature that predicts the label in the
  examples); the query is framed in the colour of a class drawn independently of its label. This line starts
  from its own zero-shot cell (framed queries, no examples), so that the frame's effect on the query alone is not
  counted as the examples' effect.

Every draw derives from (seed, the pool, shots, selection, query index), so the `target` and `spurious` cells show
the same examples and differ by the frames alone. Examples come from sample indices at POOL_START and above, which
no query uses.

How a model is asked with these examples (in one conversation, or by few-shot adaptation for a model that takes
one image per question) is `ood_fixtures.evaluation.incontext`.
"""

from __future__ import annotations

import colorsys
import functools
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from generators.seeding import rng_for
from generators.sample import Sample
from ood_fixtures.adapters.base import Unsupported
from ood_fixtures.catalog.cells import Cell, Context

SHOTS = (2, 4, 8)
SETTINGS = ("target", "source", "skewed", "spurious")
POOL_START = 1_000_000
POOL_PER_CLASS = max(SHOTS)  # a skewed selection takes shots - 1 examples of one class
POOL_DRAWS_PER_CLASS = 40  # a source that yields some class this rarely is a bug in the source
BORDER = 0.08  # frame width, as a share of the image side


def cells(scenario: str, source: Cell, target: Cell) -> list[Cell]:
    """The in-context cells of a domain pair: the zero-shot cell first (the reference of all others), then every
    setting at every number of examples."""
    queries = Remembered(target.source)
    zero = Cell("icl", scenario, "none", 0, queries, target.transform)
    framed = Framed(target.labels, target.transform)
    out = [zero]
    for setting in SETTINGS:
        for shots in (0, *SHOTS) if setting == "spurious" else SHOTS:
            context = Context(source if setting == "source" else target, shots,
                              "skewed" if setting == "skewed" else "balanced", setting == "spurious")  # fmt: skip
            transform = framed if setting == "spurious" else target.transform
            out.append(Cell("icl", scenario, setting, shots, queries, transform, zero, context))
    return out


class Remembered:
    """A source whose samples are drawn once per process: the cells of a pair (14) all ask the same queries.

    Up to `budget` bytes of images: a pair's 100 queries of a default run take 1.2 MiB at 64 px and 57 MiB at
    448 px, so 128 MiB holds them at any size a model asks for (4 pairs: 512 MiB at most), where 10,000 queries at
    448 px would hold 5.6 GiB. Past the budget a sample is drawn again each time it is asked (the same image: a
    sample depends on the seed and index alone). The first ones are kept, not the most recent: each cell asks
    the queries in index order, so a least-recently-used store smaller than a cell would never be hit.
    """

    BUDGET = 128 * 2**20

    def __init__(self, source: object, budget: int = BUDGET) -> None:
        self.source = source
        self.name = source.name
        self.labels = source.labels
        self.budget = budget
        self._drawn: dict[tuple[int, int], Sample] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self.source)  # a TypeError for a generated source, which has no end

    def sample(self, seed: int, index: int) -> Sample:
        if (seed, index) in self._drawn:
            return self._drawn[seed, index]
        sample = self.source.sample(seed, index)
        if self._bytes + sample.image.nbytes <= self.budget:
            self._drawn[seed, index] = sample
            self._bytes += sample.image.nbytes
        return sample


def balanced(labels: Sequence[str], shots: int, rng: np.random.Generator) -> list[str]:
    """`shots` labels whose counts differ by at most one; when shots < classes, which classes is drawn."""
    order = [labels[i] for i in rng.permutation(len(labels))]
    chosen = [order[k % len(order)] for k in range(shots)]
    return [chosen[i] for i in rng.permutation(shots)]


def skewed(labels: Sequence[str], shots: int, rng: np.random.Generator) -> list[str]:
    """All but one of the examples from one drawn class, the last from another."""
    major, minor = (labels[i] for i in rng.choice(len(labels), 2, replace=False))
    chosen = [major] * (shots - 1) + [minor]
    return [chosen[i] for i in rng.permutation(shots)]


SELECTIONS = {"balanced": balanced, "skewed": skewed}


@functools.lru_cache(maxsize=16)
def pool(cell: Cell, seed: int, framed: bool = False) -> dict[str, list[Sample]]:
    """POOL_PER_CLASS images of every class from `cell`, at sample indices from POOL_START on; `framed`, each in
    its class's colour (one array per image, shared by every query that shows it)."""
    if framed:
        return {
            label: [Sample(frame(s.image, colour(cell.labels, label)), s.label, s.sample_id) for s in samples]
            for label, samples in pool(cell, seed).items()
        }
    by_class: dict[str, list[Sample]] = {label: [] for label in cell.labels}
    limit = POOL_START + POOL_DRAWS_PER_CLASS * POOL_PER_CLASS * len(cell.labels)
    index = POOL_START
    while any(len(samples) < POOL_PER_CLASS for samples in by_class.values()):
        if index == limit:
            short = [label for label, samples in by_class.items() if len(samples) < POOL_PER_CLASS]
            raise ValueError(f"{cell.id}: {limit - POOL_START} draws gave fewer than {POOL_PER_CLASS} images of "
                             f"{', '.join(short)}; the source must yield every class")  # fmt: skip
        try:
            sample = cell.render(seed, index)
        except IndexError as error:  # a dataset of your own with too few images beyond the queries
            short = [label for label, samples in by_class.items() if len(samples) < POOL_PER_CLASS]
            raise Unsupported(f"{cell.id}: in-context examples need {POOL_PER_CLASS} images of each class beyond "
                              f"the queries, and {', '.join(short)} ran out ({error}); lower --samples or add "
                              f"images")  # fmt: skip
        if len(by_class[sample.label]) < POOL_PER_CLASS:
            by_class[sample.label].append(sample)
        index += 1
    return by_class


def examples(cell: Cell, seed: int, index: int) -> list[Sample]:
    """The examples shown before query `index` of an in-context cell, in the order shown."""
    context = cell.context
    rng = rng_for(seed, "icl", context.pool.id, context.shots, context.selection, index)
    return _draw(context, cell.labels, pool(context.pool, seed, context.spurious), rng)


@functools.lru_cache(maxsize=16)
def held_out(context: Context, seed: int) -> list[tuple[Sample, list[Sample]]]:
    """Episodes that tune a few-shot method without touching a query: each pool image in turn as the query, its
    examples drawn as a query's are (same selection and count) from the rest of the pool."""
    available = pool(context.pool, seed, context.spurious)
    labels = context.pool.labels
    episodes = []
    for label, samples in available.items():
        for position, query in enumerate(samples):
            rest = {**available, label: samples[:position] + samples[position + 1 :]}
            rng = rng_for(seed, "icl-held-out", context.pool.id, context.shots, context.selection, label, position)
            episodes.append((query, _draw(context, labels, rest, rng)))
    return episodes


def _draw(context: Context, labels: Sequence[str], available: dict[str, list[Sample]],
          rng: np.random.Generator) -> list[Sample]:  # fmt: skip
    wanted = SELECTIONS[context.selection](labels, context.shots, rng)
    taken: Counter[str] = Counter()
    order = {label: rng.permutation(len(available[label])) for label in sorted(set(wanted))}
    chosen = []
    for label in wanted:
        chosen.append(available[label][order[label][taken[label]]])
        taken[label] += 1
    return chosen


def colour(labels: Sequence[str], label: str) -> tuple[int, int, int]:
    """A saturated colour per class, evenly spaced in hue."""
    hue = labels.index(label) / len(labels)
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue, 1.0, 1.0))


def frame(image: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    width = max(2, round(BORDER * min(image.shape[:2])))
    out = image.copy()
    out[:width], out[-width:], out[:, :width], out[:, -width:] = rgb, rgb, rgb, rgb
    return out


@dataclass(frozen=True)
class Framed:
    """The spurious cells' query shift: the target's own shift, then a frame in the colour of a class drawn
    independently of the query's label (from the seed and the query index alone)."""

    labels: list[str]
    inner: object = None  # the target cell's transform, if any

    def __call__(self, image: np.ndarray, seed: int, index: int | str) -> np.ndarray:
        if self.inner is not None:
            image = self.inner(image, seed, index)
        drawn = self.labels[int(rng_for(seed, "icl-frame", index).integers(len(self.labels)))]
        return frame(image, colour(self.labels, drawn))
