"""Medical-imaging-like domain shifts: H&E histology patches across hospitals (Camelyon17-like) and chest
radiographs across scanners.

Both families follow the domain-shift contract: sample i of every domain shows the same tissue or the same
patient (geometry from `rng_for(seed, family, index)`), re-rendered with one domain's stain or scanner (style
randomness from `rng_for(seed, f"{family}/{domain}", index)`).

| family      | labels                          | domain              | what it looks like                       |
|-------------|---------------------------------|---------------------|------------------------------------------|
| `histology` | "normal tissue", "tumor tissue" | `"hospital_1"` src  | standard H&E: pink stroma, purple nuclei |
|             |                                 | `"hospital_2"`      | pale, under-stained                      |
|             |                                 | `"hospital_3"`      | purple/blue-shifted both stains          |
|             |                                 | `"hospital_4"`      | over-stained, dark                       |
|             |                                 | `"hospital_5"`      | yellow slide tint, orange eosin          |
| `xray`      | "clear lungs", "lung opacity"   | `"scanner_a"` src   | standard window, little noise            |
|             |                                 | `"scanner_b"`       | low contrast, lifted gamma               |
|             |                                 | `"scanner_c"`       | strong quantum noise                     |
|             |                                 | `"scanner_d"`       | 14-pixel detector, upsampled             |
|             |                                 | `"scanner_e"`       | inverted (negative) display              |

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

from generators.seeding import rng_for
from generators.shapes import SUPERSAMPLE, Sample

HISTOLOGY_LABELS: tuple[str, ...] = ("normal tissue", "tumor tissue")
HISTOLOGY_SOURCE = "hospital_1"
HISTOLOGY_TARGETS: tuple[str, ...] = ("hospital_2", "hospital_3", "hospital_4", "hospital_5")

XRAY_LABELS: tuple[str, ...] = ("clear lungs", "lung opacity")
XRAY_SOURCE = "scanner_a"
XRAY_TARGETS: tuple[str, ...] = ("scanner_b", "scanner_c", "scanner_d", "scanner_e")


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Noise in [-1, 1] with features about `size / cells` pixels across (a coarse grid, cubically upsampled)."""
    grid = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1)).astype(np.float32)
    return np.clip(cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC), -1.0, 1.0)


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


