"""The family matrix: every vision-language family the `vlm:` adapter supports, as a tiny random checkpoint
(tests/models/families.py), through single-image and in-context questions, both answer modes, image features,
option order and calibration; and what a missing or broken package looks like before any test runs."""

import importlib.util
import sys

import numpy as np
import pytest
import torch

from ood_fixtures import adapters
from ood_fixtures.adapters import Settings, SpecError, requirements, scoring
from ood_fixtures.adapters.base import Episode, Unsupported
from ood_fixtures.adapters.prompts import filled_answer
from tests.models import families

FAMILIES = sorted(families.FAMILIES)
LABELS = ["red circle", "blue star", "green square", "yellow triangle"]


def images(count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(count)]


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return {name: build(root / name) for name, build in families.FAMILIES.items()}


def adapter(checkpoints, family, mode, **args):
    settings = Settings(batch_size=3, answer_mode=mode, model_args={"max_new_tokens": "4", **args})
    return adapters.create(f"vlm:{checkpoints[family]}", settings)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("mode", ["generate", "score"])
def test_every_family_answers_single_and_in_context_questions(checkpoints, family, mode):
    model = adapter(checkpoints, family, mode)
    shown = images(4)
    single = model.classify(shown, LABELS)
    episodes = [Episode(((shown[1], LABELS[1]), (shown[2], LABELS[2])), shown[0]), Episode((), shown[3])]
    in_context = model.classify_in_context(episodes, LABELS)
    for predictions, count in ((single, 4), (in_context, 2)):
        assert len(predictions) == count
        if mode == "generate":  # random weights: the text is noise, parsed or not, but always kept
            assert all(p.text is not None and (p.label is None or p.label in LABELS) for p in predictions)
        else:  # scores for every option: calibration metrics can be computed
            assert all(p.label in LABELS and abs(sum(p.scores) - 1) < 1e-4 for p in predictions)
    reordered = model.classify(shown, LABELS[::-1])  # option order: the same question, options reversed
    assert len(reordered) == 4
    described = model.describe()
    assert described["answer_mode"] == mode and described["prompt"] == ("plain" if family == "paligemma" else "chat")
    assert described["image_tokens"]["64x64"] > 0


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_gives_one_feature_vector_per_image(checkpoints, family):
    model = adapter(checkpoints, family, "generate")
    features = model.features(images(5))
    assert features.shape[0] == 5 and features.ndim == 2 and np.isfinite(features).all()
    assert not np.allclose(features[0], features[1])  # different images, different vectors


# family: (--model-arg knobs, what results.json records for them)
KNOBS = {
    "qwen2_vl": ({"max_pixels": "1024"}, {"max_pixels": 1024}),
    "smolvlm": ({"do_image_splitting": "false"}, {"do_image_splitting": False}),
    "internvl": ({"crop_to_patches": "false"}, {"crop_to_patches": False}),
    "gemma3": ({"do_pan_and_scan": "true", "pan_and_scan_min_crop_size": "16"},
               {"do_pan_and_scan": True, "pan_and_scan_min_crop_size": 16}),
}


@pytest.mark.parametrize("family", sorted(KNOBS))
def test_resolution_knobs_change_the_image_tokens_and_are_recorded(checkpoints, family):
    knobs, recorded = KNOBS[family]
    default = adapter(checkpoints, family, "generate").describe()
    changed = adapter(checkpoints, family, "generate", **knobs).describe()
    assert changed["resolution"] == recorded
    if family != "gemma3":  # pan & scan only crops images wider than 1.2:1; the suite's are square
        assert changed["image_tokens"]["64x64"] < default["image_tokens"]["64x64"]


def test_a_plain_prompt_can_be_asked_for_and_a_missing_template_is_one_error(checkpoints):
    plain = adapter(checkpoints, "llava", "generate", prompt="plain")
    assert plain.describe()["prompt"] == "plain" and plain.prompt(LABELS).startswith("<image>")
    with pytest.raises(SpecError, match="has no chat template; use prompt=plain"):
        adapter(checkpoints, "paligemma", "generate", prompt="chat")


