"""The model interface: everything the suite asks of a model under test.

Kept as small as lm-evaluation-harness's model API: an adapter classifies a batch of images among named labels,
and describes itself for the report. Batching, metrics, gating and reporting live outside adapters.

Two optional abilities serve the in-context and diagnosis scenarios (benchmarks/test_icl.py, test_diagnosis.py):
`classify_in_context` (several images in one conversation: examples with their answers, then the query) and
`features` (the model's own frozen image features, for a linear probe). An adapter that lacks one raises
`Unsupported`, and the tests that need it are skipped with its message.
"""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np


# The optional abilities an adapter may have beyond `classify`, by method name: what a model's description lists
# under "capabilities" and what the in-context cells choose their method by (`ood_fixtures.catalog.icl.METHODS`).
CLASSIFY_IN_CONTEXT, FEATURES = "classify_in_context", "features"
CAPABILITIES = (CLASSIFY_IN_CONTEXT, FEATURES)


class SpecError(ValueError):
    """A `--model` value that cannot be used; its message says what is wrong and how to fix it."""


class Unsupported(Exception):
    """The model cannot do what a test asks of it; the message says what and why, and the test is skipped."""


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

    @property
    def device_kind(self) -> str:
        """"cpu" or "cuda", not which GPU: what a model's answers depend on (GPU k answers as GPU 0 does), and so
        what the cache keys, whichever GPU an xdist worker was given."""
        return self.device.partition(":")[0]


@dataclass(frozen=True)
class Prediction:
    """One answer. `label` is None when the model's answer named no label (it counts as wrong).

    `scores` holds one score per candidate label, in the order asked, when the model gives them; `text` the
    model's raw answer, when it writes one.
    """

    label: str | None
    scores: tuple[float, ...] | None = None
    text: str | None = None


@dataclass(frozen=True)
class Episode:
    """One in-context question: example images with their true labels, in the order shown, then the query."""

    examples: tuple[tuple[np.ndarray, str], ...]
    image: np.ndarray


class Adapter(abc.ABC):
    """A model under test, created by the registry from a `--model` spec."""

    spec: str

    @abc.abstractmethod
    def classify(self, images: Sequence[np.ndarray], labels: Sequence[str]) -> list[Prediction]:
        """One prediction per image (H x W x 3 uint8 RGB), each naming one of `labels` or None."""

    def describe(self) -> dict[str, Any]:
        """What results.json records about the model: enough to tell two models apart, never a secret."""
        return {"spec": self.spec}

    def classify_in_context(self, episodes: Sequence[Episode], labels: Sequence[str]) -> list[Prediction]:
        """One prediction per episode: the query classified after seeing the examples and their answers."""
        raise Unsupported(f"{self.spec} takes one image per question, not examples in context")

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """The model's frozen image features, one row per image (N x D float32)."""
        raise Unsupported(f"{self.spec} gives no image features")

    def capabilities(self) -> list[str]:
        """Which optional abilities this adapter has (recorded in describe's output by the model handle)."""
        own = type(self)
        return [name for name in CAPABILITIES if getattr(own, name) is not getattr(Adapter, name)]


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
