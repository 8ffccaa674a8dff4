"""MNIST-like digits rendered from a font: the synthetic analogues of Colored MNIST and Rotated MNIST.

Each image is one digit, light on a dark noisy grey, with a random size, position, stroke width, slant and small
rotation, so that the class is the glyph and nothing else. The glyph comes from Pillow's built-in scalable font
(`ImageFont.load_default(size=...)`), which needs no font files on the user's machine.

Two scenarios draw from here:

| scenario | source domain | target domains or shift |
|---|---|---|
| spurious colour (Colored MNIST) | `"coloured"` | `"colour-random"`, `"colour-reversed"` |
| rotation (Rotated MNIST) | `"grey"` | `Rotate(d)` for d in `ROTATIONS` |

- `"grey"`: light-grey digits, no colour at all.
- `"coloured"`: digit k in colour k of `PALETTE` in 90% of images, in one of the other nine otherwise.
- `"colour-random"`: a colour independent of the digit (uniform over the palette).
- `"colour-reversed"`: always the colour of digit (k + 5) % 10, so the colour names a wrong digit.

A model that learned the colour instead of the glyph scores high on `"coloured"` and falls towards chance (or
below, on `"colour-reversed"`) on the targets. Under rotation, "6" and "9" swap at 180 degrees, which is part of
what the sweep measures: a rotation-invariant model cannot tell them apart there.

Sample i of every domain shows the same digit in the same pose (size, position, slant, rotation and stroke are drawn
from `rng_for(seed, "digits", i)`); only the style (background, ink, colour) is drawn per domain, from the source's
name. Per-sample rotation stays within `MAX_JITTER_DEGREES`, so "6" and "9" are unambiguous at 0 degrees.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from generators.sample import Sample
from generators.seeding import rng_for
from generators.shapes import SUPERSAMPLE

FAMILY = "digits"  # seeds the pose, which every digit domain shares
NAMESPACE = FAMILY  # what `domain()` seeds poses and styles with unless it is given another
LABELS: list[str] = [str(digit) for digit in range(10)]
MAX_JITTER_DEGREES = 8.0
ROTATIONS: tuple[int, ...] = (0, 30, 60, 90, 120, 150, 180)

# Colour k is digit k's in the spurious-colour domains. All are bright enough to read on the dark background.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "orange": (250, 140, 20),
    "yellow": (240, 225, 40),
    "green": (40, 190, 60),
    "cyan": (40, 215, 225),
    "blue": (60, 100, 250),
    "purple": (150, 70, 225),
    "pink": (250, 120, 200),
    "brown": (150, 95, 45),
    "white": (245, 245, 245),
}

SOURCE_DOMAIN = "coloured"
TARGET_DOMAINS: tuple[str, ...] = ("colour-random", "colour-reversed")
ROTATION_SOURCE_DOMAIN = "grey"
DOMAINS: tuple[str, ...] = ("grey", "coloured", "colour-random", "colour-reversed")

_FONT_PX = 160  # the glyph is rendered once at this size, then warped: the final size is set by the pose
_CANVAS_PX = 256  # canvas for the glyph at _FONT_PX, with room for the thickest stroke


@dataclass(frozen=True)
class Pose:
    """Where and how one digit is drawn, in fractions of the image side; shared by every domain's sample i."""

    height: float  # glyph height
    dx: float  # centre offset from the image centre
    dy: float
    slant: float  # horizontal shear: the top of the glyph moves right by slant x its half-height
    degrees: float  # counter-clockwise rotation
    stroke: float  # extra stroke width, as a fraction of the font size


def draw_pose(rng: np.random.Generator) -> Pose:
    height = rng.uniform(0.55, 0.72)
    dx, dy = rng.uniform(-0.07, 0.07, size=2)
    return Pose(
        height=float(height),
        dx=float(dx),
        dy=float(dy),
        slant=float(rng.uniform(-0.1, 0.3)),  # handwriting leans right more often than left
        degrees=float(rng.uniform(-MAX_JITTER_DEGREES, MAX_JITTER_DEGREES)),
        stroke=float(rng.uniform(0.0, 0.045)),
    )


@functools.lru_cache(maxsize=1)
def _font() -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=_FONT_PX)


@functools.lru_cache(maxsize=None)  # at most 10 digits x 8 stroke widths
def _glyph(digit: str, stroke_px: int) -> np.ndarray:
    """The digit's mask, cropped to its ink: rendered once per (digit, stroke) since the font never changes."""
    canvas = Image.new("L", (_CANVAS_PX, _CANVAS_PX), 0)
    centre = (_CANVAS_PX / 2, _CANVAS_PX / 2)
    draw = ImageDraw.Draw(canvas)
    draw.text(centre, digit, fill=255, font=_font(), anchor="mm", stroke_width=stroke_px, stroke_fill=255)
    left, top, right, bottom = canvas.getbbox()
    return np.asarray(canvas.crop((left, top, right, bottom)))


