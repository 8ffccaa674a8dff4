"""What the reference models' training scripts share (scripts/train_reference_*.py, scripts/degrade_reference.py
never import one another): the source domains they learn, drawn under namespaces of their own, and the CLIP's
input and caption embeddings. Not used by the suite itself; torch is imported by the functions that need it."""

from __future__ import annotations

from typing import Any

import numpy as np

import generators
from ood_fixtures.adapters.prompts import captions
from ood_fixtures.catalog.scenarios import TRAINING

__all__ = ["TRAINING", "source", "to_pixels", "text_embeddings"]


def source(kind: str, domain: str, size: int, split: str) -> Any:
    """A source domain of a generator kind (`generators.kinds()`), drawn under the namespace "<kind>-<split>"
    ("-train" or "-heldout"): images the benchmarks, which use the kinds' own namespaces, never show."""
    return generators.source(kind, domain, size, namespace=f"{kind}-{split}")


def to_pixels(images: np.ndarray):
    """The CLIP processor's output for the reference's 64-pixel RGB images (no resize or crop needed):
    (x / 255 - 0.5) / 0.5, N x 3 x H x W."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.5) / 0.5


def text_embeddings(model, tokenizer, labels: list[str], templates: tuple[str, ...]):
    """Unit text embeddings of each label, averaged over the caption templates (CLIP's prompt ensembling)."""
    import torch.nn.functional as F

    texts = [text for label in labels for text in captions(label, templates)]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    emb = F.normalize(model.get_text_features(**batch).pooler_output, dim=-1)
    return F.normalize(emb.view(len(labels), len(templates), -1).mean(1), dim=-1)
