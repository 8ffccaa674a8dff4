"""The transformers adapters on tiny random-weight checkpoints built offline: CLIP and SigLIP for `clip:`, LLaVA and
PaliGemma for what `vlm:` does around the model (the family matrix, tests/test_families.py, runs every family)."""

import json

import numpy as np
import pytest

from ood_fixtures import adapters
from ood_fixtures.adapters import Settings, SpecError
from tests.models import families, tiny

IMAGES = [np.full((32, 32, 3), level, np.uint8) for level in (0, 90, 180)]
LABELS = ["red circle", "blue star", "green square"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {name: build(root / name) for name, build in
            {"clip": tiny.clip, "siglip": tiny.siglip, "llava": families.build_llava,
             "paligemma": families.build_paligemma}.items()}


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_contrastive_families_give_scores_per_label(checkpoints, family):
    model = adapters.create(f"clip:{checkpoints[family]}", Settings(batch_size=2))
    predictions = model.classify(IMAGES, LABELS)
    assert len(predictions) == 3 and all(p.label in LABELS for p in predictions)
    assert all(abs(sum(p.scores) - 1) < 1e-4 and len(p.scores) == 3 for p in predictions)
    assert model.describe()["fingerprint"].startswith("sha256:")


def test_remote_code_needs_the_flag(checkpoints, tmp_path):
    folder = tmp_path / "remote"
    folder.mkdir()
    config = json.loads((checkpoints["llava"] / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "modeling_x.X"}}))
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(SpecError, match="pass --trust-remote-code if you trust it"):
        adapters.check(f"vlm:{folder}", Settings())
    adapters.check(f"vlm:{folder}", Settings(trust_remote_code=True))


def test_a_hub_id_while_offline_must_be_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(SpecError, match="HF_HUB_OFFLINE is set and the hub id is not in the local cache"):
        adapters.check("vlm:someone/some-model", Settings())


def test_unknown_answer_mode_is_refused(checkpoints):
    with pytest.raises(SpecError, match="--answer-mode 'vote'"):
        adapters.check(f"vlm:{checkpoints['llava']}", Settings(answer_mode="vote"))


@pytest.mark.parametrize("mode", ["generate", "score"])
def test_a_generative_model_answers_examples_in_one_conversation(checkpoints, mode):
    from ood_fixtures.adapters import Episode

    settings = Settings(batch_size=2, answer_mode=mode, model_args={"max_new_tokens": "4"})
    model = adapters.create(f"vlm:{checkpoints['llava']}", settings)
    prompt = model.prompt(LABELS, ["blue star", "red circle"])
    assert prompt.count("<image>") == 3 and prompt.count("Answer Choice: blue star") == 1
    assert prompt.index("blue star</s>") < prompt.index("red circle</s>") if "</s>" in prompt else True
    episodes = [Episode(((IMAGES[0], "blue star"), (IMAGES[1], "red circle")), IMAGES[2]),
                Episode(((IMAGES[2], "green square"), (IMAGES[0], "blue star")), IMAGES[1]),
                Episode(((IMAGES[1], "red circle"), (IMAGES[1], "red circle")), IMAGES[0])]  # fmt: skip
    predictions = model.classify_in_context(episodes, LABELS)
    assert len(predictions) == 3
    if mode == "score":
        assert all(p.label in LABELS and abs(sum(p.scores) - 1) < 1e-4 for p in predictions)
    assert model.capabilities() == ["classify_in_context", "features"]


@pytest.mark.parametrize("family, spec", [("clip", "clip"), ("siglip", "clip"), ("llava", "vlm")])
def test_image_features_are_one_row_per_image(checkpoints, family, spec):
    model = adapters.create(f"{spec}:{checkpoints[family]}", Settings(batch_size=2))
    features = model.features(IMAGES)
    assert features.shape[0] == 3 and features.ndim == 2 and np.isfinite(features).all()
    assert np.allclose(features, model.features(IMAGES), atol=1e-5)  # deterministic, batch size aside


def test_the_shipped_reference_vlm_answers_in_context():
    from generators.shapes import ShapeGenerator
    from ood_fixtures.adapters import Episode

    shapes = ShapeGenerator(64)
    samples = [shapes.sample(0, i) for i in range(9)]
    model = adapters.create("reference-vlm", Settings())
    episode = Episode(tuple((s.image, s.label) for s in samples[1:]), samples[0].image)
    (prediction,) = model.classify_in_context([episode], shapes.labels)
    assert prediction.text is not None


def test_a_hub_id_is_fingerprinted_from_its_snapshot_in_the_local_cache(checkpoints, monkeypatch, tmp_path):
    from ood_fixtures.adapters.hub import weights_fingerprint

    snapshot = tmp_path / "models--org--tiny" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (snapshot / name).write_bytes((checkpoints["clip"] / name).read_bytes())
    (tmp_path / "models--org--tiny" / "refs").mkdir()
    (tmp_path / "models--org--tiny" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))  # read at import otherwise
    assert weights_fingerprint("org/tiny") == weights_fingerprint(str(checkpoints["clip"]))
    assert weights_fingerprint("org/absent") is None
