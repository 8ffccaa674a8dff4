"""Cell records: a rerun with nothing changed is served from the cache without rendering or loading the model,
and any change to what the cell depends on renders it again."""

import gc
from pathlib import Path

import numpy as np
import pytest

from generators.shapes import ShapeGenerator
from ood_fixtures import adapters
from ood_fixtures.store import records
from ood_fixtures.store.hashing import identity
from ood_fixtures.adapters.base import Adapter, Prediction, Settings
from ood_fixtures.store.cache import PredictionCache
from ood_fixtures.evaluation.predict import SampleResult
from ood_fixtures.store.model import ModelLoadError, ModelUnderTest
from ood_fixtures.catalog.cells import Cell

MODULE = Path(__file__)


class CountingModel(Adapter):
    """Names the first label for dark images and the second for bright ones."""

    def classify(self, images, labels):
        CountingFactory.asked += len(images)
        return [Prediction(labels[int(image.mean() > 127)], (0.5, 0.5)) for image in images]

    def describe(self):
        return {"spec": self.spec, "fingerprint": "counting-v1"}


class CountingFactory:
    loads = 0
    asked = 0
    fails = False

    def check(self, argument, settings):
        pass

    def create(self, argument, settings):
        if CountingFactory.fails:
            raise OSError("weights file is truncated")
        CountingFactory.loads += 1
        return CountingModel()

    def fingerprint(self, argument, settings):
        return f"counting:{argument}"


@pytest.fixture(autouse=True)
def counting_adapter(monkeypatch):
    # Registered for these tests only: other tests check the list of known prefixes.
    adapters.resolve("reference")  # the built-in adapters first, so that the registry is complete
    monkeypatch.setitem(adapters._FACTORIES, "counting", CountingFactory())
    CountingFactory.loads = CountingFactory.asked = 0
    CountingFactory.fails = False


class CountingSource:
    """Shapes, counting how many images were rendered."""

    def __init__(self):
        self.shapes = ShapeGenerator(size=32)
        self.name, self.labels = "shapes", self.shapes.labels
        self.rendered = 0

    def sample(self, seed, index):
        self.rendered += 1
        return self.shapes.sample(seed, index)


def model(tmp_path, spec="counting:a"):
    return ModelUnderTest(spec, Settings(), PredictionCache(tmp_path / "cache.sqlite"))


def test_a_rerun_renders_nothing_and_loads_no_model(tmp_path):
    source = CountingSource()
    cell = Cell("corruption", "shapes", "clean", 0, source)
    first = model(tmp_path).answers(cell, 0, 30, MODULE)
    assert (CountingFactory.loads, CountingFactory.asked, source.rendered) == (1, 30, 30)

    again = model(tmp_path)  # a new process, as the next run's worker would be
    second = again.answers(cell, 0, 30, MODULE)
    assert (CountingFactory.loads, CountingFactory.asked, source.rendered) == (1, 30, 30)
    assert second[0] == first[0]
    assert [s for s, _ in second[1]] == [s for s, _ in first[1]]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(first[1], second[1]))
    assert again.description() == {"spec": "counting:a", "fingerprint": "counting-v1", "device": "cpu", "capabilities": []}


def test_the_next_cell_is_drawn_ahead_once_and_not_when_recorded(tmp_path):
    source = CountingSource()
    cell = Cell("corruption", "shapes", "clean", 0, source)
    ahead = model(tmp_path)
    ahead.prefetch(cell, 0, 30, MODULE)
    ahead.answers(cell, 0, 30, MODULE)
    assert source.rendered == 30  # the images drawn ahead are the ones answered, not drawn again

    recorded = model(tmp_path)  # a new process: the cell's record is in the cache
    recorded.prefetch(cell, 0, 30, MODULE)
    recorded.answers(cell, 0, 30, MODULE)
    assert source.rendered == 30 and CountingFactory.asked == 30


@pytest.mark.parametrize("change", ["seed", "count", "model", "cell", "labels"])
def test_a_change_to_what_the_cell_depends_on_renders_it_again(tmp_path, change):
    source = CountingSource()
    cell = Cell("corruption", "shapes", "clean", 0, source)
    model(tmp_path).answers(cell, 0, 10, MODULE)
    seed, count, spec = (1 if change == "seed" else 0), (11 if change == "count" else 10), "counting:a"
    if change == "model":
        spec = "counting:b"
    if change == "cell":
        cell = Cell("corruption", "shapes", "other", 0, source)
    if change == "labels":
        source.labels = source.labels[:-1]
    model(tmp_path, spec).answers(cell, seed, count, MODULE)
    assert source.rendered > 10


