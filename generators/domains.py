"""A PACS/DomainNet-like natural domain shift: seven everyday objects, each drawn once, rendered in five styles.

| domain      | role   | style                                                                            |
|-------------|--------|----------------------------------------------------------------------------------|
| `photo`     | source | shaded object with a soft shadow on a textured sky/ground, studio or noise scene |
| `sketch`    | target | uneven graphite outlines and hatching on white paper, no fill                    |
| `cartoon`   | target | flat bright posterized colours, thick black outlines, plain background           |
| `painting`  | target | short oriented brush strokes that take their colours from a photo-style render  |
| `quickdraw` | target | a few crude, jittered black polylines around the silhouette, on white            |

Every object is geometry first (`Part` polygons and polylines with per-instance proportions, colours, pose) and
pixels second, so the styles differ in rendering only: sample `index` shows the same instance in every domain
(geometry from `rng_for(seed, family, index)`), while each domain draws its own style randomness (background,
stroke jitter) from `rng_for(seed, f"{family}/{domain}", index)`. The object is the only thing the label can
be read from: backgrounds are drawn independently of the class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import cv2
import numpy as np
from PIL import Image

from generators.seeding import rng_for
from generators.shapes import SUPERSAMPLE, Sample

LABELS: tuple[str, ...] = ("house", "tree", "car", "fish", "boat", "flower", "cup")
SOURCE_DOMAIN = "photo"
TARGET_DOMAINS: tuple[str, ...] = ("sketch", "cartoon", "painting", "quickdraw")
DOMAINS: tuple[str, ...] = (SOURCE_DOMAIN, *TARGET_DOMAINS)

RGB = tuple[int, int, int]
_SHIFT = 4  # cv2 sub-pixel bits: polygon vertices keep 1/16 px precision on the supersampled canvas


# ----------------------------------------------------------------------------------------------------------------
# Geometry: objects as parts in unit coordinates (y down, roughly within [-1, 1]), then placed on the canvas.
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One piece of an object, in painter's order.

    Args:
        points: (n, 2) vertices: a filled polygon, or the centre line of a stroke when `width` > 0.
        colour: the part's natural colour (styles may brighten, posterize or ignore it).
        group: parts of one group share an outline (a tree crown's circles, a car's body and cabin).
        width: stroke width of a polyline part (a stem, a mast, a handle); 0 for a filled polygon.
        doodle: whether someone drawing the object from memory in a few seconds would draw this part.
    """

    points: np.ndarray
    colour: RGB
    group: int
    width: float = 0.0
    doodle: bool = True


class _Parts(list):
    """Collects an object's parts; each new part starts a new group unless `join` puts it in the previous one."""

    def add(self, points: np.ndarray, colour: RGB, *, width: float = 0.0, doodle: bool = True,
            join: bool = False) -> None:  # fmt: skip
        group = (self[-1].group if join else self[-1].group + 1) if self else 0
        self.append(Part(np.asarray(points, dtype=np.float64), colour, group, width, doodle))


def _ellipse(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0, n: int = 40) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    c, s = math.cos(angle), math.sin(angle)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], dtype=np.float64)


def _curve(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float], n: int = 12) -> np.ndarray:
    """A quadratic Bezier from p0 to p2 pulled towards p1."""
    t = np.linspace(0, 1, n)[:, None]
    a, b, c = (np.asarray(p, dtype=np.float64) for p in (p0, p1, p2))
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * b + t**2 * c


def _pick(rng: np.random.Generator, colours: list[RGB], jitter: int = 14) -> RGB:
    base = np.array(colours[int(rng.integers(len(colours)))])
    return tuple(int(v) for v in np.clip(base + rng.integers(-jitter, jitter + 1, size=3), 0, 255))  # type: ignore


