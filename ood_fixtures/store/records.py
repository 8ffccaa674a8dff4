"""Whole-cell results in the cache: a rerun with nothing changed renders no image and loads no model.

The prediction cache alone still renders every image (its key is the image's content) and loads the model to
learn its fingerprint. A cell record is keyed instead by what the cell's images and answers depend on, known
before rendering anything: the model's identity (`adapters.identity`), the seed and sample count, the cell and its
candidate labels, and the code that draws and asks it, and for a source read from disk its files (`content_key`).
The code is taken by package: every module of `generators/`, `ood_fixtures/catalog/` (what a cell is and shows,
the real datasets' reader included) and `ood_fixtures/evaluation/` (how it is asked), the benchmark module that
defines the cell, and the imaging libraries' versions. Change any of them and the cell is rendered again; the
prediction cache then still spares the inference for images that did not change.

A record holds every sample's answer and the report's example images (PNG), so a cell scored from a record is
the same as one scored from fresh answers; the gate is applied anew each time.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ood_fixtures.evaluation.predict import SampleResult
from ood_fixtures.images import from_base64, to_base64
from ood_fixtures.store.hashing import PACKAGE, library_versions, package_files, source_digest

# The packages whose code decides what a cell's images are and how the model is asked about them.
RENDERING = (PACKAGE.parent / "generators", PACKAGE / "catalog", PACKAGE / "evaluation")
IMAGING_LIBRARIES = ("numpy", "pillow", "opencv-python", "opencv-python-headless", "albumentations", "rdkit")

Examples = list[tuple[SampleResult, np.ndarray]]


@functools.lru_cache(maxsize=None)
def render_digest(module: Path) -> str:
    """What the images of cells defined in `module` depend on, besides the seed and the cell itself."""
    code = source_digest([*package_files(*RENDERING), module])
    return json.dumps({"code": code, "libraries": library_versions(*IMAGING_LIBRARIES)}, sort_keys=True)


def content_key(part: object) -> str:
    """What a source or shift depends on beyond the suite's code, if anything: a real dataset's files, the code
    of a user's own source or shift (`ood_fixtures.api`)."""
    key = getattr(part, "content_key", None)
    return key() if key else ""


def cell_key(identity: str, render: str, cell_id: str, labels: Sequence[str], seed: int, count: int,
             image_size: int | None = None) -> str:  # fmt: skip
    parts = json.dumps([identity, render, cell_id, list(labels), seed, count, image_size], ensure_ascii=False)
    return "cell:" + hashlib.sha256(parts.encode()).hexdigest()


def model_key(identity: str) -> str:
    """The record of the model's description, so that a run served wholly from records still reports it."""
    return "model:" + hashlib.sha256(identity.encode()).hexdigest()


def encode_cell(samples: Sequence[SampleResult], examples: Examples) -> str:
    rows = [[s.sample_id, s.label, s.prediction, s.text, s.confidence] for s in samples]
    index = {s.sample_id: i for i, s in enumerate(samples)}
    pictures = [[index[s.sample_id], to_base64(image)] for s, image in examples]
    return json.dumps({"samples": rows, "examples": pictures})


def decode_cell(value: str) -> tuple[list[SampleResult], Examples]:
    record = json.loads(value)
    samples = [SampleResult(*row) for row in record["samples"]]
    return samples, [(samples[i], from_base64(picture)) for i, picture in record["examples"]]
