"""A cell streamed in batches: the same answers and examples as the whole cell at once (`render`, then `answer`)
at any batch size, at most two batches of images alive, rendering overlapped with inference, errors raised
once and at once; the diagnosis streamed the same way; the in-context queries a pair remembers, bounded."""

import random
import threading
import time
import weakref

import numpy as np
import pytest

from generators import domains, shapes
from generators.corruptions import Corrupter
from generators.sample import Sample, SampleError
from ood_fixtures.adapters.base import Adapter, Prediction, Settings
from ood_fixtures.catalog import icl
from ood_fixtures.catalog.cells import Cell, domain_shift
from ood_fixtures.evaluation import diagnosis, predict

SIZE = 64
NOISY = Cell("corruption", "shapes", "gaussian_noise", 3, shapes.domain(shapes.SOURCE_DOMAIN, SIZE),
             Corrupter("gaussian_noise", 3, SIZE))  # fmt: skip


class Bright(Adapter):
    """Answers by mean brightness, with scores: right on some images, wrong on others, whatever the batch."""

    spec = "bright"

    def classify(self, images, labels):
        out = []
        for image in images:
            k = int(image.mean()) % len(labels)
            scores = np.full(len(labels), 0.5 / (len(labels) - 1))
            scores[k] = 0.5
            out.append(Prediction(labels[k], tuple(scores)))
        return out

    def features(self, images):
        return np.stack([image.reshape(-1, 3).mean(0) for image in images])


class Nearest(Bright):
    """In context: the label of the example nearest in mean colour (a model that reads its examples)."""

    def classify_in_context(self, episodes, labels):
        def mean(image):
            return image.reshape(-1, 3).mean(0)

        return [Prediction(min(e.examples, key=lambda ex: np.abs(mean(ex[0]) - mean(e.image)).sum())[1])
                for e in episodes]  # fmt: skip


class Unreadable:
    """A finite source whose every fifth image cannot be read, as a real dataset's broken files."""

    def __init__(self, inner, count=60):
        self.inner, self.count = inner, count
        self.name, self.labels = inner.name, inner.labels

    def __len__(self):
        return self.count

    def sample(self, seed, index):
        if index % 5 == 3:
            raise SampleError(f"s{index}", self.inner.labels[0], f"cannot read file {index}.png")
        return self.inner.sample(seed, index)


def old_examples(results, readable):
    """The example rule as a whole cell applied it, on every index: the first two samples, the first two wrong
    answers, then more samples up to EXAMPLES_PER_CELL."""
    wrong = [i for i in readable if not results[i].correct]
    chosen = sorted(set(readable[:2]) | set(wrong[:2]))
    chosen += [i for i in readable if i not in chosen][: predict.EXAMPLES_PER_CELL - len(chosen)]
    return sorted(chosen)


def same(first, second):
    """Two `predict` answers are the same: every result, and the same examples with equal images."""
    (results, examples), (results_2, examples_2) = first, second
    assert results == results_2
    assert [r for r, _ in examples] == [r for r, _ in examples_2]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(examples, examples_2))


def whole(cell, adapter, count, seed=0):
    return predict.answer(cell, adapter, seed, predict.render(cell, seed, count))


@pytest.mark.parametrize("batch", [1, 7, 64, predict.BATCH])
def test_any_batch_size_gives_what_the_whole_cell_at_once_gives(batch):
    cell = Cell("real", "x", "y", None, Unreadable(NOISY.source), NOISY.transform)
    streamed = predict.predict(cell, Bright(), 0, 100, batch)  # the source has 60: all of them
    same(streamed, whole(cell, Bright(), 100))
    results, examples = streamed
    assert len(results) == 60 and results[3].text == "unreadable: cannot read file 3.png"
    readable = [i for i in range(60) if i % 5 != 3]
    index = {r.sample_id: i for i, r in enumerate(results)}
    assert [index[r.sample_id] for r, _ in examples] == old_examples(results, readable)


