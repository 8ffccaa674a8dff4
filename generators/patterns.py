"""Patterned shapes with held-out combinations: a compositional shift.

Each image is one shape (circle, square, triangle, star) filled with one pattern (striped, dotted, checked, solid)
on a plain background; the class is `"<pattern> <shape>"`, 16 in all. Four combinations, `HELD_OUT`, are never in
the source domain. They form a Latin square (one per pattern and one per shape), so every pattern and every shape
is still seen, in three other combinations each: a model that has learned the two attributes separately can name
a held-out pair, one that memorised the 12 seen pairs cannot.

| domain | combinations drawn |
|---|---|
| `"seen"` (source) | the 12 not held out |
| `"held-out"` (target) | the 4 of `HELD_OUT` |
| `"all"` | all 16 |

In every domain `labels` is all 16 classes: the labels are the candidates offered to the model, not the classes
drawn, so a model can (wrongly) answer a held-out class on a seen image and vice versa. Only the sampling is
restricted to the split's combinations.

Colours are random per image with a fixed ordering in lightness: the background is near-black or near-white, the
shape a saturated mid tone, and the pattern's marks the opposite extreme of the background, so the silhouette and
the pattern both stand out whichever colours are drawn.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw

from generators.sample import Sample
from generators.seeding import rng_for
from generators.shapes import SHAPES, SUPERSAMPLE, _polygon

PATTERNS: tuple[str, ...] = ("striped", "dotted", "checked", "solid")
LABELS: list[str] = [f"{pattern} {shape}" for pattern in PATTERNS for shape in SHAPES]
HELD_OUT: frozenset[tuple[str, str]] = frozenset(
    {("striped", "star"), ("dotted", "circle"), ("checked", "square"), ("solid", "triangle")}
)
SPLITS: dict[str, tuple[tuple[str, str], ...]] = {
    "seen": tuple((p, s) for p in PATTERNS for s in SHAPES if (p, s) not in HELD_OUT),
    "held-out": tuple((p, s) for p in PATTERNS for s in SHAPES if (p, s) in HELD_OUT),
    "all": tuple((p, s) for p in PATTERNS for s in SHAPES),
}

NAMESPACE = "patterns"  # what `domain()` seeds its images with unless it is given another (see `domain`)
SOURCE_DOMAIN = "seen"
TARGET_DOMAINS: tuple[str, ...] = ("held-out",)
DOMAINS: tuple[str, ...] = tuple(SPLITS)


def pattern_mask(pattern: str, side: int, rng: np.random.Generator) -> np.ndarray:
    """Where the pattern's marks are, on a side x side canvas at SUPERSAMPLE x, with random period, angle, phase.

    Periods are 4.5-8 px at the final size: below ~4 px the marks blur into a flat tint when downsampled.
    """
    if pattern == "solid":
        return np.zeros((side, side), dtype=bool)
    period = SUPERSAMPLE * (rng.uniform(4.5, 6.0) if pattern == "striped" else rng.uniform(6.5, 8.0))
    angle = rng.uniform(0, math.pi)
    y, x = np.mgrid[0:side, 0:side] + 0.5
    u = (x * math.cos(angle) + y * math.sin(angle)) / period + rng.uniform()
    v = (-x * math.sin(angle) + y * math.cos(angle)) / period + rng.uniform()
    if pattern == "striped":
        return u % 1 < 0.5
    if pattern == "checked":
        return (np.floor(u) + np.floor(v)) % 2 == 0
    if pattern == "dotted":
        return (u % 1 - 0.5) ** 2 + (v % 1 - 0.5) ** 2 < 0.3**2
    raise ValueError(f"unknown pattern {pattern!r}; known patterns: {', '.join(PATTERNS)}")


def shape_mask(shape: str, side: int, rng: np.random.Generator) -> np.ndarray:
    """The shape's silhouette on a side x side canvas, large (40-50% of the side in radius) so the pattern shows."""
    r = side * rng.uniform(0.3, 0.4)
    margin = r * 1.15  # triangles and stars reach 1.15 r
    cx, cy = rng.uniform(margin, side - margin, size=2)
    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    else:
        draw.polygon(_polygon(shape, cx, cy, r, rng.uniform(0, 2 * math.pi)), fill=255)
    return np.asarray(canvas) > 127


def mid_tone(rng: np.random.Generator) -> np.ndarray:
    """A saturated colour of random hue whose luma is mid-range (0.38-0.55), darkened or whitened to get there."""
    rgb = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.65, 1.0), 1.0))
    luma = float(rgb @ (0.299, 0.587, 0.114))
    target = rng.uniform(0.38, 0.55)
    # Darkening keeps the hue of bright colours (yellow, cyan); whitening lifts dark ones (blue) without greying them.
    rgb = rgb * (target / luma) if luma > target else rgb + (1 - rgb) * (target - luma) / (1 - luma)
    return rgb * 255


class PatternSource:
    """Renders `"<pattern> <shape>"` images, drawing only the combinations of one split.

    `labels` is always all 16 classes (the candidate set offered to the model); the images come only from the
    split's combinations, cycled with the index so that every prefix is near-balanced over them.

    Args:
        size: image side in pixels.
        name: seeds every image (two sources with the same name and split draw the same images).
        split: `"seen"` (the 12 combinations not in `HELD_OUT`), `"held-out"` (the 4 in it) or `"all"` (16).
    """

    def __init__(self, size: int = 64, name: str = "patterns", split: str = "seen") -> None:
        if size < 16:
            raise ValueError(f"size must be at least 16 pixels, got {size}")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; known splits: {', '.join(SPLITS)}")
        self.size = size
        self.name = name
        self.split = split
        self.combinations = SPLITS[split]
        self.labels = list(LABELS)

    def sample(self, seed: int, index: int) -> Sample:
        pattern, shape = self.combinations[index % len(self.combinations)]
        image = self.render(pattern, shape, rng_for(seed, self.name, index))
        return Sample(image, f"{pattern} {shape}", str(index))

    def render(self, pattern: str, shape: str, rng: np.random.Generator) -> np.ndarray:
        big = self.size * SUPERSAMPLE
        dark = rng.random() < 0.5
        background = (rng.uniform(10, 45) if dark else rng.uniform(200, 245)) + rng.uniform(-8, 8, size=3)
        marks = np.full(3, rng.uniform(225, 255) if dark else rng.uniform(0, 30))
        fill = mid_tone(rng)

        inside = shape_mask(shape, big, rng)
        marked = inside & pattern_mask(pattern, big, rng)
        image = np.empty((big, big, 3))
        image[:] = background
        image[inside] = fill
        image[marked] = marks
        canvas = Image.fromarray(np.clip(image + 0.5, 0, 255).astype(np.uint8))
        return np.asarray(canvas.resize((self.size, self.size), Image.Resampling.LANCZOS))


def domain(name: str, size: int = 64, namespace: str = NAMESPACE) -> PatternSource:
    """The pattern source of a named domain: the split of the same name (see the module docstring's table).

    Under the default namespace each split has a stream of its own (`"patterns/seen"`, ...); under any other
    namespace every split draws from the namespace itself (the reference model trains on `"patterns-train"`).
    The two rules are kept apart so that neither the benchmarks' images nor the training images change.
    """
    if name not in SPLITS:
        raise ValueError(f"unknown pattern domain {name!r}; known domains: {', '.join(DOMAINS)}")
    return PatternSource(size, name=f"{namespace}/{name}" if namespace == NAMESPACE else namespace, split=name)
