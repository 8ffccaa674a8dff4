"""Small label-preserving perturbations with one continuous strength each, for property-based invariance checks.

Each perturbation is the identity at strength 0 and grows with |strength| up to `limit`, so that hypothesis,
which shrinks numbers towards 0, shrinks a failure to the smallest perturbation that changes the model's answer.
A person would give every perturbed image the label of its clean one: within the limits the change is mild
(a brightness shift of a tenth, JPEG quality 80, ten degrees of rotation ...).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np
from PIL import Image

from generators.seeding import rng_for


def _brightness(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(image.astype(np.float32) + 255 * strength, 0, 255).astype(np.uint8)


def _contrast(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    x = image.astype(np.float32)
    mean = x.mean(axis=(0, 1), keepdims=True)
    return np.clip(mean + (x - mean) * (1 + strength), 0, 255).astype(np.uint8)


def _jpeg(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    if strength == 0:
        return image.copy()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(round(100 - strength)))
    return np.array(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))  # a copy: torch warns on read-only arrays


def _warp(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _rotation(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    return _warp(image, cv2.getRotationMatrix2D((width / 2, height / 2), strength, 1.0))


def _translation(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    # strength is a share of the image side, along a direction drawn per image
    angle = rng.uniform(0, 2 * np.pi)
    dx, dy = strength * image.shape[1] * np.cos(angle), strength * image.shape[0] * np.sin(angle)
    return _warp(image, np.float32([[1, 0, dx], [0, 1, dy]]))


def _noise(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    noisy = image.astype(np.float32) + rng.normal(0, 255 * strength, image.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Perturbation:
    """One perturbation family.

    Args:
        name: its name in test ids and reports.
        unit: what the strength measures, for reports.
        limit: the largest |strength| drawn.
        signed: whether negative strengths are drawn too (darker as well as brighter).
        apply: `(image, strength, rng) -> image`, the identity at strength 0.
    """

    name: str
    unit: str
    limit: float
    signed: bool
    apply: Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


PERTURBATIONS: dict[str, Perturbation] = {
    p.name: p
    for p in (
        Perturbation("brightness", "shift, share of full scale", 0.1, True, _brightness),
        Perturbation("contrast", "relative change of contrast", 0.2, True, _contrast),
        Perturbation("jpeg", "100 - JPEG quality", 20.0, False, _jpeg),
        Perturbation("rotation", "degrees", 10.0, True, _rotation),
        Perturbation("translation", "share of the image side", 0.06, False, _translation),
        Perturbation("noise", "Gaussian sigma, share of full scale", 0.04, False, _noise),
    )
}


class Perturb:
    """A perturbation at one strength, as a cell's shift: `(image, seed, index) -> image`, reproducible per image."""

    def __init__(self, name: str, strength: float) -> None:
        if name not in PERTURBATIONS:
            raise KeyError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}")
        perturbation = PERTURBATIONS[name]
        low = -perturbation.limit if perturbation.signed else 0.0
        if not low <= strength <= perturbation.limit:
            raise ValueError(f"{name}: strength must be within [{low:g}, {perturbation.limit:g}], got {strength}")
        self.perturbation = perturbation
        self.strength = float(strength)

    def __call__(self, image: np.ndarray, seed: int, index: int | str) -> np.ndarray:
        rng = rng_for(seed, "perturbation", self.perturbation.name, repr(self.strength), index)
        return self.perturbation.apply(image, self.strength, rng)