def test_the_examples_are_chosen_as_a_whole_cell_chose_them():
    rng = random.Random(0)
    for _ in range(500):
        n = rng.randrange(0, 12)
        right = [rng.random() < rng.choice([0.1, 0.5, 0.9]) for _ in range(n)]
        results = [predict.SampleResult(str(i), "a", "a" if ok else "b", None, None) for i, ok in enumerate(right)]
        readable = [i for i in range(n) if rng.random() < 0.8]
        chooser = predict.Examples()
        for i in readable:
            chooser.offer(i, results[i], np.full((2, 2, 3), i, np.uint8))
        chosen = chooser.chosen()
        assert [int(r.sample_id) for r, _ in chosen] == old_examples(results, readable)
        assert all(image[0, 0, 0] == int(r.sample_id) for r, image in chosen)
        assert len(chooser.kept) <= predict.EXAMPLES_PER_CELL + predict.WRONG


SOURCE, TARGET = domain_shift("natural", "objects", "photo", ("sketch",), lambda d: domains.domain(d, SIZE))
ICL = {(c.shift, c.severity): c for c in icl.cells("objects-sketch", SOURCE, TARGET)}


@pytest.mark.parametrize("key", [("target", 4), ("spurious", 2), ("skewed", 2), ("none", 0)])
@pytest.mark.parametrize("adapter", [Nearest(), Bright()], ids=["in-context", "tip-adapter"])
def test_in_context_cells_give_the_same_answers_at_any_batch_size(key, adapter):
    cell = ICL[key]
    expected = whole(cell, adapter, 30)
    for batch in (1, 7, 64):
        same(predict.predict(cell, adapter, 0, 30, batch), expected)


def test_the_reference_clip_answers_the_same_streamed_or_whole():
    """Equal chunks give equal answers bit for bit: the default batch, and any multiple of the model's own batch
    (64 on a CPU). Other batch sizes move the model's chunk boundaries, and its scores (not its labels) move in
    the last float32 digits: the reason BATCH is a multiple of every batch the model is asked in."""
    from ood_fixtures import adapters

    def reference():  # a fresh model each time: one model keeps the embeddings of the images it has seen
        return adapters.create("reference", Settings(device="cpu"))

    count = predict.BATCH + 44  # two batches, the second one partial
    expected = whole(NOISY, reference(), count)
    for batch in (predict.BATCH, 64, 128):
        same(predict.predict(NOISY, reference(), 0, count, batch), expected)
    for batch in (1, 7):
        results, _ = predict.predict(NOISY, reference(), 0, count, batch)
        assert [r.prediction for r in results] == [r.prediction for r in expected[0]]
        assert max(abs(r.confidence - e.confidence) for r, e in zip(results, expected[0])) < 1e-5
    # the diagnosis's three questions, streamed, on the same images as at once
    streamed = diagnosis.measure(NOISY, reference(), 0, count)
    assert streamed == diagnosis.measure(NOISY, reference(), 0, count, batch=count)


def test_the_diagnosis_measures_the_same_at_any_batch_size():
    from generators import xray

    lungs = Cell("medical", "chest-xray", "scanner_a", None, xray.domain("scanner_a"))
    at_once = diagnosis.measure(lungs, Bright(), 0, 60, batch=60)  # one batch: the whole cell, as before
    for batch in (1, 7, 64):
        assert diagnosis.measure(lungs, Bright(), 0, 60, batch) == at_once


class Tracked:
    """A source whose images are counted while alive."""

    def __init__(self, inner, delay=0.0):
        self.inner, self.delay = inner, delay
        self.name, self.labels = inner.name, inner.labels
        self.alive = 0
        self.lock = threading.Lock()
        self.drawn_in: set[str] = set()

    def _gone(self):
        with self.lock:
            self.alive -= 1

    def sample(self, seed, index):
        time.sleep(self.delay)
        sample = self.inner.sample(seed, index)
        image = sample.image.copy()
        with self.lock:
            self.alive += 1
        weakref.finalize(image, self._gone)
        self.drawn_in.add(threading.current_thread().name)
        return Sample(image, sample.label, sample.sample_id)