def digit_mask(digit: str, pose: Pose, size: int) -> np.ndarray:
    """The posed digit as a float mask in [0, 1] of shape (size, size), anti-aliased by drawing at SUPERSAMPLE x."""
    glyph = _glyph(digit, round(pose.stroke * _FONT_PX))
    big = size * SUPERSAMPLE
    scale = pose.height * big / glyph.shape[0]
    theta = math.radians(pose.degrees)
    # Image y points down, so a counter-clockwise turn on screen is a clockwise one in array coordinates.
    rotate = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])
    shear = np.array([[1.0, -pose.slant], [0.0, 1.0]])
    linear = rotate @ shear * scale
    glyph_centre = np.array([glyph.shape[1] / 2, glyph.shape[0] / 2])
    target = np.array([big * (0.5 + pose.dx), big * (0.5 + pose.dy)])
    affine = np.hstack([linear, (target - linear @ glyph_centre)[:, None]])
    warped = cv2.warpAffine(glyph, affine, (big, big), flags=cv2.INTER_LINEAR, borderValue=0)
    small = Image.fromarray(warped).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.float32) / 255.0


def compose(mask: np.ndarray, ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The digit in `ink` over a dark noisy grey: the noise is per pixel at the final size, so no resize smooths it."""
    size = mask.shape[0]
    level = rng.uniform(15, 65)
    tint = rng.uniform(-4, 4, size=3)
    noise = rng.normal(0.0, rng.uniform(3, 10), size=(size, size, 1))
    background = level + tint + noise
    alpha = mask[..., None]
    image = background * (1 - alpha) + ink.astype(np.float32) * alpha
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


class DigitSource:
    """Light-grey digits on a dark noisy grey (the MNIST-like source of the rotation scenario).

    Args:
        size: image side in pixels.
        name: seeds the style (background, ink); the pose comes from `family`, so sources with different
            names show the same digits in the same poses, index by index.
        family: seeds the pose (the reference model trains under another family name, on other digits).
    """

    def __init__(self, size: int = 64, name: str = "digits", family: str = FAMILY) -> None:
        if size < 16:
            raise ValueError(f"size must be at least 16 pixels, got {size}")
        self.size = size
        self.name = name
        self.family = family
        self.labels = list(LABELS)

    def sample(self, seed: int, index: int) -> Sample:
        """The image of `index`: digits cycle with the index, so any prefix of samples is near-balanced."""
        label = self.labels[index % len(self.labels)]
        mask = digit_mask(label, draw_pose(rng_for(seed, self.family, index)), self.size)
        # "style" keeps this stream apart from the pose's even when the source is named after the family.
        style = rng_for(seed, self.name, "style", index)
        ink = self.ink(seed, index, style)
        return Sample(compose(mask, ink, style), label, str(index))

    def ink(self, seed: int, index: int, style: np.random.Generator) -> np.ndarray:
        """The RGB of sample `index`'s digit: a light grey here; subclasses colour it."""
        return np.full(3, style.uniform(190, 255))


class ColouredDigitSource(DigitSource):
    """Digits drawn in colour, the colour tied to the label with probability `correlation` (Colored MNIST).

    Colour k of `palette` belongs to digit k. With probability `correlation` a digit is drawn in its own colour;
    otherwise in the colour of digit (k + mismatch_offset) % 10 if `mismatch_offset` is set, else in one of the
    other colours, uniformly. Hence `correlation=1 / len(palette)` with no offset is a colour independent of the
    digit, and `correlation=0, mismatch_offset=5` a colour that always names another digit.

    Args:
        size: image side in pixels.
        name: seeds the style and the colour choice; the pose is shared with every digit domain.
        correlation: probability in [0, 1] that the digit has its own colour.
        palette: ten colour names to RGB, in digit order; `PALETTE` by default.
        mismatch_offset: if set, the one colour used when the digit does not get its own.
        family: seeds the pose, as for `DigitSource`.
    """

    def __init__(
        self,
        size: int = 64,
        name: str = "digits/coloured",
        *,
        correlation: float,
        palette: dict[str, tuple[int, int, int]] | None = None,
        mismatch_offset: int | None = None,
        family: str = FAMILY,
    ) -> None:
        super().__init__(size, name, family)
        if not 0.0 <= correlation <= 1.0:
            raise ValueError(f"correlation must be in [0, 1], got {correlation}")
        self.palette = dict(palette or PALETTE)
        if len(self.palette) != len(self.labels):
            raise ValueError(f"the palette needs one colour per digit ({len(self.labels)}), got {len(self.palette)}")
        if mismatch_offset is not None and mismatch_offset % len(self.palette) == 0:
            raise ValueError(f"mismatch_offset {mismatch_offset} would give the digit its own colour")
        self.correlation = correlation
        self.mismatch_offset = mismatch_offset

    def colour_of(self, seed: int, index: int) -> str:
        """The name of the colour that sample `index` is drawn in (cheap: renders nothing)."""
        names = list(self.palette)
        digit = index % len(self.labels)
        # A stream of its own, so that the colour choice can be inspected without rendering the image.
        rng = rng_for(seed, self.name, "colour", index)
        if rng.random() < self.correlation:
            return names[digit]
        if self.mismatch_offset is not None:
            return names[(digit + self.mismatch_offset) % len(names)]
        others = [name for k, name in enumerate(names) if k != digit]
        return others[int(rng.integers(len(others)))]

    def ink(self, seed: int, index: int, style: np.random.Generator) -> np.ndarray:
        rgb = np.array(self.palette[self.colour_of(seed, index)], dtype=np.float32)
        return np.clip(rgb + style.uniform(-15, 15, size=3), 0, 255)


def domain(name: str, size: int = 64, namespace: str = NAMESPACE, *, family: str | None = None) -> DigitSource:
    """The digit source of a named domain (see the module docstring's table); `namespace` seeds poses and names.

    `family` is `namespace`'s former name, still accepted by keyword.
    """
    if family is not None:
        if namespace not in (NAMESPACE, family):
            raise TypeError(f"domain() got both namespace={namespace!r} and family={family!r}")
        namespace = family
    if name == "grey":
        return DigitSource(size, name=f"{namespace}/grey", family=namespace)
    if name == "coloured":
        return ColouredDigitSource(size, name=f"{namespace}/coloured", correlation=0.9, family=namespace)
    if name == "colour-random":
        return ColouredDigitSource(size, name=f"{namespace}/colour-random", correlation=1 / len(PALETTE),
                                   family=namespace)  # fmt: skip
    if name == "colour-reversed":
        return ColouredDigitSource(size, name=f"{namespace}/colour-reversed", correlation=0.0, mismatch_offset=5,
                                   family=namespace)  # fmt: skip
    raise ValueError(f"unknown digit domain {name!r}; known domains: {', '.join(DOMAINS)}")


class Rotate:
    """Rotates an image about its centre by a fixed angle (the Rotated MNIST shift; see `ROTATIONS`).

    "6" and "9" swap at 180 degrees: there a correct answer needs the upright orientation the source taught.
    Multiples of 90 degrees move pixels exactly (`Rotate(180)` twice is the identity). Other angles bring the
    corners in from outside the image; they are filled with the border's median colour plus Gaussian noise of the
    border's spread, so the background keeps its look. Replicating the border instead leaves streaks in the
    corners, a cue that only rotated images would carry.

    Args:
        degrees: counter-clockwise angle.
    """

    def __init__(self, degrees: float) -> None:
        self.degrees = float(degrees)

    def __call__(self, image: np.ndarray, seed: int, index: int | str) -> np.ndarray:
        turns, remainder = divmod(self.degrees, 90.0)
        if remainder == 0.0:
            return np.ascontiguousarray(np.rot90(image, int(turns) % 4))
        height, width = image.shape[:2]
        matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), self.degrees, 1.0)
        rotated = cv2.warpAffine(image.astype(np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR)
        inside = cv2.warpAffine(np.ones((height, width), np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR)
        # Outside pixels come in as 0, so `rotated` is already weighted by `inside`: the fill takes the remainder.
        fill = self.background(image, rng_for(seed, "rotate", self.degrees, index))
        out = rotated + (1.0 - inside[..., None]) * fill
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    @staticmethod
    def background(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noise like the border's: median and spread (MAD) per channel, robust to a stroke touching the edge."""
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).astype(np.float32)
        median = np.median(border, axis=0)
        spread = 1.4826 * np.median(np.abs(border - median), axis=0)
        # One normal draw per pixel, scaled per channel: the digits' noise is grey, not coloured.
        return median + rng.normal(size=(*image.shape[:2], 1)).astype(np.float32) * spread

    def __repr__(self) -> str:
        return f"Rotate({self.degrees:g})"