# --------------------------------------------------------------------------------------------------- histology


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
        hospital: the stain protocol, a key of `STAINS`: `HISTOLOGY_SOURCE` or one of `HISTOLOGY_TARGETS`.
        size: image side in pixels.
        family: the name that seeds the tissue (the reference model trains under another, so that benchmark
            images are always fresh).
    """

    def __init__(self, hospital: str = HISTOLOGY_SOURCE, size: int = 64, family: str = "histology") -> None:
        self.family = family
        if hospital not in STAINS:
            raise ValueError(f"unknown histology domain {hospital!r}; known: {', '.join(STAINS)}")
        if size < 16:
            raise ValueError(f"size must be at least 16 pixels, got {size}")
        self.hospital = hospital
        self.stain = STAINS[hospital]
        self.size = size
        self.name = f"{self.family}/{hospital}"
        self.labels = list(HISTOLOGY_LABELS)

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
        haematoxylin = 0.06 + 0.03 * _smooth_noise(rng, big, 6)  # the faint blue cast of all tissue
        nuclei = self._nuclei(rng, tissue, big)
        haematoxylin = np.maximum(haematoxylin, nuclei)
        eosin = np.where(nuclei > 0, eosin * 0.4, eosin)  # nuclei displace cytoplasm
        return self._shrink(haematoxylin), self._shrink(eosin)

    def _shrink(self, stain: np.ndarray) -> np.ndarray:
        soft = cv2.GaussianBlur(stain, (0, 0), 0.2 * SUPERSAMPLE)  # optical blur: no razor-edged nuclei
        return cv2.resize(soft, (self.size, self.size), interpolation=cv2.INTER_AREA)

    def _stroma(self, rng: np.random.Generator, tissue: Tissue, big: int) -> np.ndarray:
        scale = big / 64  # tissue constants are in output pixels at 64 px
        eosin = tissue.stroma * (1.0 + 0.25 * _smooth_noise(rng, big, 5) + 0.1 * _smooth_noise(rng, big, 16))
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
        chromatin = 1.0 + 0.18 * _smooth_noise(rng, big, big // (2 * SUPERSAMPLE))
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


# --------------------------------------------------------------------------------------------------- x-ray


@dataclass(frozen=True)
class Scanner:
    """How one radiography system turns attenuation (0 = air, 1 = bone) into displayed grey levels.

    Args:
        low: displayed level of zero attenuation, after windowing (0 black).
        high: displayed level of full attenuation (1 white); `low > high` displays an inverted (negative) image.
        gamma: exponent of the detector response; below 1 lifts dark regions, above 1 crushes them.
        noise: standard deviation of quantum noise, in grey levels of [0, 1].
        resolution: pixels across the detector, or None for full resolution; the image is captured at this size
            and upsampled back, losing detail.
        variation: per-exposure spread of window and gamma.
    """

    low: float = 0.02
    high: float = 0.98
    gamma: float = 1.0
    noise: float = 0.015
    resolution: int | None = None
    variation: float = 0.03


SCANNERS: dict[str, Scanner] = {
    "scanner_a": Scanner(),
    "scanner_b": Scanner(low=0.3, high=0.76, gamma=0.6),
    "scanner_c": Scanner(noise=0.1),
    "scanner_d": Scanner(resolution=14),
    "scanner_e": Scanner(low=0.95, high=0.08, gamma=1.3),
}


class ChestXRay:
    """Frontal (PA) chest radiographs, "clear lungs" or "lung opacity", taken on one scanner.

    An opacity is a soft, cloudy brightening inside one or both lung fields (consolidation, effusion-like).

    Args:
        scanner: the imaging system, a key of `SCANNERS`: `XRAY_SOURCE` or one of `XRAY_TARGETS`.
        size: image side in pixels.
        family: the name that seeds the patient (the reference model trains under another).
    """

    def __init__(self, scanner: str = XRAY_SOURCE, size: int = 64, family: str = "xray") -> None:
        self.family = family
        if scanner not in SCANNERS:
            raise ValueError(f"unknown xray domain {scanner!r}; known: {', '.join(SCANNERS)}")
        if size < 16:
            raise ValueError(f"size must be at least 16 pixels, got {size}")
        self.scanner_name = scanner
        self.scanner = SCANNERS[scanner]
        self.size = size
        self.name = f"{self.family}/{scanner}"
        self.labels = list(XRAY_LABELS)

    def sample(self, seed: int, index: int) -> Sample:
        label = self.labels[index % len(self.labels)]
        attenuation = self.attenuation(seed, index)
        grey = self.expose(attenuation, rng_for(seed, self.name, index))
        image = (np.clip(grey, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        return Sample(np.repeat(image[..., None], 3, axis=2), label, str(index))

    def attenuation(self, seed: int, index: int) -> np.ndarray:
        """The patient in [0, 1] (0 air, 1 bone), at the image size: the same for every scanner."""
        opaque = self.labels[index % len(self.labels)] == "lung opacity"
        rng = rng_for(seed, self.family, index)
        big = self.size * SUPERSAMPLE
        # Normalised coordinates: u across (-1 left edge .. 1 right edge), v down (-1 top .. 1 bottom).
        v, u = np.mgrid[-1:1:big * 1j, -1:1:big * 1j].astype(np.float32)
        width = rng.uniform(0.85, 0.95)
        lung_height = rng.uniform(0.9, 1.05)

        # Soft tissue, thickest mid-chest; above the shoulders it narrows to the neck.
        shoulders = np.clip((v + 1.0) / 0.35, 0, 1)
        half_width = width * (0.3 + 0.7 * np.sqrt(shoulders))
        body = np.clip(1.6 * (1 - (np.abs(u) / half_width) ** 4), 0, 1)
        image = 0.05 + 0.5 * body * (0.9 + 0.1 * v)
        lungs = self._lungs(u, v, rng, width, lung_height)
        image = image * (1 - 0.72 * lungs)
        image += self._ribs(rng, big, width, lung_height) * (0.04 + 0.07 * lungs) * body
        image += self._vessels(rng, big) * lungs * 0.08
        spine = np.exp(-(u / 0.075) ** 6) * (v > -0.95)
        image = np.maximum(image, 0.62 * spine * (0.95 + 0.05 * np.cos(v * 70)))
        if opaque:
            image += self._opacity(u, v, rng, lungs)
        image = cv2.GaussianBlur(image, (0, 0), 0.6 * SUPERSAMPLE)
        angle, dx, dy = rng.normal(0, 3), rng.normal(0, 0.02 * big), rng.normal(0, 0.02 * big)
        matrix = cv2.getRotationMatrix2D((big / 2, big / 2), angle, 1.0)
        matrix[:, 2] += (dx, dy)
        image = cv2.warpAffine(image, matrix, (big, big), borderMode=cv2.BORDER_REPLICATE)
        return cv2.resize(np.clip(image, 0, 1), (self.size, self.size), interpolation=cv2.INTER_AREA)

    def _lungs(self, u: np.ndarray, v: np.ndarray, rng: np.random.Generator, width: float,
               lung_height: float) -> np.ndarray:
        """Soft mask of both lung fields: apex at the top, domed diaphragm below, the heart cut out of the
        patient's left (image right) lung."""
        fields = np.zeros_like(u)
        heart_width = rng.uniform(0.22, 0.32)
        for side in (-1, 1):
            centre, half_width = side * 0.43 * width, 0.3 * width
            across = (u - centre) / half_width  # -1 .. 1 across this lung
            top = -0.78 * lung_height + 0.35 * across**2
            dome = 0.42 * lung_height + rng.uniform(-0.04, 0.04) - 0.22 * (1 - across**2)
            inside = (np.abs(across) < 1) & (v > top) & (v < dome + 0.1 * (across * side))
            fields = np.maximum(fields, inside.astype(np.float32))
        # The heart projects over the patient's left (image right) lower lung.
        heart = ((u - 0.1) / heart_width) ** 2 + ((v - 0.3) / 0.32) ** 2 < 1
        fields[heart] = 0
        fields[np.abs(u) < 0.11] = 0  # mediastinum
        return cv2.GaussianBlur(fields, (0, 0), 0.02 * u.shape[0])

    def _ribs(self, rng: np.random.Generator, big: int, width: float, lung_height: float) -> np.ndarray:
        """Posterior ribs: arcs leaving the spine, rising slightly, then sweeping down and out."""
        layer = np.zeros((big, big), np.float32)
        spacing = rng.uniform(0.12, 0.14) * lung_height
        thickness = max(1, round(0.028 * big))
        for k in range(10):
            start = -0.82 + k * spacing
            t = np.linspace(0, 1, 20)
            reach = 0.08 + 0.85 * width * t
            drop = start - 0.06 * np.sin(math.pi * t) + 0.4 * t**2
            for side in (-1, 1):
                xs, ys = (side * reach + 1) * big / 2, (drop + 1) * big / 2
                cv2.polylines(layer, [np.stack([xs, ys], 1).round().astype(np.int32)], False, 1.0, thickness)
        # Clavicles: near-horizontal bars across the apices.
        for side in (-1, 1):
            t = np.linspace(0.1, 0.75, 12)
            xs, ys = (side * t * width + 1) * big / 2, (-0.74 - 0.1 * t + 0.02 * np.sin(6 * t) + 1) * big / 2
            cv2.polylines(layer, [np.stack([xs, ys], 1).round().astype(np.int32)], False, 1.3, thickness)
        return cv2.GaussianBlur(layer, (0, 0), 0.01 * big)

    def _vessels(self, rng: np.random.Generator, big: int) -> np.ndarray:
        """Lung markings: faint branches fanning out from each hilum."""
        layer = np.zeros((big, big), np.float32)
        for side in (-1, 1):
            for _ in range(7):
                x, y = side * 0.2, -0.05 + rng.normal(0, 0.05)
                angle = math.pi / 2 - side * rng.uniform(0.2, 2.6)
                points = [(x, y)]
                for _ in range(4):
                    angle += rng.normal(0, 0.3)
                    x, y = x + 0.1 * math.cos(angle) * side, y + 0.1 * math.sin(angle) - 0.02
                    points.append((x, y))
                pixels = ((np.array(points) + 1) * big / 2).round().astype(np.int32)
                cv2.polylines(layer, [pixels], False, 1.0, max(1, round(0.012 * big)))
        return cv2.GaussianBlur(layer, (0, 0), 0.008 * big)

    def _opacity(self, u: np.ndarray, v: np.ndarray, rng: np.random.Generator, lungs: np.ndarray) -> np.ndarray:
        """Cloudy brightening in one lung or both: overlapping soft patches, mottled, confined to the lungs."""
        patches = np.zeros_like(u)
        sides = [(-1,), (1,), (-1, 1)][int(rng.integers(3))]
        for side in sides:
            for _ in range(int(rng.integers(2, 4))):
                cx, cy = side * rng.uniform(0.32, 0.5), rng.uniform(-0.45, 0.2)
                rx, ry = rng.uniform(0.18, 0.28), rng.uniform(0.22, 0.38)
                patches = np.maximum(patches, np.exp(-(((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2)))
        mottling = 0.8 + 0.2 * _smooth_noise(rng, u.shape[0], 7)
        return rng.uniform(0.4, 0.5) * patches * mottling * np.clip(lungs * 1.3, 0, 1)

    def expose(self, attenuation: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Grey levels in [0, 1] as this scanner displays the attenuation, with per-exposure variation."""
        scanner = self.scanner
        detector = attenuation  # noise arises per detector element, so a coarse detector has coarse noise
        if scanner.resolution is not None:
            side = scanner.resolution
            detector = cv2.resize(attenuation, (side, side), interpolation=cv2.INTER_AREA)
        gamma = scanner.gamma * math.exp(rng.normal(0, scanner.variation))
        low, high = scanner.low + rng.normal(0, scanner.variation), scanner.high + rng.normal(0, scanner.variation)
        grey = low + (high - low) * np.power(np.clip(detector, 0, 1), gamma)
        grey = grey + rng.normal(0, scanner.noise, grey.shape).astype(np.float32)
        return cv2.resize(grey, attenuation.shape[::-1], interpolation=cv2.INTER_LINEAR)


# --------------------------------------------------------------------------------------------------- factory


FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "histology": (HISTOLOGY_SOURCE, HISTOLOGY_TARGETS),
    "xray": (XRAY_SOURCE, XRAY_TARGETS),
}


def histology(name: str = HISTOLOGY_SOURCE, size: int = 64) -> HistologyPatch:
    """The histology source of one hospital; ValueError names the known hospitals."""
    return HistologyPatch(name, size)


def xray(name: str = XRAY_SOURCE, size: int = 64) -> ChestXRay:
    """The chest X-ray source of one scanner; ValueError names the known scanners."""
    return ChestXRay(name, size)


def domain(family: str, name: str, size: int = 64) -> HistologyPatch | ChestXRay:
    """The source of one domain of one family (`"histology"` or `"xray"`)."""
    if family == "histology":
        return histology(name, size)
    if family == "xray":
        return xray(name, size)
    raise ValueError(f"unknown medical family {family!r}; known: {', '.join(FAMILIES)}")
