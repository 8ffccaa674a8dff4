"""In-context examples: their selection (balance, skew, the spurious feature), their determinism, and the
few-shot fallback for models that take one image per question."""

from collections import Counter

import numpy as np
import pytest
from scipy import stats

from generators import domains
from generators.seeding import rng_for
from ood_fixtures.catalog import icl
from ood_fixtures.evaluation import fewshot, incontext
from ood_fixtures.adapters.base import Adapter, Episode, Prediction, Unsupported
from ood_fixtures.catalog.cells import Cell, domain_shift

SOURCE, TARGET = domain_shift("natural", "objects", "photo", ("sketch",), domains.domain)
CELLS = {(c.shift, c.severity): c for c in icl.cells("objects-sketch", SOURCE, TARGET)}
LABELS = TARGET.labels


def test_the_table_has_a_zero_shot_reference_and_every_setting_at_every_count():
    zero = CELLS[("none", 0)]
    assert zero.context is None and zero.reference is None
    expected = {(s, n) for s in icl.SETTINGS for n in icl.SHOTS} | {("spurious", 0)}
    assert set(CELLS) - {("none", 0)} == expected
    assert all(c.reference is zero for key, c in CELLS.items() if key != ("none", 0))
    assert CELLS[("source", 4)].context.pool is SOURCE and CELLS[("target", 4)].context.pool is TARGET


@pytest.mark.parametrize("shots", range(1, 20))
def test_balanced_counts_differ_by_at_most_one(shots):
    for query in range(20):
        chosen = icl.balanced(LABELS, shots, rng_for("t", shots, query))
        counts = Counter(chosen)
        assert len(chosen) == shots and set(chosen) <= set(LABELS)
        assert max(counts.values()) - min(counts.values()) <= 1
        assert len(counts) == min(shots, len(LABELS))


def test_balanced_draws_which_classes_when_fewer_shots_than_classes():
    drawn = {frozenset(icl.balanced(LABELS, 2, rng_for("t", q))) for q in range(60)}
    assert len(drawn) > 10  # not always the first two classes


@pytest.mark.parametrize("shots", [2, 4, 8])
def test_skewed_takes_all_but_one_from_one_class(shots):
    for query in range(20):
        counts = Counter(icl.skewed(LABELS, shots, rng_for("t", query)))
        assert sorted(counts.values()) == [1, shots - 1] if shots > 2 else sorted(counts.values()) == [1, 1]


def test_examples_come_from_the_pool_domain_at_indices_no_query_uses():
    for key, pool in [(("target", 8), TARGET), (("source", 8), SOURCE)]:
        cell = CELLS[key]
        shown = icl.examples(cell, 0, 3)
        assert len(shown) == 8
        pool_ids = {s.sample_id for samples in icl.pool(pool, 0).values() for s in samples}
        assert {s.sample_id for s in shown} <= pool_ids
        query_ids = {cell.render(0, i).sample_id for i in range(100)}
        assert not query_ids & pool_ids


def test_examples_are_deterministic_and_the_spurious_cell_shows_the_target_examples_framed():
    target, spurious = CELLS[("target", 8)], CELLS[("spurious", 8)]
    for query in range(5):
        first = icl.examples(target, 0, query)
        assert [s.sample_id for s in first] == [s.sample_id for s in icl.examples(target, 0, query)]
        assert [s.sample_id for s in first] == [s.sample_id for s in icl.examples(spurious, 0, query)]
    assert [s.sample_id for s in icl.examples(target, 0, 0)] != [s.sample_id for s in icl.examples(target, 1, 0)]


def test_skewed_examples_hold_the_skew():
    for query in range(10):
        counts = Counter(s.label for s in icl.examples(CELLS[("skewed", 8)], 0, query))
        assert sorted(counts.values()) == [1, 7]


def frame_colour(image: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in image[0, 0])


def test_the_spurious_frame_predicts_the_label_in_the_examples_and_not_in_the_queries():
    cell = CELLS[("spurious", 8)]
    colours = {icl.colour(LABELS, label): label for label in LABELS}
    assert len(colours) == len(LABELS)  # one colour per class
    for query in range(20):
        for example in icl.examples(cell, 0, query):
            assert colours[frame_colour(example.image)] == example.label
    queries = [cell.render(0, index) for index in range(300)]
    table = np.zeros((len(LABELS), len(LABELS)))
    for sample in queries:
        table[LABELS.index(colours[frame_colour(sample.image)]), LABELS.index(sample.label)] += 1
    agreement = np.trace(table) / len(queries)
    assert agreement < 0.25  # chance is 1/7; in the examples it is 1
    assert stats.chi2_contingency(table).pvalue > 0.001  # frame colour independent of the label


def test_a_source_that_never_yields_a_class_is_a_clear_error():
    class OneClass:
        name, labels = "one-class", ["a", "b"]

        def sample(self, seed, index):
            return domains.domain("photo").sample(seed, index).__class__(np.zeros((8, 8, 3), np.uint8), "a", str(index))

    with pytest.raises(ValueError, match="fewer than 8 images of b"):
        icl.pool(Cell("x", "y", "z", None, OneClass()), 0)


class Toy(Adapter):
    """Features are the class's one-hot vector; zero-shot scores are uniform, so only the examples can help."""

    spec = "toy"

    def __init__(self, scores=True):
        self.scores = scores

    def classify(self, images, labels):
        uniform = tuple(1 / len(labels) for _ in labels)
        return [Prediction(labels[0], uniform if self.scores else None) for _ in images]

    def features(self, images):
        return np.stack([np.eye(4)[int(image[0, 0, 0])] for image in images])


def image(k: int) -> np.ndarray:
    return np.full((4, 4, 3), k, np.uint8)