def _house(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    w, body_h = rng.uniform(0.55, 0.85), rng.uniform(0.7, 1.0)
    roof_h, eave = rng.uniform(0.45, 0.75), rng.uniform(0.06, 0.16)
    top = 1 - body_h
    wall = _pick(rng, [(225, 205, 170), (195, 95, 70), (238, 234, 222), (230, 200, 120), (170, 190, 205)])
    roof = _pick(rng, [(150, 45, 40), (95, 60, 45), (70, 75, 90), (185, 95, 50)])
    if rng.random() < 0.6:  # a chimney behind the roof, poking out of it
        x0 = rng.uniform(0.25, 0.4) * w * rng.choice([-1, 1])
        parts.add(_rect(x0, top - 0.85 * roof_h, x0 + 0.18 * w * np.sign(x0), top), roof)
    parts.add(_rect(-w, top, w, 1), wall)
    parts.add([(-w - eave, top + 0.03), (w + eave, top + 0.03), (0, top - roof_h)], roof)
    door_w = w * rng.uniform(0.28, 0.38)
    door_x = rng.uniform(-0.45, 0.45) * w
    parts.add(_rect(door_x - door_w / 2, 1 - body_h * rng.uniform(0.5, 0.62), door_x + door_w / 2, 1),
              _pick(rng, [(110, 70, 40), (60, 90, 60), (150, 40, 40), (60, 70, 120)]))  # fmt: skip
    size = w * rng.uniform(0.26, 0.34)
    cy = top + body_h * 0.36
    for x in (-0.6 * w, 0.6 * w):
        if abs(x - door_x) > door_w / 2 + size / 2 + 0.05:
            parts.add(_rect(x - size / 2, cy - size / 2, x + size / 2, cy + size / 2), (175, 205, 230))
            bar = (245, 245, 240)
            parts.add([(x, cy - size / 2), (x, cy + size / 2)], bar, width=0.035, join=True)
            parts.add([(x - size / 2, cy), (x + size / 2, cy)], bar, width=0.035, join=True)
    return parts


def _tree(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    bark = _pick(rng, [(115, 78, 45), (95, 65, 40), (130, 95, 60)])
    if rng.random() < 0.3:  # a conifer: stacked tiers on a short trunk
        needles = _pick(rng, [(40, 105, 55), (30, 90, 50), (55, 120, 60)])
        tw = rng.uniform(0.08, 0.12)
        parts.add(_rect(-tw, 0.55, tw, 1), bark)
        half, base, tier_h = rng.uniform(0.6, 0.75), 0.7, rng.uniform(0.6, 0.7)
        for tier in range(3):
            parts.add([(-half, base), (half, base), (0, base - tier_h)], needles, join=tier > 0)
            base -= tier_h * 0.55
            half *= 0.75
        return parts
    leaves = _pick(rng, [(60, 135, 50), (85, 150, 60), (45, 115, 45), (110, 150, 50)])
    tw = rng.uniform(0.1, 0.16)
    crown_y, r = rng.uniform(-0.45, -0.3), rng.uniform(0.58, 0.75)
    parts.add([(-tw, 1), (tw, 1), (0.6 * tw, crown_y + 0.3 * r), (-0.6 * tw, crown_y + 0.3 * r)], bark)
    parts.add(_ellipse(0, crown_y, 0.72 * r, 0.68 * r), leaves)
    n = int(rng.integers(5, 8))
    for k in range(n):
        a = 2 * math.pi * (k + rng.uniform(-0.2, 0.2)) / n
        d, rr = r * rng.uniform(0.42, 0.52), r * rng.uniform(0.38, 0.48)
        parts.add(_ellipse(d * math.cos(a), crown_y + 0.9 * d * math.sin(a), rr, rr), leaves, join=True)
    return parts


def _car(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    paint = _pick(rng, [(200, 30, 35), (40, 80, 180), (230, 190, 40), (40, 130, 70), (225, 225, 225),
                        (170, 175, 185), (235, 120, 30)])  # fmt: skip
    y0, body_h, cabin_h = 0.0, rng.uniform(0.32, 0.42), rng.uniform(0.3, 0.42)
    y1 = y0 + body_h
    rear, front = rng.uniform(-0.75, -0.6), rng.uniform(0.4, 0.55)
    roof0, roof1 = rear + rng.uniform(0.15, 0.25), front - rng.uniform(0.25, 0.35)
    parts.add([(rear, y0 + 0.02), (roof0, y0 - cabin_h), (roof1, y0 - cabin_h), (front, y0 + 0.02)], paint)
    parts.add([(-1, y1 - 0.05), (-1, y0 + 0.08), (-0.92, y0), (0.82, y0 + 0.03), (1, y0 + 0.14), (1, y1 - 0.05),
               (0.95, y1), (-0.95, y1)], paint, join=True)  # fmt: skip
    inset, mid = 0.07, (roof0 + roof1) / 2
    glass = (170, 200, 225)
    parts.add([(rear + 0.1, y0 - 0.02), (roof0 + 0.04, y0 - cabin_h + inset), (mid - 0.03, y0 - cabin_h + inset),
               (mid - 0.03, y0 - 0.02)], glass, doodle=False)  # fmt: skip
    parts.add([(mid + 0.03, y0 - 0.02), (mid + 0.03, y0 - cabin_h + inset), (roof1 - 0.04, y0 - cabin_h + inset),
               (front - 0.12, y0 - 0.02)], glass, join=True, doodle=False)  # fmt: skip
    parts.add(_ellipse(0.95, y0 + 0.13, 0.05, 0.04), (250, 230, 150), doodle=False)
    r = rng.uniform(0.2, 0.25)
    for x in (-0.6, 0.6):
        parts.add(_ellipse(x, y1, r, r), (30, 30, 32))
        parts.add(_ellipse(x, y1, 0.5 * r, 0.5 * r), (175, 175, 180), doodle=False)
    return parts


def _fish(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    scales = _pick(rng, [(240, 130, 30), (235, 200, 40), (50, 110, 200), (210, 60, 50), (160, 170, 185),
                         (80, 165, 120), (150, 80, 180)])  # fmt: skip
    fin = tuple(int(v * 0.75) for v in scales)  # type: ignore
    rx, ry, tail = 0.72, rng.uniform(0.32, 0.46), rng.uniform(0.3, 0.45)
    parts.add([(0.55, 0), (1.05, -tail), (0.93, 0), (1.05, tail)], fin)
    parts.add([(-0.25, -0.85 * ry), (0.05, -ry - rng.uniform(0.2, 0.3)), (0.35, -0.7 * ry)], fin)
    parts.add([(0.0, 0.85 * ry), (0.18, ry + 0.15), (0.32, 0.7 * ry)], fin, doodle=False)
    parts.add(_ellipse(0, 0, rx, ry), scales)
    parts.add(_curve((-0.3, -0.7 * ry), (-0.4, 0), (-0.3, 0.7 * ry)), fin, width=0.04)
    eye = (-0.5, -0.22 * ry)
    parts.add(_ellipse(*eye, 0.085, 0.085), (245, 245, 245))
    parts.add(_ellipse(eye[0] - 0.015, eye[1], 0.045, 0.045), (20, 20, 20), join=True)
    return parts


def _boat(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    hull = _pick(rng, [(125, 80, 45), (235, 235, 228), (180, 40, 40), (40, 70, 140), (40, 95, 70)])
    sail = _pick(rng, [(242, 240, 232), (240, 228, 196), (205, 65, 50), (235, 200, 70)], jitter=8)
    mast = rng.uniform(-0.12, 0.08)
    top = -1.0
    parts.add([(mast + 0.04, top + 0.06), (mast + 0.04, 0.25), (mast + rng.uniform(0.65, 0.85), 0.25)], sail)
    if rng.random() < 0.8:
        parts.add([(mast - 0.04, top + 0.22), (mast - 0.04, 0.25), (mast - rng.uniform(0.5, 0.7), 0.25)], sail)
    parts.add([(mast, 0.35), (mast, top)], (85, 62, 40), width=0.05)
    parts.add([(mast, top), (mast + 0.2, top + 0.05), (mast, top + 0.1)], (210, 40, 40), doodle=rng.random() < 0.5)
    parts.add([(-0.95, 0.33), (1.08, 0.26), (0.72, 0.68), (-0.78, 0.68)], hull)
    return parts


def _flower(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    petal = _pick(rng, [(220, 40, 50), (240, 120, 170), (150, 70, 185), (245, 210, 40), (245, 245, 240),
                        (245, 140, 30), (90, 120, 225)])  # fmt: skip
    yellow_petals = petal[0] > 200 and petal[1] > 180 and petal[2] < 120
    centre = (120, 80, 30) if yellow_petals else (245, 200, 40)  # a disc that stands out from the petals
    green = _pick(rng, [(60, 135, 50), (75, 150, 60)])
    hx, hy = rng.uniform(-0.15, 0.15), -0.45
    stem = _curve((0, 1), (rng.uniform(-0.35, 0.35), 0.3), (hx, hy))
    parts.add(stem, green, width=0.07)
    for side in rng.permutation([-1, 1])[: int(rng.integers(1, 3))]:
        # A leaf grows from the lower stem, up and outwards, its base on the stem.
        x, y = stem[int(rng.integers(2, 5))]
        length, rise = rng.uniform(0.34, 0.44), rng.uniform(0.45, 0.8)
        direction = np.array([side * math.cos(rise), -math.sin(rise)])
        cx, cy = np.array([x, y]) + direction * length * 0.5
        parts.add(_ellipse(cx, cy, length * 0.5, length * 0.2, math.atan2(direction[1], direction[0])), green)
    core, n = rng.uniform(0.13, 0.18), int(rng.integers(5, 9))
    length = rng.uniform(0.28, 0.36)
    spin = rng.uniform(0, 2 * math.pi)
    for k in range(n):
        a = spin + 2 * math.pi * k / n
        d = core + 0.75 * length
        parts.add(_ellipse(hx + d * math.cos(a), hy + d * math.sin(a), length, length * rng.uniform(0.5, 0.6), a),
                  petal)  # fmt: skip
    parts.add(_ellipse(hx, hy, core * 1.2, core * 1.2), centre)
    return parts


def _cup(rng: np.random.Generator) -> _Parts:
    parts = _Parts()
    china = _pick(rng, [(240, 240, 235), (200, 50, 45), (50, 100, 190), (235, 200, 60), (70, 150, 90),
                        (60, 170, 170)])  # fmt: skip
    top, bottom = -0.55, 0.65
    tw = rng.uniform(0.5, 0.62)
    bw = tw * rng.uniform(0.78, 0.95)
    rim_h = rng.uniform(0.09, 0.13)
    if rng.random() < 0.5:
        parts.add(_ellipse(0, bottom + 0.02, rng.uniform(0.85, 1.0), 0.12), china)
    parts.add(_curve((tw * 0.9, top + 0.2), (tw + rng.uniform(0.45, 0.6), (top + bottom) / 2 - 0.1),
                     (bw * 0.95, bottom - 0.3)), china, width=0.11)  # fmt: skip
    parts.add([(-tw, top), (tw, top), (bw, bottom - 0.06), (bw - 0.06, bottom), (-bw + 0.06, bottom),
               (-bw, bottom - 0.06)], china)  # fmt: skip
    parts.add(_ellipse(0, top, tw, rim_h), china, join=True)
    drink = _pick(rng, [(90, 55, 30), (60, 38, 25), (200, 160, 110)], jitter=8)
    parts.add(_ellipse(0, top + 0.01, tw * 0.86, rim_h * 0.7), drink, doodle=rng.random() < 0.6)
    return parts


_OBJECTS: dict[str, Callable[[np.random.Generator], _Parts]] = {
    "house": _house, "tree": _tree, "car": _car, "fish": _fish, "boat": _boat, "flower": _flower, "cup": _cup,
}  # fmt: skip


@dataclass(frozen=True)
class Scene:
    """One object instance placed on a square canvas of side `labels.shape[0]` (the supersampled size).

    `labels` is the part map: 0 for the background, i + 1 where `parts[i]` is visible (later parts cover
    earlier ones); every style renders from the parts and this map, so all of them agree on the geometry.
    """

    parts: tuple[Part, ...]
    labels: np.ndarray

    @property
    def side(self) -> int:
        return self.labels.shape[0]

    @property
    def mask(self) -> np.ndarray:
        return self.labels > 0

    def groups(self) -> np.ndarray:
        """The map of outline groups: 0 for the background, group + 1 elsewhere."""
        lut = np.array([0] + [p.group + 1 for p in self.parts], dtype=np.uint8)
        return lut[self.labels]


def _pixels(points: np.ndarray) -> np.ndarray:
    return np.round(points * (1 << _SHIFT)).astype(np.int32)


def _draw_part(canvas: np.ndarray, part: Part, value: int | RGB, scale: float = 1.0) -> None:
    """Fills the part's polygon, or strokes its polyline, in `value` (coordinates multiplied by `scale`)."""
    points = _pixels(part.points * scale)
    if part.width > 0:
        cv2.polylines(canvas, [points], False, value, max(1, round(part.width * scale)), cv2.LINE_8, _SHIFT)
    else:
        cv2.fillPoly(canvas, [points], value, cv2.LINE_8, _SHIFT)


def build_scene(label: str, rng: np.random.Generator, side: int) -> Scene:
    """Draws the instance's geometry from `rng` and places it: random flip, small tilt, size and position."""
    parts = _OBJECTS[label](rng)
    flip = -1.0 if rng.random() < 0.5 else 1.0
    tilt = rng.uniform(-0.18, 0.18)
    c, s = math.cos(tilt), math.sin(tilt)
    turn = np.array([[c * flip, -s], [s * flip, c]])
    turned = [p.points @ turn.T for p in parts]
    every = np.concatenate(turned)
    low, high = every.min(0), every.max(0)
    scale = side * rng.uniform(0.62, 0.8) / (high - low).max()
    extent = (high - low) * scale
    margin = 0.07 * side
    centre = np.array([rng.uniform(margin + e / 2, max(margin + e / 2, side - margin - e / 2)) for e in extent])
    offset = centre - (low + high) / 2 * scale
    placed = tuple(
        Part(points * scale + offset, p.colour, p.group, p.width * scale, p.doodle) for p, points in zip(parts, turned)
    )
    labels = np.zeros((side, side), dtype=np.uint8)
    for i, part in enumerate(placed):
        _draw_part(labels, part, i + 1)
    return Scene(placed, labels)


# ----------------------------------------------------------------------------------------------------------------
# Shared pixel helpers.
# ----------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates divided by `side` (read-only; cached because every shaded render needs them)."""
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    y.flags.writeable = x.flags.writeable = False
    return y, x


def _smooth_noise(rng: np.random.Generator, side: int, cells: int, channels: int = 1) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a few random values per side, bicubically enlarged."""
    coarse = rng.uniform(-1, 1, size=(cells, cells, channels)).astype(np.float32)
    big = cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)
    return big.reshape(side, side, channels)


def _downsample(image: np.ndarray, size: int) -> np.ndarray:
    image = np.clip(image, 0, 255).astype(np.uint8) if image.dtype != np.uint8 else image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.LANCZOS))


def _resample(points: np.ndarray, step: float, closed: bool) -> np.ndarray:
    """Points every `step` pixels along a polyline (so that jitter has the same scale on long and short lines)."""
    if closed:
        points = np.concatenate([points, points[:1]])
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    run = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.linspace(0, run[-1], max(2, int(run[-1] / step) + 1))
    return np.stack([np.interp(at, run, points[:, 0]), np.interp(at, run, points[:, 1])], axis=1)


def _wobble(points: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Displaces a polyline by a smooth random offset, as an unsteady hand does."""
    knots = max(2, len(points) // 5)
    offsets = rng.normal(0, amplitude, size=(knots, 2))
    at = np.linspace(0, knots - 1, len(points))
    return points + np.stack([np.interp(at, np.arange(knots), offsets[:, k]) for k in (0, 1)], axis=1)


def _outlines(scene: Scene, groups: np.ndarray) -> list[tuple[Part, list[np.ndarray]]]:
    """Each outline group's visible outer contours (pixel coordinates), with the group's first part."""
    firsts: dict[int, Part] = {}
    for part in scene.parts:
        firsts.setdefault(part.group, part)
    result = []
    for group, part in firsts.items():
        mask = (groups == group + 1).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        kept = [c[:, 0, :].astype(np.float64) for c in contours if len(c) >= 3]
        if kept:
            result.append((part, kept))
    return result


# ----------------------------------------------------------------------------------------------------------------
# Styles.
# ----------------------------------------------------------------------------------------------------------------


def _background(rng: np.random.Generator, side: int) -> np.ndarray:
    """A natural-looking backdrop: sky over ground, a wall over a table, or a blurred texture (float RGB).

    Backdrops are smooth, so they are computed at `side` (a quarter of the canvas) and enlarged by the caller.
    """
    y = _grid(side)[0][..., None]
    kind = rng.integers(3)
    if kind == 0:
        horizon = rng.uniform(0.55, 0.82)
        sky_top = np.float32([70, 120, 195]) + rng.integers(-25, 26, size=3)
        sky_low = np.float32([195, 210, 230]) + rng.integers(-20, 21, size=3)
        ground = np.float32(_GROUNDS[rng.integers(len(_GROUNDS))]) + rng.integers(-15, 16, size=3)
        sky = sky_top + (sky_low - sky_top) * np.clip(y / horizon, 0, 1)
        earth = ground * (1.1 - 0.35 * np.clip((y - horizon) / (1 - horizon), 0, 1))
        earth = earth + 22 * _smooth_noise(rng, side, side // 3)
        image = np.where(y < horizon, sky, earth)
    elif kind == 1:
        table = rng.uniform(0.6, 0.85)
        wall = np.float32(_WALLS[rng.integers(len(_WALLS))]) + rng.integers(-15, 16, size=3)
        wood = np.float32([140, 95, 60]) + rng.integers(-25, 26, size=3)
        image = np.where(y < table, wall * (1.05 - 0.25 * y), wood * (1.15 - 0.3 * y))
    else:  # foliage, stone or water out of focus: mostly brightness variation around one natural colour
        base = np.float32(_TEXTURES[rng.integers(len(_TEXTURES))]) + rng.integers(-20, 21, size=3)
        cells = int(rng.integers(4, 10))
        image = base * (1 + 0.35 * _smooth_noise(rng, side, cells)) + 12 * _smooth_noise(rng, side, cells, 3)
    return (image + 10 * _smooth_noise(rng, side, 5)).astype(np.float32)


_GROUNDS = ((85, 130, 65), (200, 180, 135), (125, 100, 75), (70, 110, 140), (150, 150, 145))
_WALLS = ((205, 195, 180), (170, 185, 195), (190, 200, 175), (215, 210, 205), (120, 125, 135))
_TEXTURES = ((90, 120, 70), (130, 115, 95), (150, 150, 150), (80, 110, 130), (175, 160, 130), (110, 95, 110))


def _light(labels: np.ndarray, size: int) -> np.ndarray:
    """How lit the object is, resized to `size`: light from the upper left on rounded parts (1 off the object).

    Each part darkens towards its edges (a rounded surface turning away) and away from the light. The light
    varies slowly, so it is computed on a coarse part map and applied after downsampling, not on the canvas.
    """
    side = labels.shape[0]
    edges = np.zeros(labels.shape, dtype=bool)
    edges[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edges[1:, :] |= labels[1:, :] != labels[:-1, :]
    dist = cv2.distanceTransform((~edges).astype(np.uint8), cv2.DIST_L2, 3)
    rounding = 0.62 + 0.38 * np.sqrt(np.minimum(dist * np.float32(1 / (0.06 * side)), 1.0))
    light = np.where(labels > 0, rounding * _towards_light(labels > 0), np.float32(1))
    return cv2.resize(light, (size, size), interpolation=cv2.INTER_AREA if size < side else cv2.INTER_LINEAR)


def _towards_light(mask: np.ndarray, strength: float = 0.16) -> np.ndarray:
    """1 + strength at the object's upper-left rim, 1 - strength at its lower right."""
    side = mask.shape[0]
    step = max(1, side // 64)
    ys, xs = np.nonzero(mask[::step, ::step])
    cy, cx = float(ys.mean() * step) / side, float(xs.mean() * step) / side
    radius = float(max(np.ptp(ys), np.ptp(xs)) * step + step) / side / 2
    y, x = _grid(side)
    lit = ((cx - x) + (cy - y)) * np.float32(1 / (radius * math.sqrt(2)))
    return 1 + strength * np.clip(lit, -1.2, 1.2)


def _unlit(scene: Scene, side: int, saturation: float, rng: np.random.Generator) -> np.ndarray:
    """The photo style's backdrop, the object's shadow and its flat-coloured parts: uint8 RGB of side `side`."""
    small = side // 4  # the backdrop and the shadow are smooth: a sixteenth of the work at a quarter of the size
    backdrop = _background(rng, small)
    step = scene.side // small
    silhouette = (scene.labels[step // 2 :: step, step // 2 :: step] > 0).astype(np.float32)
    offset = np.float32([[1, 0, small * rng.uniform(0.01, 0.03)], [0, 1, small * rng.uniform(0.02, 0.035)]])
    shadow = cv2.GaussianBlur(cv2.warpAffine(silhouette, offset, (small, small)), (0, 0), small * 0.03)
    backdrop *= (1 - rng.uniform(0.35, 0.55) * shadow)[..., None]
    image = cv2.resize(np.clip(backdrop + 0.5, 0, 255).astype(np.uint8), (side, side), interpolation=cv2.INTER_LINEAR)
    for part in scene.parts:
        grey = sum(part.colour) / 3
        colour = tuple(int(np.clip(grey + saturation * (c - grey) + 0.5, 0, 255)) for c in part.colour)
        _draw_part(image, part, colour, side / scene.side)
    return image


def _photo(scene: Scene, rng: np.random.Generator, size: int, side: int, saturation: float = 1.0) -> np.ndarray:
    """The photo style as float RGB of side `size`, drawn at side `side` (shared by photo and painting)."""
    image = _unlit(scene, side, saturation, rng)
    if size != side:
        image = _downsample(image, size)
    light = _light(scene.labels[::2, ::2], size)
    light *= 1 + 0.06 * _smooth_noise(rng, size, 16)[..., 0]  # an uneven surface
    return image * light[..., None]


def _render_photo(scene: Scene, rng: np.random.Generator, size: int) -> np.ndarray:
    image = _photo(scene, rng, size, scene.side)
    image += rng.normal(0, 3.0, size=image.shape).astype(np.float32)  # sensor grain, at the camera's resolution
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _hatch(ink: np.ndarray, region: np.ndarray, rng: np.random.Generator) -> None:
    """Parallel diagonal pencil lines drawn into `ink` wherever `region` is set."""
    side = ink.shape[0]
    ys, xs = np.nonzero(region)
    if len(ys) == 0:
        return
    slope = float(rng.choice([-1.0, 1.0]))
    # Lines x = k + slope * y; only the k whose lines cross the region are drawn.
    k = np.arange((xs - slope * ys).min(), (xs - slope * ys).max() + 1, side * rng.uniform(0.03, 0.045))
    wobble = rng.normal(0, side * 0.004, size=(len(k), 2))
    lines = np.stack([np.stack([k + wobble[:, 0], np.zeros_like(k)], 1),
                      np.stack([k + slope * side + wobble[:, 1], np.full_like(k, side)], 1)], axis=1)  # fmt: skip
    layer = np.full_like(ink, 255)
    tone = int(rng.integers(120, 170))
    cv2.polylines(layer, list(_pixels(lines)), False, tone, max(1, round(side * 0.008)), cv2.LINE_AA, _SHIFT)
    np.copyto(ink, np.minimum(ink, layer), where=region)


def _paper(ink: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Grey ink on faintly textured, faintly warm white paper, at the output size."""
    ink = _downsample(ink, size).astype(np.float32)
    paper = 248 + 3 * _smooth_noise(rng, size, 8)[..., 0]
    image = np.minimum(ink, paper)[..., None] + np.float32([1.5, 0.5, -1.5])
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _render_sketch(scene: Scene, rng: np.random.Generator, size: int) -> np.ndarray:
    side = scene.side
    ink = np.full((side, side), 255, dtype=np.uint8)
    # Hatching shades the side of the object turned away from the light.
    _hatch(ink, scene.mask & (_towards_light(scene.mask, 1.0) < rng.uniform(0.75, 0.95)), rng)
    # Outlines: one or two wobbly graphite passes around every group, each pass starting somewhere else.
    thickness = max(1, round(side * rng.uniform(0.012, 0.018)))
    for _, contours in _outlines(scene, scene.groups()):
        for contour in contours:
            line = _resample(contour, side * 0.02, closed=True)
            for repeat in range(1 + int(rng.random() < 0.6)):
                stroke = _wobble(np.roll(line, -int(rng.integers(len(line))), axis=0), rng, side * 0.004 * (1 + repeat))
                grey = int(rng.integers(30, 80)) + 50 * repeat
                cv2.polylines(ink, [_pixels(stroke)], False, grey, thickness, cv2.LINE_AA, _SHIFT)
    return _paper(ink, rng, size)


_CARTOON_BACKGROUNDS: tuple[RGB, ...] = (
    (255, 255, 255), (255, 246, 214), (222, 240, 255), (226, 250, 226), (255, 228, 236), (240, 232, 255),
)  # fmt: skip


def _cartoon_colour(colour: RGB) -> RGB:
    """Bright and flat: saturation and value pushed up and snapped to a few levels (dark and grey parts kept)."""
    hsv = cv2.cvtColor(np.uint8([[colour]]), cv2.COLOR_RGB2HSV_FULL)[0, 0].astype(float)
    h, s, v = hsv[0], hsv[1] / 255, hsv[2] / 255
    if v < 0.3:
        return (35, 35, 40)
    if s < 0.18:
        s, v = 0.0, (1.0 if v > 0.75 else 0.7)
    else:
        h = round(h / 256 * 16) % 16 * 16
        s, v = (0.85 if s > 0.4 else 0.6), (1.0 if v > 0.55 else 0.72)
    hsv = np.uint8([[[h, round(s * 255), round(v * 255)]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)[0, 0])  # type: ignore


def _render_cartoon(scene: Scene, rng: np.random.Generator, size: int) -> np.ndarray:
    side = scene.side
    palette = np.array([_CARTOON_BACKGROUNDS[rng.integers(len(_CARTOON_BACKGROUNDS))]]
                       + [_cartoon_colour(p.colour) for p in scene.parts], dtype=np.uint8)  # fmt: skip
    image = palette[scene.labels]
    groups = scene.groups()
    edges = cv2.dilate(groups, np.ones((3, 3), np.uint8)) != cv2.erode(groups, np.ones((3, 3), np.uint8))
    width = max(3, round(side * rng.uniform(0.022, 0.03)))
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    outline = cv2.dilate(edges.astype(np.uint8), pen) > 0
    image[outline] = (15, 15, 15)
    return _downsample(image, size)


def _render_painting(scene: Scene, rng: np.random.Generator, size: int) -> np.ndarray:
    side = scene.side
    # Strokes take their colours from a richer photo-style render at half the canvas size (strokes are coarser).
    base = np.clip(_photo(scene, rng, side // 2, side // 2, saturation=1.35), 0, 255)
    under = cv2.resize(cv2.resize(base, (side // 16, side // 16), interpolation=cv2.INTER_AREA), (side, side))
    canvas = np.ascontiguousarray(under.astype(np.uint8))
    # Strokes follow edges (perpendicular to the gradient) and a gently curving field where there are none,
    # looked up on a grid of cells of `cell` pixels.
    cell = 4
    grid = side // cell
    grey = cv2.resize(cv2.cvtColor(base, cv2.COLOR_RGB2GRAY), (grid, grid), interpolation=cv2.INTER_AREA)
    grey = cv2.GaussianBlur(grey, (0, 0), 1.0)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    flow = rng.uniform(0, math.pi) + 0.8 * _smooth_noise(rng, grid, 4)[..., 0]
    angle = np.where(np.hypot(gx, gy) > 25, np.arctan2(gy, gx) + math.pi / 2, flow)
    on_object = np.flatnonzero(scene.mask[::cell, ::cell])
    # (count, length and width as fractions of the side, share on the object): broad strokes, then finer ones
    # that favour the object so that its shape survives.
    for count, length, width, share in ((180, (0.1, 0.16), (0.035, 0.05), 0.0),
                                        (400, (0.05, 0.09), (0.02, 0.03), 0.6)):  # fmt: skip
        n_obj = int(count * share) if len(on_object) else 0
        cells = np.concatenate([rng.choice(on_object, n_obj), rng.integers(0, grid * grid, count - n_obj)])
        rng.shuffle(cells)
        cy, cx = np.divmod(cells, grid)
        y, x = (cy + rng.uniform(0, 1, count)) * cell, (cx + rng.uniform(0, 1, count)) * cell
        theta = angle[cy, cx] + rng.normal(0, 0.15, count)
        half = side * rng.uniform(*length, count) / 2
        dx, dy = np.cos(theta) * half, np.sin(theta) * half
        ends = _pixels(np.stack([x - dx, y - dy, x + dx, y + dy], axis=1)).tolist()
        colours = np.clip(base[(y / 2).astype(int), (x / 2).astype(int)] + rng.normal(0, 9, (count, 3)), 0, 255)
        widths = np.maximum(1, np.round(side * rng.uniform(*width, count))).astype(int).tolist()
        for (x0, y0, x1, y1), colour, w in zip(ends, colours.astype(int).tolist(), widths):
            cv2.line(canvas, (x0, y0), (x1, y1), colour, w, cv2.LINE_8, _SHIFT)
    return _downsample(canvas, size)


def _render_quickdraw(scene: Scene, rng: np.random.Generator, size: int) -> np.ndarray:
    side = scene.side
    canvas = np.full((side, side), 255, dtype=np.uint8)
    ys, xs = np.nonzero(scene.mask)
    centre = np.array([xs.mean(), ys.mean()])
    skew = np.eye(2) + rng.normal(0, 0.06, (2, 2))  # the whole doodle a little out of proportion
    jitter = side * 0.012
    thickness = max(1, round(side * rng.uniform(0.014, 0.02)))
    strokes: list[np.ndarray] = []
    for part, contours in _outlines(scene, scene.groups()):
        if not part.doodle:
            continue
        if part.width > 0:
            every = max(1, len(part.points) // 6)  # a stroke of a few straight pieces
            strokes.append(np.concatenate([part.points[:-1:every], part.points[-1:]]))
            continue
        for contour in contours:
            contour = contour.astype(np.float32)
            tolerance = rng.uniform(0.01, 0.025) * cv2.arcLength(contour, True)  # how crudely this doodler draws
            rough = cv2.approxPolyDP(contour, tolerance, True)[:, 0, :].astype(np.float64)
            if len(rough) < 3:
                continue
            start = int(rng.integers(len(rough)))
            loop = np.roll(rough, -start, axis=0)
            # Closed shapes are drawn as one stroke that ends a little short of, or past, where it began.
            end = loop[0] + (loop[1] - loop[0]) * rng.uniform(-0.15, 0.25)
            strokes.append(np.concatenate([loop, end[None]]))
    for stroke in strokes:
        stroke = (stroke - centre) @ skew.T + centre + rng.normal(0, jitter, stroke.shape)
        cv2.polylines(canvas, [_pixels(stroke)], False, 0, thickness, cv2.LINE_AA, _SHIFT)
    return np.repeat(_downsample(canvas, size)[..., None], 3, axis=2)


_RENDERERS: dict[str, Callable[[Scene, np.random.Generator, int], np.ndarray]] = {
    "photo": _render_photo,
    "sketch": _render_sketch,
    "cartoon": _render_cartoon,
    "painting": _render_painting,
    "quickdraw": _render_quickdraw,
}


class DomainSource:
    """One domain of the family: `labels[index % 7]` objects rendered in one style.

    Args:
        domain: one of `DOMAINS`: `SOURCE_DOMAIN` ("photo") or one of `TARGET_DOMAINS`.
        size: image side in pixels.
        name: the family name that seeds the instances; every domain with the same `name` shows the same
            instance at each index. The source's own `name` is `f"{name}/{domain}"` and seeds the style.
    """

    def __init__(self, domain: str, size: int = 64, name: str = "domains") -> None:
        if domain not in _RENDERERS:
            raise ValueError(f"unknown domain {domain!r}; known domains: {', '.join(DOMAINS)}")
        if size < 16:
            raise ValueError(f"size must be at least 16 pixels, got {size}")
        self.domain = domain
        self.size = size
        self.family = name
        self.name = f"{name}/{domain}"
        self.labels = list(LABELS)

    def scene(self, seed: int, index: int) -> Scene:
        """The instance at `index` (the same in every domain of the family), on the supersampled canvas."""
        label = self.labels[index % len(self.labels)]
        return build_scene(label, rng_for(seed, self.family, index), self.size * SUPERSAMPLE)

    def mask(self, seed: int, index: int) -> np.ndarray:
        """The object's silhouette at the output size (True where at least half of a pixel is object)."""
        silhouette = self.scene(seed, index).mask.astype(np.float32)
        return cv2.resize(silhouette, (self.size, self.size), interpolation=cv2.INTER_AREA) >= 0.5

    def sample(self, seed: int, index: int) -> Sample:
        label = self.labels[index % len(self.labels)]
        image = _RENDERERS[self.domain](self.scene(seed, index), rng_for(seed, self.name, index), self.size)
        return Sample(image, label, str(index))


def domain(name: str, size: int = 64) -> DomainSource:
    """The source of one domain by name; raises ValueError naming the known domains for any other name."""
    return DomainSource(name, size=size)
