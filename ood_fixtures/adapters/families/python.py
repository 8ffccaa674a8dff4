"""A user's Python callable as the model: `python:package.module:attribute`.

The attribute is a callable `f(images, labels) -> answers`, or a class whose instances are (it is instantiated
once, with no arguments, so it can load weights in `__init__`). Each answer is a label string (anything else counts
as unparsed) or a sequence of one score per label.

Optional abilities, as attributes of the callable (methods, for a class): `features(images)` returns one feature
row per image (for the diagnosis's linear probe and few-shot adaptation), and `in_context(episodes, labels)`
answers `Episode`s (examples with their labels, then the query), one answer per episode, in the form above.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Sequence

import numpy as np

from ood_fixtures import adapters
from ood_fixtures.adapters.base import (CLASSIFY_IN_CONTEXT, FEATURES, Adapter, Episode, Prediction, Settings,
                                        SpecError)


def _split(argument: str) -> tuple[str, str]:
    module, sep, attribute = argument.partition(":")
    if not sep or not module or not attribute:
        raise SpecError(f"python:{argument}: write python:package.module:attribute")
    return module, attribute


def _resolve(argument: str) -> Any:
    module_name, attribute = _split(argument)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise SpecError(f"python:{argument}: cannot import {module_name!r} ({error}); is it on PYTHONPATH?") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise SpecError(f"python:{argument}: module {module_name!r} has no attribute {attribute!r}") from None


class PythonFactory:
    def check(self, argument: str, settings: Settings) -> None:
        if not callable(_resolve(argument)):
            raise SpecError(f"python:{argument}: the attribute is not callable")

    def create(self, argument: str, settings: Settings) -> Adapter:
        target = _resolve(argument)
        model = target() if isinstance(target, type) else target
        return PythonAdapter(argument, model)

    def fingerprint(self, argument: str, settings: Settings) -> str | None:
        return None  # a callable can change without its name changing: never served from the cache

    def native_size(self, argument: str, settings: Settings) -> int | None:
        """What the callable says it takes: an `image_size` attribute (an int), if it has one."""
        size = getattr(_resolve(argument), "image_size", None)
        return size if isinstance(size, int) and size > 0 else None


def _prediction(answer: Any, labels: Sequence[str]) -> Prediction:
    if isinstance(answer, str):
        return Prediction(answer if answer in labels else None, text=answer)
    scores = tuple(float(s) for s in answer)
    if len(scores) != len(labels):
        raise ValueError(f"a score answer must hold one score per label ({len(labels)}), got {len(scores)}")
    return Prediction(labels[int(np.argmax(scores))], scores)


class PythonAdapter(Adapter):
    def __init__(self, argument: str, model: Callable[[Sequence[np.ndarray], Sequence[str]], Sequence[Any]]) -> None:
        self.argument = argument
        self.model = model

    def describe(self) -> dict[str, Any]:
        return {"spec": self.spec, "adapter": "python", "callable": self.argument}

    def classify(self, images: Sequence[np.ndarray], labels: Sequence[str]) -> list[Prediction]:
        answers = list(self.model(images, labels))
        if len(answers) != len(images):
            raise ValueError(f"python:{self.argument} returned {len(answers)} answers for {len(images)} images")
        return [_prediction(answer, labels) for answer in answers]

    def classify_in_context(self, episodes: Sequence[Episode], labels: Sequence[str]) -> list[Prediction]:
        if not hasattr(self.model, "in_context"):
            return super().classify_in_context(episodes, labels)
        answers = list(self.model.in_context(episodes, labels))
        if len(answers) != len(episodes):
            raise ValueError(f"python:{self.argument} returned {len(answers)} answers for {len(episodes)} episodes")
        return [_prediction(answer, labels) for answer in answers]

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if not hasattr(self.model, "features"):
            return super().features(images)
        rows = np.asarray(self.model.features(images), dtype=np.float32)
        if rows.ndim != 2 or len(rows) != len(images):
            raise ValueError(f"python:{self.argument} features: expected {len(images)} rows, got shape {rows.shape}")
        return rows

    def capabilities(self) -> list[str]:
        return [name for name, attribute in ((CLASSIFY_IN_CONTEXT, "in_context"), (FEATURES, "features"))
                if hasattr(self.model, attribute)]  # fmt: skip


adapters.register("python", PythonFactory())