@pytest.mark.parametrize("mode", ["generate", "score"])
def test_a_processor_that_takes_one_image_per_prompt_makes_in_context_cells_say_so(checkpoints, mode, monkeypatch):
    model = adapter(checkpoints, "llava", mode)
    processor = type(model.processor)
    call = processor.__call__

    def one_image(self, *args, images=None, **kwargs):
        if images is not None and max(len(shown) for shown in images) > 1:
            raise ValueError("Invalid input images. Expected one image per text.\nMore detail.")
        return call(self, *args, images=images, **kwargs)

    monkeypatch.setattr(processor, "__call__", one_image)
    shown = images(3)
    assert len(model.classify(shown, LABELS)) == 3
    with pytest.raises(Unsupported) as error:
        model.classify_in_context([Episode(((shown[1], LABELS[1]),), shown[0])], LABELS)
    assert str(error.value) == (f"vlm:{checkpoints['llava']}: LlavaProcessor does not take several images in one "
                                "prompt (Invalid input images. Expected one image per text.)")  # fmt: skip


@pytest.mark.parametrize("family", sorted(families.NEED_EXTRAS))
def test_families_that_need_torchvision_say_so_before_anything_loads(checkpoints, family, monkeypatch):
    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("torchvision", "num2words")
                        else found(name, *a))  # fmt: skip
    with pytest.raises(SpecError) as error:
        adapters.check(f"vlm:{checkpoints[family]}", Settings())
    message = str(error.value)
    assert "\n" not in message and "which is not installed" in message and "make setup-vlm" in message
    assert ("num2words, which is not installed" in message) == (family == "smolvlm")


def test_a_torchvision_built_for_another_torch_is_reported_the_same_way(checkpoints, tmp_path, monkeypatch):
    fake = tmp_path / "torchvision"
    fake.mkdir()
    (fake / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "torchvision", raising=False)
    message = requirements.missing("vlm", checkpoints["qwen2_vl"])
    assert "a torchvision that matches torch" in message and "operator torchvision::nms does not exist" in message
    assert "make setup-vlm" in message and "\n" not in message
    assert requirements.missing("vlm", checkpoints["gemma3"]) is None  # no video processor: needs none of it


SUITE_CELLS = "gaussian_noise-3 or objects-sketch-target-2 or option_order or (test_diagnosis and shapes-gaussian_noise-3)"


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("mode", ["generate", "score"])
def test_every_family_runs_the_suites_cells_with_every_sample_recorded(checkpoints, run_suite, family, mode):
    """Through the suite as a user runs it: a corruption cell, a 2-shot in-context cell, the option-order
    property and a diagnosis row (16 x 3 images: two per shape class)."""
    run = run_suite("-k", SUITE_CELLS, "--samples", "16", "--answer-mode", mode, "--model",
                    f"vlm:{checkpoints[family]}", "--model-arg", "max_new_tokens=4", "-n", "0", "-rs")  # fmt: skip
    results = run.results()
    assert run.returncode in (0, 1), run.output[-2000:]  # random weights may break option order: a finding
    assert "SKIPPED" not in run.output and "Traceback" not in run.output, run.output[-2000:]
    cells = {c["id"]: c for c in results["cells"]}
    assert set(cells) == {"corruption/shapes/gaussian_noise/3", "icl/objects-sketch/target/2"}
    assert all(len(c["samples"]) == c["n"] == 16 for c in cells.values())
    assert [p["property"] for p in results["properties"]] == ["option-order"]
    assert len(results["diagnosis"]) == 1 and results["diagnosis"][0]["n"] == 48
    assert results["model"]["answer_mode"] == mode and results["model"]["class"].endswith("ForConditionalGeneration")
    if mode == "score":
        assert all(s.get("confidence") is not None for c in cells.values() for s in c["samples"])


# ------------------------------------------------------------------ score mode: every option from the prompt's cache

# The stock tiny models (init std 0.02) barely depend on their input: a mistake in positions, masks or token types
# moves their scores by ~1e-6. Redrawn at std 0.2, the same mistakes move them by 0.01 to 1 (the controls below).
SHARP_STD = 0.2
OPTIONS = ["red", "red circle", "blue star", "green square", "yellow triangle star", "purple"]  # a prefix pair
SIZES = [(48, 64), (64, 48), (40, 40), (72, 56), (32, 80), (56, 72), (64, 64)]