def test_at_most_two_batches_of_images_are_alive_and_the_next_renders_during_inference():
    source = Tracked(shapes.domain(shapes.SOURCE_DOMAIN, SIZE))
    cell = Cell("corruption", "shapes", "clean", 0, source)
    batch, peaks = 10, []
    next_batch = threading.Event()

    class Watching(Bright):
        def classify(self, images, labels):
            # the next batch is drawn while this one is answered: its first image comes before this returns
            rendered_next = next_batch.wait(timeout=10) if len(peaks) < 4 else True
            peaks.append((source.alive, rendered_next))
            next_batch.clear()
            return super().classify(images, labels)

    original = source.sample

    def sample(seed, index):
        out = original(seed, index)
        if index % batch == 0 and index:
            next_batch.set()
        return out

    source.sample = sample
    results, examples = predict.predict(cell, Watching(), 0, 95, batch)
    assert len(results) == 95 and len(peaks) == 10
    assert all(rendered for _, rendered in peaks[:4])
    # this batch, the next, and the report's examples kept so far (at most 6)
    assert max(alive for alive, _ in peaks) <= 2 * batch + predict.EXAMPLES_PER_CELL + predict.WRONG
    assert all(name.startswith("render") for name in source.drawn_in)
    del examples
    assert source.alive == 0  # nothing keeps an image once the cell is answered and its examples dropped


def test_an_error_in_rendering_is_raised_once_and_leaves_no_thread():
    class Broken:
        name, labels = "broken", ["a", "b"]

        def sample(self, seed, index):
            if index == 23:
                raise OSError("disk gone")
            return Sample(np.zeros((8, 8, 3), np.uint8), "a", str(index))

    before = threading.active_count()
    with pytest.raises(OSError, match="disk gone"):
        predict.predict(Cell("x", "y", "z", None, Broken()), Bright(), 0, 100, 10)
    assert threading.active_count() == before


def test_an_error_of_the_model_stops_the_rendering_at_once():
    source = Tracked(shapes.domain(shapes.SOURCE_DOMAIN, SIZE), delay=0.02)
    cell = Cell("corruption", "shapes", "clean", 0, source)

    class Failing(Bright):
        def classify(self, images, labels):
            raise RuntimeError("device lost")

    before = threading.active_count()
    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="device lost"):
        predict.predict(cell, Failing(), 0, 200, 50)  # the next batch would take 1 s to render
    assert time.perf_counter() - started < 1.6  # the first batch (1 s), then one image more: not the next 1 s
    assert threading.active_count() == before


@pytest.mark.parametrize("answers, message", [(lambda n: n - 1, "fewer than the 7"),
                                              (lambda n: n + 1, "more than the 7")])  # fmt: skip
def test_a_model_that_answers_fewer_or_more_images_than_asked_fails(answers, message):
    class Miscounting(Bright):
        def classify(self, images, labels):
            return [Prediction(labels[0])] * answers(len(images))

    with pytest.raises(RuntimeError, match=f"answered {message} images of corruption/shapes/gaussian_noise/3"):
        predict.predict(NOISY, Miscounting(), 0, 20, 7)


def test_no_images_is_no_answers():
    assert predict.predict(NOISY, Bright(), 0, 0) == ([], [])
    with pytest.raises(ValueError, match="at least 1"):
        list(predict.stream(lambda i: i, 5, 0))


def test_a_batch_for_a_model_asked_in_batches_of_its_own():
    assert predict.batch_for(None) == predict.BATCH
    assert [predict.batch_for(n) for n in (1, 64, 100, 256, 1000)] == [256, 256, 300, 256, 1000]


def test_remembered_queries_are_bounded_and_the_same_when_drawn_again():
    remembered = icl.Remembered(TARGET.source, budget=10 * SIZE * SIZE * 3)  # ten images
    first = [remembered.sample(0, i) for i in range(25)]
    again = [remembered.sample(0, i) for i in range(25)]
    assert remembered._bytes <= remembered.budget and len(remembered._drawn) == 10
    assert all(a is b for a, b in zip(first[:10], again[:10]))  # the first ones kept
    assert all(a.sample_id == b.sample_id and a.label == b.label and np.array_equal(a.image, b.image)
               for a, b in zip(first, again))  # fmt: skip
    assert icl.Remembered.BUDGET >= 100 * 448 * 448 * 3  # a pair's queries of a default run fit at 448 px


def test_every_in_context_pair_draws_its_queries_again_the_same():
    from ood_fixtures.catalog import scenarios

    for name, (_, target) in scenarios.at(SIZE).icl_pairs.items():
        for index in (0, 7):
            a, b = target.source.sample(0, index), target.source.sample(0, index)
            assert a.sample_id == b.sample_id and a.label == b.label and np.array_equal(a.image, b.image), name
