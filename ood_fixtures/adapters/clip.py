"""Contrastive image-text models (CLIP, SigLIP, ...) from a local folder or the Hugging Face hub.

`clip:PATH_OR_ID` loads through `AutoModel` and `AutoProcessor`, weights from safetensors only and remote code
never (that is a later option). Zero-shot: each label's text embedding is the mean over the prompt templates
(template ensembling); an image's scores are the softmax of its scaled similarities to the labels.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ood_fixtures import adapters
from ood_fixtures.adapters.base import Adapter, Fingerprint, Prediction, Settings, SpecError
from ood_fixtures.prompts import TEMPLATES, captions

REFERENCE_PATH = Path(__file__).resolve().parents[1] / "reference" / "clip-shapes"


def _local_folder(argument: str) -> Path | None:
    path = Path(os.path.expanduser(argument))
    looks_like_path = path.is_absolute() or argument.startswith((".", "~")) or path.exists()
    return path if looks_like_path else None


class ClipFactory:
    def check(self, argument: str) -> None:
        folder = _local_folder(argument)
        if folder is None:
            return  # a hub id: whether it resolves is known only when loading
        if not folder.is_dir():
            raise SpecError(f"clip:{argument}: no such folder; give a model folder or a Hugging Face hub id")
        if not (folder / "config.json").is_file():
            raise SpecError(f"clip:{argument}: no config.json in the folder; save the model with save_pretrained")
        if not list(folder.glob("*.safetensors")):
            raise SpecError(f"clip:{argument}: no *.safetensors weights in the folder (other formats are refused)")

    def create(self, argument: str, settings: Settings) -> Adapter:
        return ClipAdapter(argument, settings)


class ClipAdapter(Adapter):
    def __init__(self, name_or_path: str, settings: Settings) -> None:
        import torch
        from transformers import AutoModel, AutoProcessor

        self.torch = torch
        self.name_or_path = name_or_path
        self.settings = settings
        self.dtype = torch.bfloat16 if settings.device.startswith("cuda") else torch.float32
        self.model = AutoModel.from_pretrained(name_or_path, use_safetensors=True, dtype=self.dtype)
        self.model.to(settings.device).eval()
        self.processor = AutoProcessor.from_pretrained(name_or_path)
        self.templates = TEMPLATES

    def describe(self) -> dict[str, Any]:
        folder = _local_folder(self.name_or_path)
        weights = sorted(folder.glob("*.safetensors")) if folder else []
        return {
            "spec": self.spec,
            "adapter": "clip",
            "name_or_path": self.name_or_path if folder is None or folder != REFERENCE_PATH else "reference",
            "class": type(self.model).__name__,
            "fingerprint": Fingerprint().of(weights) if weights else None,
            "dtype": str(self.dtype).removeprefix("torch."),
            "templates": list(self.templates),
        }

    @functools.lru_cache(maxsize=8)
    def _text_embeddings(self, labels: tuple[str, ...]):
        texts = [text for label in labels for text in captions(label, self.templates)]
        batch = self.processor(text=texts, padding=True, return_tensors="pt").to(self.settings.device)
        with self.torch.inference_mode():
            emb = self.model.get_text_features(**batch).pooler_output.float()
        emb = emb / emb.norm(dim=-1, keepdim=True)
        emb = emb.view(len(labels), len(self.templates), -1).mean(1)
        return emb / emb.norm(dim=-1, keepdim=True)

    def classify(self, images: Sequence[np.ndarray], labels: Sequence[str]) -> list[Prediction]:
        torch = self.torch
        text = self._text_embeddings(tuple(labels))
        scale = self.model.logit_scale.exp().float() if hasattr(self.model, "logit_scale") else 100.0
        predictions: list[Prediction] = []
        for start in range(0, len(images), self.settings.batch_size):
            chunk = list(images[start : start + self.settings.batch_size])
            pixels = self.processor(images=chunk, return_tensors="pt")["pixel_values"]
            with torch.inference_mode():
                emb = self.model.get_image_features(pixel_values=pixels.to(self.settings.device, self.dtype))
                emb = emb.pooler_output.float()
                emb = emb / emb.norm(dim=-1, keepdim=True)
                probs = (scale * emb @ text.T).softmax(dim=-1).cpu().numpy()
            predictions += [Prediction(labels[int(row.argmax())], tuple(float(p) for p in row)) for row in probs]
        return predictions


adapters.register("clip", ClipFactory())
adapters.alias("reference", f"clip:{REFERENCE_PATH}")
