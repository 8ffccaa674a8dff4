"""H&E histology patches across hospitals (Camelyon17-like): a medical domain shift of stain.

Sample i of every domain shows the same tissue (geometry from `rng_for(seed, family, index)`), re-stained by one
hospital (style randomness from `rng_for(seed, f"{family}/{hospital}", index)`).

| labels                          | domain              | what it looks like                       |
|---------------------------------|---------------------|------------------------------------------|
| "normal tissue", "tumor tissue" | `"hospital_1"` src  | standard H&E: pink stroma, purple nuclei |
|                                 | `"hospital_2"`      | pale, under-stained                      |
|                                 | `"hospital_3"`      | purple/blue-shifted both stains          |
|                                 | `"hospital_4"`      | over-stained, dark                       |
|                                 | `"hospital_5"`      | yellow slide tint, orange eosin          |

Histology is rendered as stain concentrations first (how much haematoxylin and eosin each pixel holds) and
coloured afterwards with a hospital's stain vectors through Beer-Lambert optical density: the shift between
hospitals is then the one stain normalisation methods undo (Macenko, Vahadane), not an arbitrary recolouring.
Tumour is told from normal tissue by the nuclei, as a pathologist would at this magnification: large, crowded,
irregular and dark (hyperchromatic) against small, round, sparse and evenly spaced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from generators.noise import smooth_noise
from generators.sample import Sample, check_domain
from generators.seeding import rng_for
from generators.shapes import SUPERSAMPLE

LABELS: tuple[str, ...] = ("normal tissue", "tumor tissue")
SOURCE_DOMAIN = "hospital_1"
TARGET_DOMAINS: tuple[str, ...] = ("hospital_2", "hospital_3", "hospital_4", "hospital_5")
DOMAINS: tuple[str, ...] = (SOURCE_DOMAIN, *TARGET_DOMAINS)
NAMESPACE = "histology"  # seeds `domain()`'s tissue unless it is given another


def _blob(rng: np.random.Generator, cx: float, cy: float, radius: float, aspect: float, irregularity: float,
          vertices: int = 14) -> np.ndarray:
    """Polygon of a roundish blob: an ellipse whose radius wobbles by `irregularity` (0 = a smooth ellipse)."""
    angles = np.linspace(0.0, 2 * math.pi, vertices, endpoint=False)
    wobble = rng.normal(0.0, irregularity, vertices)
    ring = np.arange(vertices)
    wobble = (wobble + wobble[ring - 1] + wobble[(ring + 1) % vertices]) / 3  # neighbours move together
    radii = radius * (1.0 + wobble)
    tilt = rng.uniform(0, math.pi)
    x, y = radii * np.cos(angles) * aspect, radii * np.sin(angles) / aspect
    xs, ys = x * math.cos(tilt) - y * math.sin(tilt), x * math.sin(tilt) + y * math.cos(tilt)
    return np.stack([cx + xs, cy + ys], axis=1).round().astype(np.int32)


@dataclass(frozen=True)
class Stain:
    """One hospital's H&E protocol, as a Beer-Lambert model: a pixel holding concentrations (h, e) transmits
    `background * 10 ** -(h * h_strength * haematoxylin + e * e_strength * eosin)`.

    Args:
        haematoxylin: optical density of one unit of haematoxylin in (R, G, B); blue-purple, stains nuclei.
        eosin: optical density of one unit of eosin in (R, G, B); pink, stains cytoplasm and stroma.
        h_strength: how much haematoxylin the protocol deposits (staining time, dye batch); scales its density.
        e_strength: the same for eosin.
        background: RGB of unstained glass under this scanner's light (slide tint, white balance).
        variation: relative per-slide spread of both strengths (each sample is its own slide).
    """

    haematoxylin: tuple[float, float, float]
    eosin: tuple[float, float, float]
    h_strength: float = 1.0
    e_strength: float = 1.0
    background: tuple[int, int, int] = (244, 242, 246)
    variation: float = 0.08


STAINS: dict[str, Stain] = {
    # The vectors start from Ruifrok & Johnston's H&E matrix, with eosin made pinker (less blue absorption).
    "hospital_1": Stain(haematoxylin=(0.65, 0.70, 0.29), eosin=(0.07, 0.99, 0.30)),
    "hospital_2": Stain(haematoxylin=(0.60, 0.72, 0.34), eosin=(0.05, 0.95, 0.35), h_strength=0.5,
                        e_strength=0.45, background=(248, 246, 250)),
    "hospital_3": Stain(haematoxylin=(0.80, 0.80, 0.18), eosin=(0.30, 1.00, 0.20), h_strength=1.1,
                        e_strength=0.9, background=(238, 232, 246)),
    "hospital_4": Stain(haematoxylin=(0.62, 0.72, 0.30), eosin=(0.05, 1.00, 0.45), h_strength=1.35,
                        e_strength=1.9, background=(236, 230, 236)),
    "hospital_5": Stain(haematoxylin=(0.55, 0.62, 0.45), eosin=(0.02, 0.80, 0.55), h_strength=0.9,
                        e_strength=0.8, background=(242, 226, 170)),
}


@dataclass(frozen=True)
class Tissue:
    """How one tissue class looks under the microscope; lengths in 64ths of the image side (pixels at 64 px).

    Args:
        spacing: mean distance between neighbouring nuclei.
        jitter: how far nuclei stray from a regular grid, as a fraction of `spacing` (regular tissue: small).
        dropout: fraction of grid sites left empty (sparser tissue).
        radius: range of nucleus radii.
        aspect: range of nucleus elongation (1 = round).
        irregularity: spread of a nucleus outline's radius (0 = smooth ellipse; pleomorphic nuclei: large).
        darkness: range of haematoxylin concentration in a nucleus (hyperchromatic nuclei: high).
        stroma: eosin concentration of the tissue between nuclei.
        fibres: how strongly collagen fibres streak the stroma.
    """

    spacing: float
    jitter: float
    dropout: float
    radius: tuple[float, float]
    aspect: tuple[float, float]
    irregularity: float
    darkness: tuple[float, float]
    stroma: float
    fibres: float


TISSUES: dict[str, Tissue] = {
    "normal tissue": Tissue(spacing=11.0, jitter=0.12, dropout=0.25, radius=(1.5, 2.0), aspect=(1.0, 1.15),
                            irregularity=0.02, darkness=(0.7, 0.9), stroma=0.24, fibres=0.6),
    "tumor tissue": Tissue(spacing=7.4, jitter=0.3, dropout=0.05, radius=(2.4, 3.6), aspect=(1.0, 1.5),
                           irregularity=0.16, darkness=(0.95, 1.3), stroma=0.2, fibres=0.15),
}


class HistologyPatch:
    """H&E-stained lymph-node-like tissue patches, "normal tissue" or "tumor tissue", stained by one hospital.

    Args:
        hospital: the stain protocol, a key of `STAINS`: `SOURCE_DOMAIN` or one of `TARGET_DOMAINS`.
        size: image side in pixels.
        family: the name that seeds the tissue (the reference model trains under another, so that benchmark
            images are always fresh).
    """

    def __init__(self, hospital: str = SOURCE_DOMAIN, size: int = 64, family: str = NAMESPACE) -> None:
        self.family = family
        check_domain("histology", hospital, STAINS, size)
        self.hospital = hospital
        self.stain = STAINS[hospital]
        self.size = size
        self.name = f"{self.family}/{hospital}"
        self.labels = list(LABELS)

    def sample(self, seed: int, index: int) -> Sample:
        label = self.labels[index % len(self.labels)]
        h, e = self.concentrations(seed, index)
        return Sample(self.colour(h, e, rng_for(seed, self.name, index)), label, str(index))

    def concentrations(self, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Haematoxylin and eosin per pixel: the tissue itself, which every hospital shares.

        Drawn at `SUPERSAMPLE` times the image size and area-averaged, so that nucleus outlines are anti-aliased
        in concentration, before any colour exists."""
        tissue = TISSUES[self.labels[index % len(self.labels)]]
        rng = rng_for(seed, self.family, index)
        big = self.size * SUPERSAMPLE
        eosin = self._stroma(rng, tissue, big)
        haematoxylin = 0.06 + 0.03 * smooth_noise(rng, big, 7, clip=True)  # the faint blue cast of all tissue
        nuclei = self._nuclei(rng, tissue, big)
        haematoxylin = np.maximum(haematoxylin, nuclei)
        eosin = np.where(nuclei > 0, eosin * 0.4, eosin)  # nuclei displace cytoplasm
        return self._shrink(haematoxylin), self._shrink(eosin)

    def _shrink(self, stain: np.ndarray) -> np.ndarray:
        soft = cv2.GaussianBlur(stain, (0, 0), 0.2 * SUPERSAMPLE)  # optical blur: no razor-edged nuclei
        return cv2.resize(soft, (self.size, self.size), interpolation=cv2.INTER_AREA)

    def _stroma(self, rng: np.random.Generator, tissue: Tissue, big: int) -> np.ndarray:
        scale = big / 64  # tissue constants are in output pixels at 64 px
        patches, grain = smooth_noise(rng, big, 6, clip=True), smooth_noise(rng, big, 17, clip=True)
        eosin = tissue.stroma * (1.0 + 0.25 * patches + 0.1 * grain)
        # Collagen fibres: long wavy streaks running roughly one way, as in connective tissue.
        fibres = np.zeros((big, big), np.float32)
        direction = rng.uniform(0, math.pi)
        for _ in range(int(28 * tissue.fibres) + 2):
            x0, y0 = rng.uniform(-0.2 * big, 1.2 * big, 2)
            angle = direction + rng.normal(0, 0.25)
            length, phase, bend = rng.uniform(0.4, 1.0) * big, rng.uniform(0, 2 * math.pi), rng.uniform(2, 6) * scale
            t = np.linspace(0, length, 24)
            xs = x0 + t * math.cos(angle) - bend * np.sin(t / (10 * scale) + phase) * math.sin(angle)
            ys = y0 + t * math.sin(angle) + bend * np.sin(t / (10 * scale) + phase) * math.cos(angle)
            points = np.stack([xs, ys], axis=1).round().astype(np.int32)
            cv2.polylines(fibres, [points], False, float(rng.uniform(0.5, 1.0)), max(1, round(0.8 * scale)))
        eosin = eosin + tissue.fibres * 0.35 * cv2.GaussianBlur(fibres, (0, 0), 0.6 * scale)
        # A few unstained gaps (fat, tearing, vessel lumens) so that patches are not uniform fields.
        gaps = np.zeros((big, big), np.uint8)
        for _ in range(int(rng.integers(0, 3))):
            cx, cy = rng.uniform(0, big, 2)
            polygon = _blob(rng, cx, cy, rng.uniform(3, 8) * scale, rng.uniform(1.0, 1.6), 0.15)
            cv2.fillPoly(gaps, [polygon], 1)
        eosin = np.where(gaps > 0, 0.03, eosin)
        return np.clip(eosin, 0.0, None).astype(np.float32)

    def _nuclei(self, rng: np.random.Generator, tissue: Tissue, big: int) -> np.ndarray:
        scale = big / 64
        layer = np.zeros((big, big), np.float32)
        spacing = tissue.spacing * scale
        offset = rng.uniform(0, spacing, 2)
        rows = np.arange(-1, big / (spacing * 0.866) + 1)
        for row in rows:
            # A hexagonal grid, the densest even packing; jitter and dropout then loosen it per class.
            ys = offset[1] + row * spacing * 0.866
            xs = offset[0] + (row % 2) * spacing / 2 + np.arange(-1, big / spacing + 1) * spacing
            for x in xs:
                if rng.random() < tissue.dropout:
                    continue
                cx, cy = np.array([x, ys]) + rng.normal(0, tissue.jitter * spacing, 2)
                radius = rng.uniform(*tissue.radius) * scale
                polygon = _blob(rng, cx, cy, radius, rng.uniform(*tissue.aspect), tissue.irregularity)
                cv2.fillPoly(layer, [polygon], float(rng.uniform(*tissue.darkness)))
        # Chromatin texture: a nucleus is not evenly dark.
        chromatin = 1.0 + 0.18 * smooth_noise(rng, big, big // (2 * SUPERSAMPLE) + 1, clip=True)
        return layer * chromatin

    def colour(self, haematoxylin: np.ndarray, eosin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """RGB image of the concentrations under this hospital's stain (Beer-Lambert), with per-slide variation."""
        stain = self.stain
        h_strength = stain.h_strength * (1 + rng.normal(0, stain.variation))
        e_strength = stain.e_strength * (1 + rng.normal(0, stain.variation))
        h_vector = np.array(stain.haematoxylin, np.float32)
        e_vector = np.array(stain.eosin, np.float32)
        h_vector, e_vector = h_vector / np.linalg.norm(h_vector), e_vector / np.linalg.norm(e_vector)
        density = (h_strength * haematoxylin[..., None] * h_vector) + (e_strength * eosin[..., None] * e_vector)
        background = np.array(stain.background, np.float32) + rng.normal(0, 3, 3).astype(np.float32)
        rgb = background * np.power(np.float32(10.0), -density)
        rgb += rng.normal(0, 2.0, rgb.shape).astype(np.float32)  # sensor noise
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def domain(name: str, size: int = 64, namespace: str = NAMESPACE) -> HistologyPatch:
    """The histology source of one hospital, its tissue seeded by `namespace`; ValueError names the known hospitals."""
    return HistologyPatch(name, size, family=namespace)
