"""Chest radiographs across scanners: a medical domain shift of acquisition and display.

Sample i of every domain shows the same patient (anatomy from `rng_for(seed, family, index)`), imaged on one
scanner (exposure randomness from `rng_for(seed, f"{family}/{scanner}", index)`).

| labels                        | domain             | what it looks like             |
|-------------------------------|--------------------|--------------------------------|
| "clear lungs", "lung opacity" | `"scanner_a"` src  | standard window, little noise  |
|                               | `"scanner_b"`      | low contrast, lifted gamma     |
|                               | `"scanner_c"`      | strong quantum noise           |
|                               | `"scanner_d"`      | 14-pixel detector, upsampled   |
|                               | `"scanner_e"`      | inverted (negative) display    |

The patient is rendered as attenuation first (0 air, 1 bone) and displayed afterwards by a scanner's window,
gamma, noise and detector resolution, so that scanners differ in acquisition only.
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

LABELS: tuple[str, ...] = ("clear lungs", "lung opacity")
SOURCE_DOMAIN = "scanner_a"
TARGET_DOMAINS: tuple[str, ...] = ("scanner_b", "scanner_c", "scanner_d", "scanner_e")
DOMAINS: tuple[str, ...] = (SOURCE_DOMAIN, *TARGET_DOMAINS)
NAMESPACE = "xray"  # seeds `domain()`'s patients unless it is given another


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
        scanner: the imaging system, a key of `SCANNERS`: `SOURCE_DOMAIN` or one of `TARGET_DOMAINS`.
        size: image side in pixels.
        family: the name that seeds the patient (the reference model trains under another).
    """

    def __init__(self, scanner: str = SOURCE_DOMAIN, size: int = 64, family: str = NAMESPACE) -> None:
        self.family = family
        check_domain("xray", scanner, SCANNERS, size)
        self.scanner_name = scanner
        self.scanner = SCANNERS[scanner]
        self.size = size
        self.name = f"{self.family}/{scanner}"
        self.labels = list(LABELS)

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
        mottling = 0.8 + 0.2 * smooth_noise(rng, u.shape[0], 8, clip=True)
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


def domain(name: str, size: int = 64, namespace: str = NAMESPACE) -> ChestXRay:
    """The chest X-ray source of one scanner, its patients seeded by `namespace`; ValueError names the known
    scanners."""
    return ChestXRay(name, size, family=namespace)
