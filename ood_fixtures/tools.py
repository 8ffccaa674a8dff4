"""What the scripts under scripts/ share (they never import one another): running the main job as a user does,
timing it, and timing a model's raw batched forward for comparison. Not used by the suite itself."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The peer ImageNet-C implementation scripts compare with, in an environment of its own (side_python).
PEER_VENV = ROOT / ".bench-venv"
PEER_PACKAGES = ["corrupt-tta==0.1.7", "opencv-python-headless", "scikit-image", "scipy", "pillow", "numpy"]


def pytest_run(*args: str, root: Path = ROOT) -> float:
    """Wall time of `pytest benchmarks ARGS` in the checkout `root` (another commit's: `checkout`); gate
    failures (exit 1) count as a run, anything else stops."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider", *args],
                          cwd=root, capture_output=True, text=True)  # fmt: skip
    if done.returncode not in (0, 1):
        sys.exit(f"pytest {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - started


def cold_and_warm(*args: str) -> tuple[float, float]:
    """Wall times of two runs of `pytest benchmarks ARGS` against one fresh cache."""
    with tempfile.TemporaryDirectory() as scratch:
        return pytest_run(*args, "--report-dir", scratch), pytest_run(*args, "--report-dir", scratch)


def side_python(venv: Path, packages: list[str]) -> Path:
    """The Python of a virtual environment of its own for a peer implementation (made on first use), so that the
    peer and its pins never enter the suite's environment."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"making {venv} ({', '.join(packages)}) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python


def corruption_cells(*corrupted: tuple[str, int]) -> list:
    """The clean cell and the named (corruption, severity) cells of the main job."""
    from ood_fixtures.catalog import scenarios

    catalog = scenarios.at(scenarios.DEFAULT_SIZE)
    return [catalog.clean] + [catalog.corrupted[key] for key in corrupted]


def suite_s(spec: str, corrupted: list[tuple[str, int]], count: int, batch: int, device: str, reports: str,
            root: Path = ROOT) -> float:  # fmt: skip
    """Wall time of the suite on those cells (`corruption_cells`) at `count` images each, in one process."""
    selection = " or ".join(["clean"] + [f"({name} and {severity})" for name, severity in corrupted])
    return pytest_run("-m", "corruption", "-k", selection, "-n", "0", "--model", spec, "--device", device,
                      "--no-cache", "--samples", str(count), "--batch-size", str(batch), "--report-dir", reports,
                      root=root)  # fmt: skip


def checkout(commit: str, folder: Path) -> Path:
    """The repository at `commit` in `folder` (a detached git worktree; the caller removes the folder), to time an
    earlier version side by side with this one in the same environment."""
    subprocess.run(["git", "worktree", "add", "--detach", "-f", str(folder), commit], cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    return folder


def vit_b32(folder: Path) -> Path:
    """A random-weight CLIP ViT-B/32 (224 px) with the reference's tokenizer, saved as a checkpoint folder."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    from ood_fixtures.adapters.families.clip import REFERENCE_PATH

    processor = CLIPProcessor.from_pretrained(REFERENCE_PATH)
    processor.image_processor.size = {"shortest_edge": 224}
    processor.image_processor.crop_size = {"height": 224, "width": 224}
    tokenizer = processor.tokenizer
    config = CLIPConfig(text_config={"vocab_size": len(tokenizer), "max_position_embeddings": 77,
                                     "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3})  # fmt: skip
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


RAW_SCRIPT = r"""
import json, sys
import numpy as np
import torch
from transformers import AutoModel, AutoProcessor

folder, images, texts, batch = sys.argv[1], np.load(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
model = AutoModel.from_pretrained(folder, use_safetensors=True).eval()
processor = AutoProcessor.from_pretrained(folder)
unit = lambda x: x / x.norm(dim=-1, keepdim=True)
with torch.inference_mode():
    tokens = processor(text=[t for label in texts for t in label], padding=True, truncation=True, return_tensors="pt")
    text = unit(model.get_text_features(**tokens).pooler_output)
    text = unit(text.view(len(texts), len(texts[0]), -1).mean(1))
    answers = []
    for start in range(0, len(images), batch):
        pixels = processor(images=list(images[start : start + batch]), return_tensors="pt")["pixel_values"]
        answers += (unit(model.get_image_features(pixel_values=pixels).pooler_output) @ text.T).argmax(-1).tolist()
assert len(answers) == len(images)
"""


def raw_script_s(folder: Path, images: list[np.ndarray], labels: tuple[str, ...], batch: int) -> float:
    """Wall time of the script a user would write to classify `images` zero-shot with a CLIP checkpoint on the
    CPU, from its start to its exit: python, torch and transformers imports, the load, the label texts (the
    adapter's templates), the batched forward. Any harness pays all of it, so it is the floor of the suite's time;
    `raw_forward_s` times the forward alone."""
    from ood_fixtures.adapters.prompts import TEMPLATES, captions

    with tempfile.TemporaryDirectory() as scratch:
        stack = Path(scratch) / "images.npy"
        np.save(stack, np.stack(images))
        texts = json.dumps([captions(label, TEMPLATES) for label in labels])
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", RAW_SCRIPT, str(folder), str(stack), texts, str(batch)], check=True,
                       capture_output=True)  # fmt: skip
        return time.perf_counter() - started


def raw_forward_s(spec: str, images: list[np.ndarray], batch: int, device: str) -> float:
    """The model called directly on `images` in batches, as a script would (processor + image features, or
    processor + generate with the adapter's prompt and token limit), loaded as its adapter loads it on that
    device; seconds, synchronised on the device."""
    import torch

    from ood_fixtures import adapters
    from ood_fixtures.adapters import Settings
    from ood_fixtures.adapters.prompts import in_context_messages, multiple_choice_question

    adapter = adapters.create(spec, Settings(device=device, batch_size=batch))
    model, processor = adapter.model, adapter.processor
    if spec.startswith("clip:"):

        def step(chunk):
            pixels = processor(images=chunk, return_tensors="pt")["pixel_values"].to(device, model.dtype)
            model.get_image_features(pixel_values=pixels)

    else:
        question = multiple_choice_question(corruption_cells()[0].labels)
        prompt = processor.apply_chat_template(in_context_messages(question, []), add_generation_prompt=True)

        def step(chunk):
            inputs = processor(text=[prompt] * len(chunk), images=[[i] for i in chunk], padding=True,
                               return_tensors="pt").to(device)  # fmt: skip
            model.generate(**inputs, max_new_tokens=adapter.max_new_tokens, do_sample=False)

    def run(chosen):
        with torch.inference_mode():
            for start in range(0, len(chosen), batch):
                step(chosen[start : start + batch])
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    run(images[:batch])  # warm-up: kernels, allocator, lazy initialisation
    started = time.perf_counter()
    run(images)
    return time.perf_counter() - started
