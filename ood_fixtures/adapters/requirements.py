"""What a checkpoint's processor needs beyond the suite's default install, found from its files before any test
runs, so that a missing or broken package is one line that names the command, not an import error per worker.

In transformers 5 a processor that has a video processor cannot be built without torchvision, even for images
alone (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, SmolVLM, InternVL, LLaVA-OneVision; and Pixtral's processor itself). The
registry's torchvision wheels are built for torch's CUDA build: beside the CPU build the suite installs by
default, they fail at import ("operator torchvision::nms does not exist"). A matching pair is the CUDA build of
torch, which also runs on a CPU.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SETUP = ('`make setup-vlm` in this repository, or `pip install "torch==2.13.0,!=2.13.0+cpu" torchvision==0.28.0 '
         'num2words` (a matching pair: the CUDA build of torch, which runs on a CPU too; about 5.6 GB)')

# processor class -> the packages building it imports, beyond what a video processor brings (transformers 5.24)
PACKAGES: dict[str, tuple[str, ...]] = {
    "SmolVLMProcessor": ("num2words",),  # its chat template spells numbers out
    "PixtralProcessor": ("torchvision",),  # its image processor is torchvision-only
}


def needed(folder: Path) -> tuple[str, bool, list[str]]:
    """The processor class a saved checkpoint names, whether it has a video processor, and the extra packages
    building its processor imports."""
    config = _processor_config(folder)
    name = config.get("processor_class", "")
    has_video = "video_processor" in config or (folder / "video_preprocessor_config.json").exists()
    packages = list(PACKAGES.get(name, ()))
    if has_video and "torchvision" not in packages:
        packages.insert(0, "torchvision")
    return name, has_video, packages


def missing(prefix: str, folder: Path) -> str | None:
    """One line naming what the checkpoint's processor needs and is missing or broken, with the fix; None if
    nothing is."""
    name, has_video, packages = needed(folder)
    problems = [problem for package in packages if (problem := _problem(package))]
    if not problems:
        return None
    why = "with a video processor, " if has_video else ""
    return (f"{prefix}:{folder}: its processor ({name or 'unnamed'}, {why}transformers 5) needs "
            f"{'; '.join(problems)}; install them with {SETUP}")


def _problem(package: str) -> str | None:
    if importlib.util.find_spec(package) is None:
        return f"{package}, which is not installed"
    if package != "torchvision":
        return None
    try:
        import torchvision  # noqa: F401  (imports torch: only for checkpoints that need it)
    except Exception as error:  # a build for another torch fails here, with RuntimeError or ImportError
        import torch

        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"a torchvision that matches torch {torch.__version__} (the installed one fails to import: {first})"
    return None


def _processor_config(folder: Path) -> dict:
    for name in ("processor_config.json", "preprocessor_config.json"):
        path = folder / name
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                return {}
    return {}