def test_tip_adapter_follows_examples_of_the_query_class():
    labels = ["a", "b", "c", "d"]
    episodes = [Episode(((image(2), "c"), (image(1), "b")), image(2)), Episode(((image(3), "d"),), image(1))]
    answers = fewshot.classify(Toy(), episodes, labels)
    assert answers[0].label == "c"  # the example most like the query
    assert answers[1].label == "d"  # no example of class b: the only example still adds to its own class
    assert answers[0].scores[2] > answers[0].scores[1] > answers[0].scores[0]


def test_models_without_context_or_features_say_why_nothing_can_run():
    class Plain(Toy):
        features = Adapter.features

    episodes = [Episode(((image(0), "a"),), image(0))]
    assert incontext.answer(Toy(), episodes, ["a", "b", "c", "d"])[0].label == "a"  # Tip-Adapter
    with pytest.raises(Unsupported, match="one image per question.*no image features"):
        incontext.answer(Plain(), episodes, ["a", "b"])
    with pytest.raises(Unsupported, match="no scores"):
        fewshot.classify(Toy(scores=False), episodes, ["a", "b", "c", "d"])
    assert Toy().capabilities() == ["features"] and Plain().capabilities() == []


def test_zero_examples_are_a_plain_question_for_any_model():
    class Plain(Toy):
        features = Adapter.features

    assert incontext.answer(Plain(), [Episode((), image(0))], ["a", "b"])[0].label == "a"


def test_method_names_how_examples_are_used():
    assert incontext.method(["classify_in_context", "features"]) == "in-context examples"
    assert incontext.method(["features"]).startswith("few-shot adaptation (Tip-Adapter, alpha and beta tuned")
    assert incontext.method([]) is None


@pytest.mark.parametrize("key", [("target", 2), ("skewed", 8), ("spurious", 4), ("source", 8)])
def test_held_out_episodes_use_only_the_pool_and_never_show_a_query_itself(key):
    context = CELLS[key].context
    episodes = icl.held_out(context, 0)
    pool = icl.pool(context.pool, 0, context.spurious)
    assert [q for q, _ in episodes] == [s for samples in pool.values() for s in samples]  # each pool image once
    in_pool = {id(s) for samples in pool.values() for s in samples}
    for query, shown in episodes:
        assert len(shown) == context.shots and all(id(s) in in_pool for s in shown)
        assert all(s is not query for s in shown)
        if context.selection == "skewed":
            assert sorted(Counter(s.label for s in shown).values()) == [1, context.shots - 1]
    def ids(drawn):
        return [[s.sample_id for s in shown] for _, shown in drawn]

    assert ids(icl.held_out.__wrapped__(context, 0)) == ids(episodes)  # drawn again, uncached: the same


class Confident(Toy):
    """Zero-shot always says "a" with a margin of about 6.9 nats; the features show the true class (the image's
    value), so examples of the query's class help only when their weight beats that margin."""

    def classify(self, images, labels):
        return [Prediction(labels[0], (0.997, 0.001, 0.001, 0.001)) for _ in images]


def held_out_episodes(count=12):
    return [(Episode(((image(k % 4), "abcd"[k % 4]), (image((k + 1) % 4), "abcd"[(k + 1) % 4])), image(k % 4)),
             "abcd"[k % 4]) for k in range(count)]


def test_tuning_finds_weights_that_beat_the_zero_shot_margin_where_the_papers_do_not():
    labels = ["a", "b", "c", "d"]
    held_out = held_out_episodes()
    papers = fewshot.classify(Confident(), [e for e, _ in held_out], labels)
    assert [p.label for p in papers] == ["a"] * 12  # alpha 1 cannot move a 6.9-nat margin
    weights = fewshot.tune(Confident(), held_out, labels)
    assert weights.alpha > 6.9
    tuned = fewshot.classify(Confident(), [e for e, _ in held_out], labels, weights)
    assert [p.label for p in tuned] == [label for _, label in held_out]


def test_tuning_keeps_zero_shot_when_the_examples_mislead():
    class Misleading(Confident):
        def classify(self, images, labels):  # zero-shot is right: the image's value is its class
            return [Prediction(labels[int(i[0, 0, 0])], tuple(0.97 if k == int(i[0, 0, 0]) else 0.01
                                                             for k in range(4))) for i in images]  # fmt: skip

        def features(self, images):  # every image looks alike: affinity says nothing
            return np.ones((len(images), 4))

    labels = ["a", "b", "c", "d"]
    wrong = [(Episode(((image(k % 4), "abcd"[(k + 1) % 4]),) * 2, image(k % 4)), "abcd"[k % 4]) for k in range(12)]
    assert fewshot.tune(Misleading(), wrong, labels).alpha == 0.0
    assert fewshot.tune(Misleading(), [], labels) == fewshot.PAPER


def test_a_cell_is_tuned_once_on_its_held_out_episodes_whatever_the_batches():
    class Counting(Toy):
        asked = 0

        def classify(self, images, labels):
            Counting.asked += len(images)
            return super().classify(images, labels)

        def features(self, images):  # mean colour: real images, not the toy's one-hot values
            return np.stack([image.reshape(-1, 3).mean(axis=0) + 1 for image in images])

    adapter, cell = Counting(), CELLS[("target", 2)]
    episodes = [incontext.episode(cell, 0, i, cell.render(0, i).image) for i in range(6)]
    whole = incontext.answer(adapter, episodes, LABELS, cell.context, 0)
    tuning = len(icl.held_out(cell.context, 0))
    assert Counting.asked == tuning + 6
    halves = incontext.answer(adapter, episodes[:3], LABELS, cell.context, 0)
    halves += incontext.answer(adapter, episodes[3:], LABELS, cell.context, 0)
    assert Counting.asked == tuning + 12 and halves == whole