def test_the_rendering_code_is_part_of_the_key(tmp_path):
    module = tmp_path / "test_scenario.py"
    module.write_text("SIZE = 32\n")
    before = records.render_digest(module)
    module.write_text("SIZE = 48\n")
    records.render_digest.cache_clear()
    assert records.render_digest(module) != before
    assert '"numpy"' in before  # the imaging libraries' versions too


def test_the_key_covers_whole_packages_not_a_list_of_files():
    """Every module that decides what a cell shows or how it is asked is hashed, a new one included: the real
    datasets' reader, the in-context examples, the generators' subpackages."""
    import generators
    from ood_fixtures.catalog import datasets, icl
    from ood_fixtures.evaluation import diagnosis, predict

    hashed = set(records.package_files(*records.RENDERING))
    for module in (generators, datasets, icl, diagnosis, predict):
        assert Path(module.__file__).resolve() in hashed
    assert all(Path(p).resolve() in hashed for p in Path(generators.__file__).parent.rglob("*.py"))


def test_models_without_a_fingerprint_are_never_served_from_records(tmp_path):
    def handle():  # one per run, as each run's worker has its own
        return ModelUnderTest("python:tests.models.toy:always_first", Settings(), PredictionCache(tmp_path / "c"))

    assert handle().identity is None
    source = CountingSource()
    cell = Cell("corruption", "shapes", "clean", 0, source)
    handle().answers(cell, 0, 5, MODULE)
    handle().answers(cell, 0, 5, MODULE)
    assert source.rendered == 10


def test_a_load_failure_is_raised_once_and_remembered(tmp_path):
    CountingFactory.fails = True
    handle = model(tmp_path)
    cell = Cell("corruption", "shapes", "clean", 0, CountingSource())
    for _ in range(2):
        with pytest.raises(ModelLoadError, match="cannot load --model counting:a: OSError: weights file is truncated"):
            handle.answers(cell, 0, 5, MODULE)


def test_the_first_load_pauses_the_collector_and_freezes_what_it_made(tmp_path, monkeypatch):
    """The start-up cut of #18: the cyclic collector pauses during the first model load of a process and what the
    load made is frozen. A failed load leaves the collector as it was; a later load is left alone."""
    # the test process's own objects stay collectable, and an earlier test's model load does not count
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(gc, "get_freeze_count", lambda: len(frozen))
    collecting, frozen = [], []
    create = CountingFactory.create
    monkeypatch.setattr(CountingFactory, "create", lambda self, *a: collecting.append(gc.isenabled()) or create(self, *a))
    cell = Cell("corruption", "shapes", "clean", 0, CountingSource())

    CountingFactory.fails = True
    with pytest.raises(ModelLoadError):
        model(tmp_path).answers(cell, 0, 5, MODULE)
    assert collecting == [False] and gc.isenabled() and not frozen

    CountingFactory.fails = False
    model(tmp_path).answers(cell, 0, 5, MODULE)
    assert collecting == [False, False] and gc.isenabled() and frozen == [True]

    model(tmp_path, "counting:b").answers(cell, 0, 5, MODULE)
    assert collecting == [False, False, True] and frozen == [True]


def test_records_round_trip_every_field():
    samples = [SampleResult("0", "cat", "cat", "Answer Choice: cat", 0.75),
               SampleResult("1", "dog", None, "no idea", None)]  # fmt: skip
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    decoded, examples = records.decode_cell(records.encode_cell(samples, [(samples[1], image)]))
    assert decoded == samples
    assert examples[0][0] == samples[1] and np.array_equal(examples[0][1], image)


def test_identity_names_what_changes_answers_but_not_the_batch_size():
    known = identity("counting:a", Settings(batch_size=8))
    assert known == identity("counting:a", Settings(batch_size=64))
    assert known != identity("counting:a", Settings(model_args={"dtype": "bfloat16"}))
    assert known != identity("counting:a", Settings(answer_mode="score"))
    assert identity("python:tests.models.toy:always_first", Settings()) is None


def test_a_real_dataset_cell_is_read_again_when_its_files_change(tmp_path):
    import os

    from ood_fixtures.catalog.datasets import FolderSource
    from tests.test_datasets import make_tree

    root = make_tree(tmp_path / "data")
    cell = Cell("real", "PACS", "photo", None, FolderSource(root, "PACS", "photo", samples=7))
    model(tmp_path).answers(cell, 0, 7, MODULE)
    model(tmp_path).answers(cell, 0, 7, MODULE)
    assert CountingFactory.loads == 1  # the second run came from the record
    image = next((root / "PACS" / "photo" / "dog").iterdir())
    os.utime(image, ns=(1, 1))
    changed = Cell("real", "PACS", "photo", None, FolderSource(root, "PACS", "photo", samples=7))
    model(tmp_path).answers(changed, 0, 7, MODULE)
    assert CountingFactory.loads == 2
