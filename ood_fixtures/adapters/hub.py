"""What the transformers-based adapters share: telling a local folder from a hub id, checking a folder before
loading it, and the loader keyword arguments that `--model-arg` and `--trust-remote-code` control."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ood_fixtures.adapters.base import Fingerprint, Settings, SpecError

LOADER_ARGS = ("revision", "attn_implementation")


def local_folder(argument: str) -> Path | None:
    path = Path(os.path.expanduser(argument))
    looks_like_path = path.is_absolute() or argument.startswith((".", "~")) or path.exists()
    return path if looks_like_path else None


def check_checkpoint(prefix: str, argument: str, settings: Settings) -> None:
    """A folder must hold a config and safetensors weights; a hub id must be reachable or cached."""
    folder = local_folder(argument)
    if folder is None:
        _check_hub_id(prefix, argument)
        return
    if not folder.is_dir():
        raise SpecError(f"{prefix}:{argument}: no such folder; give a model folder or a Hugging Face hub id")
    config = folder / "config.json"
    if not config.is_file():
        raise SpecError(f"{prefix}:{argument}: no config.json in the folder; save the model with save_pretrained")
    if not list(folder.glob("*.safetensors")):
        raise SpecError(f"{prefix}:{argument}: no *.safetensors weights in the folder (other formats are refused)")
    if "auto_map" in json.loads(config.read_text()) and not settings.trust_remote_code:
        raise SpecError(f"{prefix}:{argument}: the model's config asks for its own code (auto_map); read that "
                        f"code, then pass --trust-remote-code if you trust it")  # fmt: skip


def _check_hub_id(prefix: str, argument: str) -> None:
    if os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes"):
        return  # online: whether it resolves is known when loading
    from huggingface_hub import try_to_load_from_cache

    if not isinstance(try_to_load_from_cache(argument, "config.json"), str):
        raise SpecError(f"{prefix}:{argument}: HF_HUB_OFFLINE is set and the hub id is not in the local cache; "
                        f"download it first or give a local folder")  # fmt: skip


def loader_kwargs(settings: Settings) -> dict[str, Any]:
    import torch

    kwargs: dict[str, Any] = {"use_safetensors": True, "trust_remote_code": settings.trust_remote_code}
    kwargs.update({key: settings.model_args[key] for key in LOADER_ARGS if key in settings.model_args})
    dtype = settings.model_args.get("dtype", "bfloat16" if settings.device.startswith("cuda") else "float32")
    kwargs["dtype"] = getattr(torch, dtype)
    return kwargs


def load_pretrained(auto_class: Any, name_or_path: str, settings: Settings, processor_kwargs: dict | None = None,
                    model_kwargs: dict | None = None) -> tuple[Any, Any]:  # fmt: skip
    """The model (on its device, in eval mode) and its processor, loaded as the settings say; `processor_kwargs`
    and `model_kwargs` override the checkpoint's processor settings and config (resolution knobs)."""
    from transformers import AutoProcessor

    kwargs = loader_kwargs(settings)
    model = auto_class.from_pretrained(name_or_path, **kwargs, **(model_kwargs or {})).to(settings.device).eval()
    processor = AutoProcessor.from_pretrained(
        name_or_path, trust_remote_code=settings.trust_remote_code, revision=kwargs.get("revision"),
        **(processor_kwargs or {}),
    )  # fmt: skip
    return model, processor


def weights_of(argument: str) -> list[Path]:
    """The safetensors files of a local folder, or of a hub id's snapshot in the local Hugging Face cache."""
    folder = local_folder(argument)
    if folder is None:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(argument, "config.json")
        folder = Path(config).parent if isinstance(config, str) else None
    return sorted(folder.glob("*.safetensors")) if folder else []


def weights_fingerprint(argument: str) -> str | None:
    """A content hash of the weights, or None when they are not on disk yet (a hub id before its download)."""
    weights = weights_of(argument)
    return Fingerprint().of(weights) if weights else None


LARGEST_FIXED_SIDE = 1024  # above this a "size" is a pixel budget or a dynamic tower's maximum (Qwen2-VL: 3136)


def input_size(argument: str) -> int | None:
    """The square side the checkpoint's image processor feeds its vision tower, read from its saved configs
    without loading it: the centre crop, else a fixed resize, else the vision config's image_size. None for a
    dynamic-resolution processor (Qwen2-VL's pixel budgets, Pixtral's longest edge) or configs not on disk."""
    folder = local_folder(argument) or _cached_folder(argument)
    if folder is None:
        return None
    processor = _json(folder / "processor_config.json").get("image_processor") or _json(
        folder / "preprocessor_config.json")  # transformers 5 nests it; 4.x saved it alone
    vision = _json(folder / "config.json").get("vision_config") or {}
    crop, size, tower = processor.get("crop_size") or {}, processor.get("size") or {}, vision.get("image_size")
    for side in (crop.get("height"), size.get("height"), size.get("shortest_edge"),
                 tower[0] if isinstance(tower, list) else tower):  # fmt: skip
        if isinstance(side, int) and 0 < side <= LARGEST_FIXED_SIDE:
            return side
    return None


def _cached_folder(argument: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(argument, "config.json")
    return Path(config).parent if isinstance(config, str) else None


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
