"""The diagnosis: the linear probe on feature sets whose answer is known, the verdict rules, the gate, and one
measurement end to end on a toy model whose features are good but whose answers are not."""

import numpy as np
import pytest

from generators.shapes import ShapeGenerator
from ood_fixtures.evaluation import diagnosis
from ood_fixtures.adapters.base import Adapter, Prediction
from ood_fixtures.catalog.descriptions import DESCRIPTIONS, described
from ood_fixtures.catalog.cells import Cell


def clusters(separation: float, classes: int = 4, per_class: int = 60, dims: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dims)) * separation
    labels = [f"c{k}" for k in range(classes) for _ in range(per_class)]
    features = np.repeat(centres, per_class, axis=0) + rng.normal(size=(classes * per_class, dims))
    return features, labels


def test_the_probe_separates_separable_features():
    features, labels = clusters(separation=5.0)
    assert diagnosis.probe_correct(features, labels, seed=0).mean() > 0.97


def test_the_probe_is_at_chance_on_noise():
    features, labels = clusters(separation=0.0)
    assert diagnosis.probe_correct(features, labels, seed=0).mean() < 0.4  # chance is 0.25


def test_the_probe_is_deterministic_per_seed_and_copes_with_rare_classes():
    features, labels = clusters(separation=1.0)
    first = diagnosis.probe_correct(features, labels, seed=3)
    assert np.array_equal(first, diagnosis.probe_correct(features, labels, seed=3))
    rare = labels[:-58]  # class c3 keeps 2 samples: 2 folds
    assert len(diagnosis.probe_correct(features[:-58], rare, seed=0)) == len(rare)
    assert diagnosis.probe_correct(features[:5], ["a"] * 5, seed=0).all()


@pytest.mark.parametrize(
    "zero_shot, probe, gain, classes, expected",
    [
        (0.95, 0.95, 0.0, 4, []),  # generalises
        (0.30, 0.95, 0.0, 4, ["mapping"]),
        (0.30, 0.40, 0.0, 4, ["weak features"]),  # 0.40 is 20% of the way from chance (0.25) to 1
        (0.30, 0.40, 0.2, 4, ["label semantics", "weak features"]),
        (0.30, 0.40, None, 4, ["weak features"]),  # no descriptions: no semantic probe
        (0.50, 0.60, 0.0, 2, ["weak features"]),  # two classes: 0.6 is only 20% above chance
        (0.50, 0.60, 0.0, 24, []),  # 24 classes: 0.6 is a good probe, and the gap is small: unexplained
    ],
)  # fmt: skip
def test_causes(zero_shot, probe, gain, classes, expected):
    assert diagnosis.causes(zero_shot, probe, gain, classes) == expected


def measurement(probe_right: int, plain_right: int, n: int = 100) -> diagnosis.Measurement:
    return diagnosis.Measurement(["a", "b"], ["a"] * n, ["a"] * plain_right + ["b"] * (n - plain_right), None,
                                 [True] * probe_right + [False] * (n - probe_right))  # fmt: skip


CELL = Cell("natural", "objects", "sketch", None, ShapeGenerator(64))


def test_the_gate_fails_a_weak_probe_or_a_wide_gap_and_names_the_limit():
    ok = diagnosis.decide(CELL, measurement(95, 90), {"min_probe_accuracy": 0.8, "max_mapping_gap": 0.2})
    assert ok.verdict.outcome == "pass"
    weak = diagnosis.decide(CELL, measurement(70, 60), {"min_probe_accuracy": 0.8})
    assert weak.verdict.outcome == "fail" and "min_probe_accuracy 0.800" in weak.verdict.reasons[0]
    wide = diagnosis.decide(CELL, measurement(95, 40), {"max_mapping_gap": 0.2})
    assert wide.verdict.outcome == "fail" and "mapping gap +0.550" in wide.verdict.reasons[0]
    assert diagnosis.decide(CELL, measurement(95, 40), {"min_accuracy": 0.5}).verdict.outcome == "ungated"


def test_a_measurement_survives_its_record():
    m = measurement(80, 50)
    assert diagnosis.Measurement.decode(m.encode()) == m


def test_every_generated_label_has_a_description():
    from generators import digits, domains, histology, molecules, patterns, xray

    sources = [ShapeGenerator(64), digits.domain(digits.SOURCE_DOMAIN), patterns.domain(patterns.SOURCE_DOMAIN),
               domains.domain("photo"), histology.domain("hospital_1"), xray.domain("scanner_a"),
               molecules.domain(molecules.SOURCE_DOMAIN)]  # fmt: skip
    for source in sources:
        assert all(label in DESCRIPTIONS for label in source.labels), source.name
    assert described("red circle") == "red circle (a round shape with no corners, coloured red)"


class GoodFeaturesWrongAnswers(Adapter):
    """Its features are the image's pixels, 8 x 8 grey (enough to tell clear lungs from opacities linearly), but it
    always answers the first label: a mapping deficiency by construction."""

    spec = "toy"

    def classify(self, images, labels):
        return [Prediction(labels[0]) for _ in images]

    def features(self, images):
        return np.stack([image.mean(2).reshape(8, 8, 8, 8).mean((1, 3)).ravel() for image in images])


def test_measure_finds_a_mapping_deficiency_by_construction():
    from generators import xray

    lungs = Cell("medical", "chest-xray", "scanner_a", None, xray.domain("scanner_a"))
    m = diagnosis.measure(lungs, GoodFeaturesWrongAnswers(), seed=0, count=120)
    row = diagnosis.decide(lungs, m, {})
    assert row.probe > row.zero_shot + diagnosis.MAPPING_GAP and row.causes == ["mapping"]
    assert m.described is not None and row.semantic_gain == 0.0  # it answers the first option, described or not
    assert row.to_dict()["id"] == "diagnosis/medical/chest-xray/scanner_a"


def test_a_plain_name_answers_a_described_question():
    options = [described("clear lungs"), described("lung opacity")]
    labels = ["clear lungs", "lung opacity"]
    assert diagnosis._described_answer(Prediction(options[1]), options, labels) == "lung opacity"
    assert diagnosis._described_answer(Prediction(None, text="Answer Choice: clear lungs"), options, labels) == "clear lungs"
    assert diagnosis._described_answer(Prediction(None, text="no idea"), options, labels) is None


def test_too_few_images_per_class_is_a_skip_that_says_how_many_samples_to_ask_for():
    from ood_fixtures.adapters.base import Unsupported

    lungs = Cell("medical", "chest-xray", "scanner_a", None, medical_xray())
    with pytest.raises(Unsupported, match=r"diagnosis needs >= 2 images per class .* raise --samples to \d+ or more"):
        diagnosis.measure(lungs, GoodFeaturesWrongAnswers(), seed=0, count=2)


def test_a_label_the_cell_never_shows_is_no_class_of_the_probe():
    """The compositional held-out row lists a combination its images never show: that is not a rare class."""

    class WithAHeldOutLabel:
        labels = (*medical_xray().labels, "never shown")

        def sample(self, seed, index):
            return medical_xray().sample(seed, index)

    cell = Cell("medical", "chest-xray", "held-out", None, WithAHeldOutLabel())
    truth = [cell.render(0, index).label for index in range(40)]
    assert "never shown" in cell.labels and "never shown" not in truth
    diagnosis._enough_per_class(cell, truth, 40)  # no Unsupported


def medical_xray():
    from generators import xray

    return xray.domain("scanner_a")
