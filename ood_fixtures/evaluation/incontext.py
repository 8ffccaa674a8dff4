"""How a model is asked an in-context cell's queries: in one conversation with the examples when it takes
several images (`classify_in_context`), else by few-shot adaptation from the same examples (Tip-Adapter,
`ood_fixtures.evaluation.fewshot`) when it gives scores and features; the report names which."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ood_fixtures.adapters.base import CLASSIFY_IN_CONTEXT, FEATURES, Adapter, Episode, Prediction, Unsupported
from ood_fixtures.catalog import icl
from ood_fixtures.catalog.cells import Cell
from ood_fixtures.evaluation import fewshot

# capability -> how a model that has it uses the examples, the first one a model has wins
METHODS = {
    CLASSIFY_IN_CONTEXT: "in-context examples",
    FEATURES: "few-shot adaptation (Tip-Adapter): the model takes one image per question",
}


def method(capabilities: Sequence[str]) -> str | None:
    """How a model with these abilities uses the examples; None if it cannot."""
    return next((METHODS[name] for name in METHODS if name in capabilities), None)


def episode(cell: Cell, seed: int, index: int, image: np.ndarray) -> Episode:
    return Episode(tuple((s.image, s.label) for s in icl.examples(cell, seed, index)), image)


def answer(adapter: Adapter, episodes: Sequence[Episode], labels: Sequence[str]) -> list[Prediction]:
    """In context when the model takes several images in one conversation, else by few-shot adaptation."""
    if not any(e.examples for e in episodes):
        return adapter.classify([e.image for e in episodes], labels)
    try:
        return adapter.classify_in_context(episodes, labels)
    except Unsupported as no_context:
        try:
            return fewshot.classify(adapter, episodes, labels)
        except Unsupported as no_adaptation:
            raise Unsupported(f"{no_context}, and {no_adaptation}: no in-context cell can run") from None
