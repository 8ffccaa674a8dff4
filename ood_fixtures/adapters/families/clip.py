"""Contrastive image-text models (CLIP, SigLIP, ...) from a local folder or the Hugging Face hub.

`clip:PATH_OR_ID` loads through `AutoModel` and `AutoProcessor`, weights from safetensors only and remote code
only with --trust-remote-code. Zero-shot: each label's text embedding is the mean over the prompt templates
(template ensembling); an image's scores are the softmax of its scaled similarities to the labels. Image
features (for the diagnosis's linear probe and Tip-Adapter) are the same unit-length image embeddings.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ood_fixtures import adapters
from ood_fixtures.adapters.base import Adapter, Prediction, Settings
from ood_fixtures.adapters.batching import Batcher
from ood_fixtures.adapters.hub import check_checkpoint, input_size, load_pretrained, weights_fingerprint
from ood_fixtures.images import image_hash
from ood_fixtures.adapters.prompts import TEMPLATES, captions

REFERENCE_PATH = Path(__file__).resolve().parents[2] / "reference" / "clip-reference"
MEMO = 4096  # image embeddings kept (a few MB at ViT-B sizes)


class ClipFactory:
    def check(self, argument: str, settings: Settings) -> None:
        check_checkpoint("clip", argument, settings)

    def create(self, argument: str, settings: Settings) -> Adapter:
        return ClipAdapter(argument, settings)

    def fingerprint(self, argument: str, settings: Settings) -> str | None:
        return weights_fingerprint(argument)

    def native_size(self, argument: str, settings: Settings) -> int | None:
        return input_size(argument)


class ClipAdapter(Adapter):
    def __init__(self, name_or_path: str, settings: Settings) -> None:
        import torch
        from transformers import AutoModel

        self.torch = torch
        self.name_or_path = name_or_path
        self.settings = settings
        self.model, self.processor = load_pretrained(AutoModel, name_or_path, settings)
        self.dtype = self.model.dtype
        self.templates = TEMPLATES
        self.batches = Batcher(settings.batch_size, settings.device)
        self._memo: OrderedDict[str, Any] = OrderedDict()  # image hash -> unit embedding, least recent first

    def describe(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "adapter": "clip",
            "name_or_path": "reference" if Path(self.name_or_path) == REFERENCE_PATH else self.name_or_path,
            "class": type(self.model).__name__,
            "fingerprint": weights_fingerprint(self.name_or_path),
            "dtype": str(self.dtype).removeprefix("torch."),
            "templates": list(self.templates),
        }

    @functools.lru_cache(maxsize=8)
    def _text_embeddings(self, labels: tuple[str, ...]):
        texts = [text for label in labels for text in captions(label, self.templates)]
        # Long label texts (the diagnosis's descriptions) are cut at the text encoder's length, as CLIP itself does.
        limit = self.model.config.text_config.max_position_embeddings
        batch = self.processor(text=texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
        batch = batch.to(self.settings.device)
        with self.torch.inference_mode():
            emb = self.model.get_text_features(**batch).pooler_output.float()
        emb = emb / emb.norm(dim=-1, keepdim=True)
        emb = emb.view(len(labels), len(self.templates), -1).mean(1)
        return emb / emb.norm(dim=-1, keepdim=True)

    def classify(self, images: Sequence[np.ndarray], labels: Sequence[str]) -> list[Prediction]:
        text = self._text_embeddings(tuple(labels))
        scale = self.model.logit_scale.exp().float() if hasattr(self.model, "logit_scale") else 100.0

        def run(chunk: list[np.ndarray]) -> list[Prediction]:
            emb = self._embed(chunk)
            with self.torch.inference_mode():
                probs = (scale * emb @ text.T).softmax(dim=-1).cpu().numpy()
            return [Prediction(labels[int(row.argmax())], tuple(float(p) for p in row)) for row in probs]

        return self.batches.map(run, images)

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """The image embeddings the zero-shot classifier compares with the label texts (unit length)."""
        return np.concatenate(self.batches.map(lambda chunk: [self._embed(chunk).cpu().numpy()], images))

    def _embed(self, chunk: list[np.ndarray]):
        """Unit image embeddings. The last MEMO images' are kept: the diagnosis asks for features and two label
        sets on the same images, and Tip-Adapter for scores and features of the same queries."""
        keys = [image_hash(image) for image in chunk]
        fresh = {key: image for key, image in zip(keys, chunk) if key not in self._memo}
        if fresh:
            pixels = self.processor(images=list(fresh.values()), return_tensors="pt")["pixel_values"]
            with self.torch.inference_mode():
                emb = self.model.get_image_features(pixel_values=pixels.to(self.settings.device, self.dtype))
                emb = emb.pooler_output.float()
                emb = emb / emb.norm(dim=-1, keepdim=True)
            self._memo.update(zip(fresh, emb))
        for key in keys:
            self._memo.move_to_end(key)
        while len(self._memo) > MEMO:
            self._memo.popitem(last=False)
        return self.torch.stack([self._memo[key] for key in keys])


adapters.register("clip", ClipFactory())
adapters.alias("reference", f"clip:{REFERENCE_PATH}")
