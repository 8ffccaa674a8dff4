"""The model under test, loaded on first need.

Loading a model costs seconds in every xdist worker (torch, transformers, the weights), and a cell whose record is
in the cache needs no model at all. So the `model` fixture hands out this handle: it answers a cell from its
record when there is one, and loads the model (once per process) when a cell first needs fresh answers.
"""

from __future__ import annotations

import contextlib
import gc
import json
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable, Iterator

from ood_fixtures import adapters
from ood_fixtures.adapters import Adapter, Settings
from ood_fixtures.catalog.cells import Cell
from ood_fixtures.evaluation import diagnosis, predict
from ood_fixtures.store import records
from ood_fixtures.store.cache import CachedAdapter, PredictionCache
from ood_fixtures.store.hashing import identity


CACHE_CHUNK = 256  # images per model call under --batch-size auto: each call's answers are stored at once


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message names the spec and the loader's error."""


class ModelUnderTest:
    """`--model`, with its cache. `cache` None (--no-cache) reads and writes no cache. `image_size`, the run's,
    keys the records: a cell's id does not name the size its images were drawn at."""

    def __init__(self, spec: str, settings: Settings, cache: PredictionCache | None,
                 image_size: int | None = None) -> None:  # fmt: skip
        self.spec = spec
        self.image_size = image_size
        self.settings = settings
        self.cache = cache
        self.identity = identity(spec, settings) if cache is not None else None
        self._adapter: Adapter | None = None
        self._description: dict[str, Any] | None = None
        self._failure: str | None = None
        # This process's records by what was asked: property tests ask for their clean cell at every drawn
        # example, and models that are never cached (python: callables) would otherwise answer it again each time.
        self._answered: dict[tuple, Any] = {}
        self._upcoming: dict[tuple, Future] = {}  # first batches drawn ahead (`prefetch`), by what will be asked

    def answers(self, cell: Cell, seed: int, count: int, module: Path) -> tuple[list, list]:
        """Every sample's answer and the report's examples (`ood_fixtures.evaluation.predict`), from the cell's
        record when the cache holds one for this model, seed, count and rendering code (`module` defines the cell)."""

        def fresh() -> str:
            first = self._upcoming.pop(_asked(cell.id, cell, seed, count, module), None)
            return records.encode_cell(*predict.predict(cell, self.adapter, seed, count, first=first))

        return self._recorded(cell.id, cell, seed, count, module, fresh, records.decode_cell)

    def prefetch(self, cell: Cell, seed: int, count: int, module: Path) -> None:
        """Start drawing the first images of a cell this process will ask for next (its next test's), unless its
        answers are known here or recorded in the cache: `answers` takes them up."""
        asked = _asked(cell.id, cell, seed, count, module)
        if asked in self._answered or asked in self._upcoming:
            return
        if self.cache is not None and self.identity is not None:
            if self.cache.has_record(self._key(cell.id, cell, seed, count, module)):
                return
        first = predict.first_batch(cell, seed, count)
        if first is not None:
            self._upcoming[asked] = first

    def diagnosis(self, cell: Cell, seed: int, count: int, module: Path) -> diagnosis.Measurement:
        """The diagnosis's per-sample measures on the cell's first `count` images, from its record if cached."""

        def fresh() -> str:
            return diagnosis.measure(cell, self.adapter(), seed, count).encode()

        name = diagnosis.diagnosis_id(cell)
        return self._recorded(name, cell, seed, count, module, fresh, diagnosis.Measurement.decode)

    def _recorded(self, name: str, cell: Cell, seed: int, count: int, module: Path,
                  fresh: Callable[[], str], decode: Callable[[str], Any]) -> Any:  # fmt: skip
        """The record `name` of a cell, decoded: once per process, from the cache when it holds it, else
        computed by `fresh()` (and stored)."""
        asked = _asked(name, cell, seed, count, module)
        if asked not in self._answered:
            self._answered[asked] = decode(self._stored(name, cell, seed, count, module, fresh))
        return self._answered[asked]

    def _stored(self, name: str, cell: Cell, seed: int, count: int, module: Path, fresh: Callable[[], str]) -> str:
        if self.cache is None or self.identity is None:
            return fresh()
        key = self._key(name, cell, seed, count, module)
        stored = self.cache.get_record(key)
        if stored is None:
            stored = fresh()
            self.cache.put_record(key, stored)
        return stored

    def _key(self, name: str, cell: Cell, seed: int, count: int, module: Path) -> str:
        # a source or shift of a user's (ood_fixtures.api) keys its own code; the suite's have no content key
        render = (records.render_digest(module) + records.content_key(cell.source)
                  + records.content_key(cell.transform))  # fmt: skip
        return records.cell_key(self.identity, render, name, cell.labels, seed, count, self.image_size)

    def adapter(self) -> Adapter:
        """The loaded model (behind the prediction cache when it has a fingerprint); loads it on first call."""
        if self._failure is not None:
            raise ModelLoadError(self._failure)
        if self._adapter is None:
            self._adapter = self._load()
        return self._adapter

    def description(self) -> dict[str, Any] | None:
        """What results.json records about the model: from the model once loaded, else from the cache."""
        if self._description is None and self.cache is not None and self.identity is not None:
            stored = self.cache.get_record(records.model_key(self.identity))
            # the record was written on the same kind of device, perhaps another of them: this process's is its own
            self._description = None if stored is None else {**json.loads(stored), "device": self.settings.device}
        return self._description

    def _load(self) -> Adapter:
        try:
            with _long_lived():
                adapter = adapters.create(self.spec, self.settings)
        except Exception as error:  # any loader error: its message is what the user needs
            self._failure = f"cannot load --model {self.spec}: {type(error).__name__}: {error}"
            raise ModelLoadError(self._failure) from None
        self._description = {**adapter.describe(), "device": self.settings.device,
                             "capabilities": adapter.capabilities()}  # fmt: skip
        if self.cache is not None and self.identity is not None:
            self.cache.put_record(records.model_key(self.identity), json.dumps(self._description, sort_keys=True))
        return self._with_cache(adapter)

    def _with_cache(self, adapter: Adapter) -> Adapter:
        """Only models with a fingerprint of their weights (or endpoint) are cached: a `python:` callable can
        change without its name changing, and a stale answer would be a wrong result."""
        if self.cache is None or not self._description.get("fingerprint"):
            return adapter
        # weights, dtype, the kind of device (`Settings.device_kind`), prompts, answer mode
        key = json.dumps({**self._description, "device": self.settings.device_kind}, sort_keys=True)
        return CachedAdapter(adapter, self.cache, model_key=key, chunk=self.settings.batch_size or CACHE_CHUNK)


@contextlib.contextmanager
def _long_lived() -> Iterator[None]:
    """The first model load in a process makes most of the objects the process will hold (torch, transformers, the
    weights: 420k for a ViT-B/32), and the cyclic garbage collector would walk them all, again and again: 6 full
    collections during that load (0.5 s of its 3.0 s), 5 at pytest's end (0.75 s), one at the interpreter's exit
    (0.9 s, now 0.25 s). So it pauses for that load; one collection then frees the load's own cyclic garbage
    (12k objects, no tensors for CLIP; 0.35 s), and what is left is frozen (`gc.freeze`: skipped by the collector,
    still freed when no longer referenced). Later loads (the tests make many models in one process) are collected
    as usual, and so is a process that froze objects of its own: it runs its collector as it sees fit."""
    if gc.get_freeze_count():
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
    gc.collect()
    gc.freeze()


def _asked(name: str, cell: Cell, seed: int, count: int, module: Path) -> tuple:
    """What a record answers, as this process keeps it."""
    return name, tuple(cell.labels), seed, count, module