def sharpen(model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for weight in model.parameters():
            if weight.ndim >= 2:
                weight.copy_(torch.randn(weight.shape, generator=generator) * SHARP_STD)
    return model


@pytest.fixture(scope="module")
def sharp(checkpoints):
    """A score-mode adapter per family, its weights redrawn (SHARP_STD); made once, read by every test."""
    made = {}

    def get(family):
        if family not in made:
            made[family] = adapter(checkpoints, family, "score")
            sharpen(made[family].model)
        return made[family]

    return get


def questions(model, count):
    """Three prompts of different lengths with `count` images each (different sizes: Qwen's and LLaVA-OneVision's
    image tokens depend on them), laid out as the suite lays out in-context examples."""
    prompts, shown = [], []
    for row in range(3):
        examples = [OPTIONS[(row + j) % len(OPTIONS)] for j in range(count - 1)]
        prompts.append(model.prompt(OPTIONS, examples))
        rng = np.random.default_rng(10 * count + row)
        shown.append([rng.integers(0, 256, (*SIZES[(row + j) % len(SIZES)], 3), dtype=np.uint8) for j in range(count)])
    return prompts, shown


def unbatched(model, prompt, shown, answer):
    """The answer's log-likelihood from one plain forward of prompt + answer, nothing cached, nothing padded."""
    processor, special = model.processor, model._adds_special_tokens([prompt])
    suffix = scoring._answer_is_suffix(processor)
    base = processor(text=[prompt], images=[shown], return_tensors="pt", add_special_tokens=special)["input_ids"][0]
    if suffix:  # PaliGemma: the answer is the causal suffix (token type 1), ended by an <eos> that is not scored
        full = processor(text=[prompt], images=[shown], suffix=[answer], return_tensors="pt",
                         add_special_tokens=special)  # fmt: skip
    else:
        space = "" if prompt[-1:].isspace() else " "
        full = processor(text=[prompt + space + answer], images=[shown], return_tensors="pt", add_special_tokens=special)
    full.pop("labels", None)
    ids = full["input_ids"][0]
    assert torch.equal(ids[: len(base)], base)
    end = len(ids) - suffix
    with torch.inference_mode():
        log_probs = torch.log_softmax(model.model(**full).logits[0].float(), -1)
    positions = torch.arange(len(base), end)
    return float(log_probs[positions - 1, ids[positions]].sum())


def expected(model, prompts, shown, answers):
    return np.array([[unbatched(model, p, s, a) for a in answers] for p, s in zip(prompts, shown)])


def scored(model, prompts, shown, answers, **options):
    return scoring.score_options(model.model, model.processor, prompts, shown, answers, encode=model._inputs,
                                 add_special_tokens=model._adds_special_tokens(prompts), **options)  # fmt: skip


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("count", [1, 2, 5])
def test_each_options_score_is_its_unbatched_log_likelihood(sharp, family, count):
    model = sharp(family)
    prompts, shown = questions(model, count)
    filled = [filled_answer(label, OPTIONS) for label in OPTIONS]  # the suite's: a shared "Answer Choice:" prefix
    for answers in (filled, OPTIONS):  # and bare labels: no shared prefix, one a prefix of another
        want = expected(model, prompts, shown, answers)
        assert np.abs(scored(model, prompts, shown, answers) - want).max() < 1e-4
        assert np.abs(scored(model, prompts, shown, answers, layout="rows") - want).max() < 1e-4
        # one row or option per continuation forward: chunking gives the same numbers
        assert np.abs(scored(model, prompts, shown, answers, token_budget=1) - want).max() < 1e-4


@pytest.mark.parametrize("family", ["qwen2_vl", "llava", "paligemma"])
def test_the_exactness_check_sees_a_position_off_by_one(sharp, family, monkeypatch):
    """The check above has power: appended tokens one position early (the classic slip with left padding or
    Qwen's M-RoPE deltas) move the scores far past its 1e-4."""
    model = sharp(family)
    prompts, shown = questions(model, 2)
    want = expected(model, prompts, shown, OPTIONS[:3])
    extend = scoring._extend

    def early(model_, kwargs, cache, n):
        out = extend(model_, kwargs, cache, n)
        out["position_ids"] = out["position_ids"].clone()
        out["position_ids"][..., -n:] -= 1
        return out

    monkeypatch.setattr(scoring, "_extend", early)
    assert np.abs(scored(model, prompts, shown, OPTIONS[:3]) - want).max() > 1e-2
