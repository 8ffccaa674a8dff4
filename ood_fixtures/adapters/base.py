"""The model interface: everything the suite asks of a model under test.

Kept as small as lm-evaluation-harness's model API: an adapter classifies a batch of images among named labels,
and describes itself for the report. Batching, metrics, gating and reporting live outside adapters.
"""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np


class SpecError(ValueError):
    """A `--model` value that cannot be used; its message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """What the command line says about running models, whatever the model.

    `model_args` are `--model-arg key=value` pairs, passed on to the family's loader (dtype, revision,
    attn_implementation, max_new_tokens, concurrency, timeout ...); each adapter documents the keys it reads.
    """

    device: str = "cpu"
    batch_size: int | None = None  # None: auto (see `ood_fixtures.adapters.batching`)
    model_args: dict[str, str] = field(default_factory=dict)
    trust_remote_code: bool = False
    answer_mode: str = "generate"  # generative models: "generate" (parse the answer) or "score" (rank options)


@dataclass(frozen=True)
class Prediction:
    """One answer. `label` is None when the model's answer named no label (it counts as wrong).

    `scores` holds one score per candidate label, in the order asked, when the model gives them; `text` the
    model's raw answer, when it writes one.
    """

    label: str | None
    scores: tuple[float, ...] | None = None
    text: str | None = None


class Adapter(abc.ABC):
    """A model under test, created by the registry from a `--model` spec."""

    spec: str

    @abc.abstractmethod
    def classify(self, images: Sequence[np.ndarray], labels: Sequence[str]) -> list[Prediction]:
        """One prediction per image (H x W x 3 uint8 RGB), each naming one of `labels` or None."""

    def describe(self) -> dict[str, Any]:
        """What results.json records about the model: enough to tell two models apart, never a secret."""
        return {"spec": self.spec}


@dataclass
class Fingerprint:
    """A content hash of a model's files, so that results name the exact weights they came from.

    Files past `full_limit` bytes are hashed from evenly spaced blocks rather than whole: a sampled hash still
    tells fine-tuned checkpoints apart, and hashing tens of gigabytes at every run would not pay.
    """

    full_limit: int = 256 * 2**20
    block: int = 2**20
    blocks: int = 64
    sampled: bool = field(default=False, init=False)

    def of(self, paths: Sequence[Path]) -> str:
        digest = hashlib.sha256()
        for path in sorted(paths):
            size = path.stat().st_size
            digest.update(f"{path.name}\0{size}\0".encode())
            with path.open("rb") as handle:
                if size <= self.full_limit:
                    for chunk in iter(lambda: handle.read(self.block), b""):
                        digest.update(chunk)
                else:
                    self.sampled = True
                    for k in range(self.blocks):
                        handle.seek(k * (size - self.block) // (self.blocks - 1))
                        digest.update(handle.read(self.block))
        return ("sampled-sha256:" if self.sampled else "sha256:") + digest.hexdigest()
