"""--image-size: the model's own input size read from its saved configs, images drawn at the run's size (not
upscaled), the size in results.json and in every record key, and a baseline of another size refused."""

import json

import numpy as np
import pytest

from ood_fixtures import adapters
from ood_fixtures.adapters.hub import input_size
from ood_fixtures.catalog import scenarios


def _checkpoint(folder, processor=None, preprocessor=None, vision=None):
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"vision_config": vision or {}}))
    if processor is not None:
        (folder / "processor_config.json").write_text(json.dumps({"image_processor": processor}))
    if preprocessor is not None:
        (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor))
    return str(folder)


@pytest.mark.parametrize("processor, preprocessor, vision, expected", [
    ({"crop_size": {"height": 224, "width": 224}, "size": {"shortest_edge": 256}}, None, {}, 224),  # CLIP
    (None, {"crop_size": {"height": 336, "width": 336}}, {}, 336),  # a transformers 4.x save
    ({"size": {"height": 448, "width": 448}}, None, {}, 448),  # InternVL, Gemma 3
    ({"size": {"longest_edge": 1456}}, None, {"image_size": 364}, 364),  # SmolVLM: its tower's tile
    ({"size": {"shortest_edge": 3136, "longest_edge": 12845056}}, None, {}, None),  # Qwen2-VL: pixel budgets
    ({"size": {"longest_edge": 1540}}, None, {"image_size": 1540}, None),  # Pixtral: a dynamic maximum
    (None, None, {}, None),  # nothing saved
])  # fmt: skip
def test_the_input_size_is_read_from_the_saved_processor(tmp_path, processor, preprocessor, vision, expected):
    assert input_size(_checkpoint(tmp_path / "model", processor, preprocessor, vision)) == expected


def test_native_size_per_family(tmp_path):
    assert adapters.native_size("reference") == (64, "model")
    assert adapters.native_size("reference-vlm") == (64, "model")
    qwen = _checkpoint(tmp_path / "qwen", {"size": {"shortest_edge": 3136, "longest_edge": 12845056}})
    assert adapters.native_size(f"vlm:{qwen}") == (448, "model")  # a dynamic-resolution family: DYNAMIC_SIZE
    assert adapters.native_size("openai:gpt@http://127.0.0.1:1/v1") == (adapters.DEFAULT_SIZE, "default")
    assert adapters.native_size("python:tests.models.toy:always_first") == (adapters.DEFAULT_SIZE, "default")


def test_the_catalog_draws_at_its_size_rather_than_upscaling():
    small, large = scenarios.at(64), scenarios.at(128)
    assert small is scenarios.at(64)  # built once per size
    assert [c.id for c in small.cells()] == [c.id for c in large.cells()]
    for cell in (large.clean, large.corrupted["fog", 3], large.shift("medical", "histology", "hospital_2"),
                 large.rotated[2], large.icl_cells[3]):  # fmt: skip
        image = cell.render(0, 1).image
        assert image.shape == (128, 128, 3), cell.id
    # drawn, not upscaled: a 2x nearest upscale of the 64 px image would repeat every pixel pair
    image = large.clean.render(0, 1).image.astype(int)
    assert np.abs(image[::2] - image[1::2]).mean() > 0.5


def test_the_size_is_in_results_and_refused_against_a_baseline_of_another(run_suite, tmp_path):
    baseline = tmp_path / "baseline.json"
    made = run_suite("-k", "clean", "--samples", "20", "--image-size", "32", "--baseline", str(baseline),
                     "--update-baseline", "-n", "0")  # fmt: skip
    assert made.returncode in (0, 1), made.output[-1500:]  # the 64 px thresholds may not hold at 32 px
    results = made.results()
    assert (results["image_size"], results["image_size_from"]) == (32, "option")
    native = run_suite("-k", "clean", "--samples", "20", "--baseline", str(baseline), "-n", "0")
    assert native.returncode == 4
    assert "image size 32 (this run: 64)" in native.output and "Traceback" not in native.output
