"""Coloured shapes on plain backgrounds: the in-distribution data of the reference model.

Each image is drawn at 4x its size and downsampled, so that edges are anti-aliased like a photograph's rather
than stair-stepped; the model would otherwise learn the stair steps.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from generators.sample import Sample
from generators.seeding import rng_for

SUPERSAMPLE = 4

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "orange": (245, 135, 25),
    "yellow": (235, 215, 35),
    "green": (40, 165, 60),
    "blue": (40, 85, 220),
    "purple": (135, 50, 185),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")

NAMESPACE = "shapes"  # seeds `domain()`'s images unless it is given another
# One domain: the shapes' shifts are corruptions and perturbations of these images, not other domains.
SOURCE_DOMAIN = "shapes"
TARGET_DOMAINS: tuple[str, ...] = ()
DOMAINS: tuple[str, ...] = (SOURCE_DOMAIN,)


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    if shape == "square":
        corners = [(math.pi / 4) + k * math.pi / 2 for k in range(4)]
        radii = [r] * 4
    elif shape == "triangle":
        corners = [-math.pi / 2 + k * 2 * math.pi / 3 for k in range(3)]
        radii = [r * 1.15] * 3
    elif shape == "star":
        corners = [-math.pi / 2 + k * math.pi / 5 for k in range(10)]
        radii = [r * 1.15 if k % 2 == 0 else r * 0.45 for k in range(10)]
    else:
        raise ValueError(f"unknown polygon shape {shape!r}")
    return [(cx + rad * math.cos(a + angle), cy + rad * math.sin(a + angle)) for a, rad in zip(corners, radii)]


class ShapeGenerator:
    """Renders `"<colour> <shape>"` images: one class per (colour, shape) pair.

    Args:
        size: image side in pixels.
        colours: colour names to RGB; the class list is every colour with every shape.
        shapes: shape names, from `SHAPES`.
        name: the scenario name that seeds every image (two generators with the same name draw the same images).
    """

    def __init__(
        self,
        size: int = 64,
        colours: dict[str, tuple[int, int, int]] | None = None,
        shapes: tuple[str, ...] = SHAPES,
        name: str = "shapes",
    ) -> None:
        if size < 16:
            raise ValueError(f"size must be at least 16 pixels, got {size}")
        self.size = size
        self.colours = dict(colours or COLOURS)
        self.shapes = tuple(shapes)
        self.name = name
        self.labels = [f"{colour} {shape}" for colour in self.colours for shape in self.shapes]

    def sample(self, seed: int, index: int) -> Sample:
        """The image of `index`: classes cycle with the index so any prefix of samples is near-balanced."""
        label = self.labels[index % len(self.labels)]
        colour, shape = label.split(" ")
        rng = rng_for(seed, self.name, index)
        return Sample(self.render(shape, self.colours[colour], rng), label, str(index))

    def render(self, shape: str, rgb: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
        big = self.size * SUPERSAMPLE
        grey = int(rng.integers(35, 225))
        tint = rng.integers(-12, 13, size=3)
        background = tuple(int(v) for v in np.clip(grey + tint, 0, 255))
        fill = tuple(int(v) for v in np.clip(np.array(rgb) + rng.integers(-18, 19, size=3), 0, 255))

        r = big * rng.uniform(0.2, 0.34)
        margin = r * 1.2
        cx, cy = rng.uniform(margin, big - margin, size=2)
        angle = rng.uniform(0, 2 * math.pi)

        canvas = Image.new("RGB", (big, big), background)
        draw = ImageDraw.Draw(canvas)
        if shape == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        else:
            draw.polygon(_polygon(shape, cx, cy, r, angle), fill=fill)
        return np.asarray(canvas.resize((self.size, self.size), Image.Resampling.LANCZOS))


def domain(name: str, size: int = 64, namespace: str = NAMESPACE) -> ShapeGenerator:
    """The shapes source (the one domain, `"shapes"`), its images seeded by `namespace`; ValueError otherwise."""
    if name != SOURCE_DOMAIN:
        raise ValueError(f"unknown shapes domain {name!r}; known domains: {', '.join(DOMAINS)}")
    return ShapeGenerator(size, name=namespace)
