"""The seven everyday objects of the natural domain shift (`generators.domains`), as geometry: each object is
`Part` polygons and polylines with per-instance proportions and colours, placed on a canvas with a random pose.

An object is drawn from one random stream (`build_scene`), so that every style renders the same instance from
the same parts and part map (`Scene`); the styles differ in rendering only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

RGB = tuple[int, int, int]
SHIFT = 4  # cv2 sub-pixel bits: polygon vertices keep 1/16 px precision on the supersampled canvas


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


def pixels(points: np.ndarray) -> np.ndarray:
    """Points as cv2's fixed-point integers (`SHIFT` fractional bits), for drawing at sub-pixel precision."""
    return np.round(points * (1 << SHIFT)).astype(np.int32)


def draw_part(canvas: np.ndarray, part: Part, value: int | RGB, scale: float = 1.0) -> None:
    """Fills the part's polygon, or strokes its polyline, in `value` (coordinates multiplied by `scale`)."""
    points = pixels(part.points * scale)
    if part.width > 0:
        cv2.polylines(canvas, [points], False, value, max(1, round(part.width * scale)), cv2.LINE_8, SHIFT)
    else:
        cv2.fillPoly(canvas, [points], value, cv2.LINE_8, SHIFT)


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
        draw_part(labels, part, i + 1)
    return Scene(placed, labels)


def outlines(scene: Scene, groups: np.ndarray) -> list[tuple[Part, list[np.ndarray]]]:
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
