import contextlib
import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ood_fixtures.adapters.base import Adapter, Prediction
from ood_fixtures.images import image_hash
from ood_fixtures.store.cache import CachedAdapter, PredictionCache, cache_key

LABELS = ("cat", "dog", "bird")
ROOT = Path(__file__).resolve().parents[1]


class FakeModel(Adapter):
    """Deterministic answers from the image's mean; counts calls and remembers which images it was asked about."""

    spec = "fake"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.asked: list[str] = []

    def classify(self, images, labels):
        self.calls += 1
        self.asked += [image_hash(image) for image in images]
        time.sleep(self.delay)
        return [self._answer(float(image.mean()), labels) for image in images]

    @staticmethod
    def _answer(mean: float, labels) -> Prediction:
        scores = tuple(((mean * (k + 1.37)) % 1.0) / 3 for k in range(len(labels)))
        label = None if int(mean) % 5 == 0 else labels[int(np.argmax(scores))]
        return Prediction(label, scores, f"mean {mean!r}")


def make_images(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(count)]


def test_round_trip(tmp_path):
    stored = {
        "a": Prediction("cat", (0.1, 0.2, 1 / 3), "it is a cat"),
        "b": Prediction(None, None, "no idea"),
        "c": Prediction("dog"),
    }
    PredictionCache(tmp_path / "c.sqlite").put_many(stored)
    reopened = PredictionCache(tmp_path / "c.sqlite")
    assert reopened.get_many(["a", "b", "c", "missing"]) == stored
    assert reopened.get_many([]) == {}


def test_keys_name_every_input():
    image = np.zeros((4, 6, 3), np.uint8)
    assert image_hash(image) == image_hash(image.copy())
    assert image_hash(image) != image_hash(image.reshape(6, 4, 3))
    assert image_hash(image) != image_hash(image.astype(np.int8))
    base = cache_key("m", "h", ["a", "b"], "")
    others = [cache_key("m2", "h", ["a", "b"], ""), cache_key("m", "h2", ["a", "b"], ""),
              cache_key("m", "h", ["b", "a"], ""), cache_key("m", "h", ["a", "b"], "p")]  # fmt: skip
    assert base not in others and len(set(others)) == len(others)


def test_cached_adapter_matches_inner_and_skips_inference(tmp_path):
    images = make_images(50)
    images += [images[3], images[7]]  # duplicates are asked once
    expected = FakeModel().classify(images, LABELS)
    inner = FakeModel()
    cached = CachedAdapter(inner, PredictionCache(tmp_path / "c.sqlite"), "fake@1", chunk=16)
    assert cached.spec == "fake" and cached.describe() == {"spec": "fake"}

    assert cached.classify(images, LABELS) == expected
    assert (inner.calls, len(inner.asked), cached.misses, cached.hits) == (4, 50, 50, 2)
    assert cached.classify(images, LABELS) == expected
    assert (inner.calls, cached.hits) == (4, 54)

    # Other labels or another request are other questions.
    cached.classify(images[:5], LABELS[::-1])
    CachedAdapter(inner, cached.cache, "fake@1", request="prompt 2").classify(images[:5], LABELS)
    assert len(inner.asked) == 60


def _write_entries(path: Path, worker: int, start: multiprocessing.Barrier) -> None:
    cache = PredictionCache(path)
    start.wait()
    for i in range(200):  # one transaction each, for as much contention as possible
        cache.put_many({f"{worker}-{i}": Prediction(f"label {i}", (float(worker), i / 7), None)})


def test_concurrent_writers(tmp_path):
    path = tmp_path / "c.sqlite"
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(3)
    workers = [context.Process(target=_write_entries, args=(path, w, start)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    keys = [f"{w}-{i}" for w in range(3) for i in range(200)]
    found = PredictionCache(path).get_many(keys)
    assert len(found) == 600
    assert found["2-199"] == Prediction("label 199", (2.0, 199 / 7), None)


CHILD = """
import sys
sys.path[:0] = [{root!r}, {tests!r}]
from pathlib import Path
from ood_fixtures.store.cache import CachedAdapter, PredictionCache
from test_cache import FakeModel, LABELS, make_images
CachedAdapter(FakeModel(delay=0.02), PredictionCache(Path({path!r})), "fake@1", chunk=20).classify(
    make_images(400), LABELS)
"""


def _rows(path: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
            return db.execute("SELECT count(*) FROM predictions").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_killed_run_resumes(tmp_path):
    path = tmp_path / "c.sqlite"
    code = CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), path=str(path))
    child = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while child.poll() is None and not (path.exists() and _rows(path) > 0) and time.monotonic() < deadline:
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    done = _rows(path)
    assert 0 < done < 400 and done % 20 == 0  # whole chunks only

    images = make_images(400)
    inner = FakeModel()
    cache = PredictionCache(path)
    stored = set(cache.get_many([cache_key("fake@1", image_hash(i), LABELS, "") for i in images]))
    resumed = CachedAdapter(inner, cache, "fake@1", chunk=20).classify(images, LABELS)

    assert len(inner.asked) == 400 - done
    assert not {cache_key("fake@1", h, LABELS, "") for h in inner.asked} & stored
    uninterrupted = CachedAdapter(FakeModel(), PredictionCache(tmp_path / "fresh.sqlite"), "fake@1", chunk=20)
    assert resumed == uninterrupted.classify(images, LABELS) == FakeModel().classify(images, LABELS)
