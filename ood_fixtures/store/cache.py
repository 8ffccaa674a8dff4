"""A prediction cache: a rerun with the same inputs does no inference, and a killed run resumes where it stopped.

Each answer is stored under a key that names everything it depends on: the model (a fingerprint of its weights),
the image's content, the candidate labels in order, and the request (prompt and decoding settings). Answers live in
one sqlite file in WAL mode, so that several processes (pytest-xdist workers) can read and write it at once.

The same file holds records: whole-cell results under a key of the model's identity and the code that renders
the cell (see `ood_fixtures.store.records`), so that a rerun with nothing changed renders no image and loads no model.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ood_fixtures.adapters.base import Adapter, Episode, Prediction
from ood_fixtures.images import image_hash

BUSY_TIMEOUT_S = 60  # a writer waits this long for another process's transaction before giving up
_SELECT_BATCH = 500  # keys per SELECT: old sqlite builds allow at most 999 bound parameters


def cache_key(model: str, image_digest: str, labels: Sequence[str], request: str) -> str:
    # JSON encodes the parts unambiguously: no choice of separator could let a label's text fake a boundary.
    parts = json.dumps([model, image_digest, list(labels), request], ensure_ascii=False)
    return hashlib.sha256(parts.encode()).hexdigest()


def encode(prediction: Prediction) -> str:
    scores = None if prediction.scores is None else [float(s) for s in prediction.scores]
    return json.dumps({"label": prediction.label, "scores": scores, "text": prediction.text})


def decode(value: str) -> Prediction:
    row = json.loads(value)
    scores = None if row["scores"] is None else tuple(row["scores"])
    return Prediction(row["label"], scores, row["text"])


def _enable_wal(db: sqlite3.Connection) -> None:
    """WAL mode: readers never block the writer, nor it them. The switch needs the file to itself for a moment,
    and sqlite reports "locked" at once rather than applying the busy timeout, so retry until the timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class PredictionCache:
    """Predictions by key in one sqlite file, shared safely by concurrent processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._connections: dict[tuple[int, int], sqlite3.Connection] = {}

    def __getstate__(self) -> dict[str, Any]:
        # A connection cannot travel to another process; the copy opens its own on first use.
        return {"path": self.path, "_connections": {}}

    def _db(self) -> sqlite3.Connection:
        # One connection per process and thread, opened lazily: one inherited through fork must not be used, and
        # sqlite keeps a connection to the thread that opened it (the model loads, and records its description,
        # in a thread of `predict`'s).
        key = (os.getpid(), threading.get_ident())
        if key not in self._connections:
            self._connections[key] = self._connect()
        return self._connections[key]

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are only the explicit BEGIN ... COMMIT below.
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        _enable_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")  # in WAL mode this still survives a killed process
        db.execute("CREATE TABLE IF NOT EXISTS predictions (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
        db.execute("CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
        return db

    def get_many(self, keys: Sequence[str]) -> dict[str, Prediction]:
        """The stored predictions among `keys`; keys not stored are absent from the answer."""
        unique = list(dict.fromkeys(keys))
        found: dict[str, Prediction] = {}
        for start in range(0, len(unique), _SELECT_BATCH):
            batch = unique[start : start + _SELECT_BATCH]
            marks = ",".join("?" * len(batch))
            rows = self._db().execute(f"SELECT key, value FROM predictions WHERE key IN ({marks})", batch)
            found.update((key, decode(value)) for key, value in rows)
        return found

    def put_many(self, items: Mapping[str, Prediction]) -> None:
        """Stores all items in one short transaction: after a crash, either all of them are there or none."""
        rows = [(key, encode(prediction)) for key, prediction in items.items()]
        db = self._db()
        db.execute("BEGIN IMMEDIATE")  # take the write lock up front, waiting out other writers
        try:
            db.executemany("INSERT OR REPLACE INTO predictions (key, value) VALUES (?, ?)", rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def get_record(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM records WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def has_record(self, key: str) -> bool:
        """Without reading it: a record holds the cell's example images (26 KB on average in the main job's cache)."""
        return self._db().execute("SELECT 1 FROM records WHERE key = ?", (key,)).fetchone() is not None

    def put_record(self, key: str, value: str) -> None:
        self._db().execute("INSERT OR REPLACE INTO records (key, value) VALUES (?, ?)", (key, value))

    def __len__(self) -> int:
        return self._db().execute("SELECT count(*) FROM predictions").fetchone()[0]

    def close(self) -> None:
        for (pid, thread), db in list(self._connections.items()):
            if pid == os.getpid() and thread == threading.get_ident():
                db.close()
                del self._connections[pid, thread]


class CachedAdapter(Adapter):
    """Wraps an adapter: answers from the cache where it can, asks the model for the rest, in chunks of
    `chunk` images, storing each chunk as soon as it is answered (so a killed run loses at most one chunk).

    `model_key` must change whenever the model's answers could (a weights fingerprint, plus anything else that
    matters), and `request` whenever the prompt or decoding settings do. `hits` counts images answered without
    inference, `misses` images sent to the model.
    """

    def __init__(
        self, inner: Adapter, cache: PredictionCache, model_key: str, request: str = "", chunk: int = 64
    ) -> None:
        if chunk < 1:
            raise ValueError(f"chunk must be at least 1, not {chunk}")
        self.inner = inner
        self.cache = cache
        self.model_key = model_key
        self.request = request
        self.chunk = chunk
        self.hits = 0
        self.misses = 0
        if hasattr(inner, "spec"):
            self.spec = inner.spec

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    # Not cached per image (an answer in context depends on the examples too): whole cells are, as records.
    def classify_in_context(self, episodes: Sequence[Episode], labels: Sequence[str]) -> list[Prediction]:
        return self.inner.classify_in_context(episodes, labels)

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return self.inner.features(images)

    def capabilities(self) -> list[str]:
        return self.inner.capabilities()

    def classify(self, images: Sequence[np.ndarray], labels: Sequence[str]) -> list[Prediction]:
        keys = [cache_key(self.model_key, image_hash(image), labels, self.request) for image in images]
        answers = self.cache.get_many(keys)
        todo: dict[str, int] = {}  # each missing key with its first image: duplicates are asked once
        for index, key in enumerate(keys):
            if key not in answers:
                todo.setdefault(key, index)
        pending = list(todo.items())
        for start in range(0, len(pending), self.chunk):
            batch = pending[start : start + self.chunk]
            answers.update(self._ask([images[i] for _, i in batch], [key for key, _ in batch], labels))
        self.misses += len(pending)
        self.hits += len(images) - len(pending)
        return [answers[key] for key in keys]

    def _ask(self, images: list[np.ndarray], keys: list[str], labels: Sequence[str]) -> dict[str, Prediction]:
        predictions = self.inner.classify(images, labels)
        if len(predictions) != len(images):
            raise RuntimeError(f"the model answered {len(predictions)} of {len(images)} images")
        # Answers go through the stored form even on a miss, so a resumed run returns exactly what a rerun would.
        fresh = {key: decode(encode(p)) for key, p in zip(keys, predictions)}
        self.cache.put_many(fresh)
        return fresh
