import numpy as np
import pytest

from ood_fixtures import adapters
from ood_fixtures.adapters import Settings, SpecError
from ood_fixtures.adapters.families.clip import REFERENCE_PATH


@pytest.mark.parametrize(
    "spec, message",
    [
        ("nonsense", "unknown --model 'nonsense': use one of reference, reference-vlm, clip:..., openai:..., python:..., vlm:..."),
        ("hub:some/model", "unknown --model 'hub:some/model'"),
        ("clip:", "names no model after 'clip:'"),
        ("python:nomodule", "write python:package.module:attribute"),
        ("python:no_such_module_xyz:f", "cannot import 'no_such_module_xyz'"),
    ],
)
def test_bad_specs_say_what_to_do(spec, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(".", r"\.")):
        adapters.check(spec)


def test_clip_folder_checks(tmp_path):
    with pytest.raises(SpecError, match="no config.json"):
        adapters.check(f"clip:{tmp_path}")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(SpecError, match=r"no \*.safetensors weights"):
        adapters.check(f"clip:{tmp_path}")


def test_python_adapter_takes_labels_or_scores():
    adapters.check("python:tests.models.toy:always_first")
    model = adapters.create("python:tests.models.toy:always_first", Settings())
    images = [np.zeros((8, 8, 3), np.uint8)] * 3
    assert [p.label for p in model.classify(images, ["a", "b"])] == ["a", "a", "a"]

    scored = adapters.create("python:tests.models.toy:always_first", Settings())
    scored.model = lambda images, labels: [[0.1, 0.9]] * len(images)
    assert [p.label for p in scored.classify(images, ["a", "b"])] == ["b", "b", "b"]
    scored.model = lambda images, labels: ["c"] * len(images)
    assert [p.label for p in scored.classify(images, ["a", "b"])] == [None, None, None]
    scored.model = lambda images, labels: ["a"]
    with pytest.raises(ValueError, match="returned 1 answers for 3 images"):
        scored.classify(images, ["a", "b"])


def test_python_adapter_offers_the_abilities_its_callable_has():
    from ood_fixtures.adapters import Episode, Unsupported

    plain = adapters.create("python:tests.models.toy:always_first", Settings())
    assert plain.capabilities() == []
    with pytest.raises(Unsupported, match="one image per question"):
        plain.classify_in_context([], ["a"])
    with pytest.raises(Unsupported, match="no image features"):
        plain.features([])
    copier = adapters.create("python:tests.models.toy:ExampleCopier", Settings())
    assert copier.capabilities() == ["classify_in_context", "features"]
    dark, light = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 200, np.uint8)
    episodes = [Episode(((dark, "a"), (light, "b")), light), Episode(((dark, "a"), (light, "b")), dark)]
    assert [p.label for p in copier.classify_in_context(episodes, ["a", "b"])] == ["b", "a"]
    assert copier.features([dark, light]).shape == (2, 3)


def test_reference_model_is_small_safe_and_accurate_in_distribution():
    from generators.shapes import ShapeGenerator

    files = list(REFERENCE_PATH.iterdir())
    assert sum(f.stat().st_size for f in files) <= 5 * 2**20
    assert any(f.suffix == ".safetensors" for f in files) and not any(f.suffix in {".bin", ".pt"} for f in files)
    model = adapters.create("reference", Settings())
    assert model.describe()["fingerprint"].startswith("sha256:")
    # Fresh images: a scenario name and seed that neither training nor the benchmark uses.
    shapes = ShapeGenerator(64, name="shapes-unit-test")
    samples = [shapes.sample(7, i) for i in range(480)]
    predictions = model.classify([s.image for s in samples], shapes.labels)
    accuracy = np.mean([p.label == s.label for p, s in zip(predictions, samples)])
    assert accuracy >= 0.90, accuracy
    assert all(p.scores is not None and abs(sum(p.scores) - 1) < 1e-4 for p in predictions)
