"""How a model is asked an in-context cell's queries: in one conversation with the examples when it takes
several images (`classify_in_context`), else by few-shot adaptation from the same examples (Tip-Adapter,
`ood_fixtures.evaluation.fewshot`) when it gives scores and features; the report names which."""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from ood_fixtures.adapters.base import CLASSIFY_IN_CONTEXT, FEATURES, Adapter, Episode, Prediction, Unsupported
from ood_fixtures.catalog import icl
from ood_fixtures.catalog.cells import Cell, Context
from ood_fixtures.evaluation import fewshot

# capability -> how a model that has it uses the examples, the first one a model has wins
METHODS = {
    CLASSIFY_IN_CONTEXT: "in-context examples",
    FEATURES: "few-shot adaptation (Tip-Adapter, alpha and beta tuned per cell on held-out examples): the model "
              "takes one image per question",
}


def method(capabilities: Sequence[str]) -> str | None:
    """How a model with these abilities uses the examples; None if it cannot."""
    return next((METHODS[name] for name in METHODS if name in capabilities), None)


def episode(cell: Cell, seed: int, index: int, image: np.ndarray) -> Episode:
    return Episode(tuple((s.image, s.label) for s in icl.examples(cell, seed, index)), image)


def answer(adapter: Adapter, episodes: Sequence[Episode], labels: Sequence[str], context: Context | None = None,
           seed: int = 0) -> list[Prediction]:  # fmt: skip
    """In context when the model takes several images in one conversation, else by few-shot adaptation, tuned on
    the held-out episodes of the cell's `context` (at `seed`; without a context, the paper's weights)."""
    if not any(e.examples for e in episodes):
        return adapter.classify([e.image for e in episodes], labels)
    try:
        return adapter.classify_in_context(episodes, labels)
    except Unsupported as no_context:
        try:
            weights = fewshot.PAPER if context is None else tuned(adapter, context, seed)
            return fewshot.classify(adapter, episodes, labels, weights)
        except Unsupported as no_adaptation:
            raise Unsupported(f"{no_context}, and {no_adaptation}: no in-context cell can run") from None


@functools.lru_cache(maxsize=64)
def tuned(adapter: Adapter, context: Context, seed: int) -> fewshot.Weights:
    """Tip-Adapter's weights for one kind of episode (pool, examples per query, selection, frames), tuned once per
    process on episodes that use no query: the same in every batch and every worker."""
    held_out = [(Episode(tuple((s.image, s.label) for s in shown), query.image), query.label)
                for query, shown in icl.held_out(context, seed)]  # fmt: skip
    return fewshot.tune(adapter, held_out, context.pool.labels)
