"""A PACS/DomainNet-like natural domain shift: seven everyday objects, each drawn once, rendered in five styles.

| domain      | role   | style                                                                            |
|-------------|--------|----------------------------------------------------------------------------------|
| `photo`     | source | shaded object with a soft shadow on a textured sky/ground, studio or noise scene |
| `sketch`    | target | uneven graphite outlines and hatching on white paper, no fill                    |
| `cartoon`   | target | flat bright posterized colours, thick black outlines, plain background           |
| `painting`  | target | short oriented brush strokes that take their colours from a photo-style render  |
| `quickdraw` | target | a few crude, jittered black polylines around the silhouette, on white            |

Every object is geometry first (`generators.objects`: `Part` polygons and polylines with per-instance
proportions, colours, pose) and pixels second (this module), so the styles differ in rendering only: sample
`index` shows the same instance in every domain (geometry from `rng_for(seed, family, index)`), while each domain
draws its own style randomness (background, stroke jitter) from `rng_for(seed, f"{family}/{domain}", index)`. The
object is the only thing the label can be read from: backgrounds are drawn independently of the class.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Callable

import cv2
import numpy as np
from PIL import Image

from generators.noise import smooth_noise
from generators.objects import RGB, SHIFT, Scene, build_scene, draw_part, outlines, pixels
from generators.sample import Sample
from generators.seeding import rng_for
from generators.shapes import SUPERSAMPLE

LABELS: tuple[str, ...] = ("house", "tree", "car", "fish", "boat", "flower", "cup")
SOURCE_DOMAIN = "photo"
TARGET_DOMAINS: tuple[str, ...] = ("sketch", "cartoon", "painting", "quickdraw")
DOMAINS: tuple[str, ...] = (SOURCE_DOMAIN, *TARGET_DOMAINS)
NAMESPACE = "domains"  # seeds `domain()`'s instances and styles unless it is given another


# ----------------------------------------------------------------------------------------------------------------
# Shared pixel helpers.
# ----------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates divided by `side` (read-only; cached because every shaded render needs them)."""
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    y.flags.writeable = x.flags.writeable = False
    return y, x


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
        earth = earth + 22 * smooth_noise(rng, side, side // 3, channels=1)
        image = np.where(y < horizon, sky, earth)
    elif kind == 1:
        table = rng.uniform(0.6, 0.85)
        wall = np.float32(_WALLS[rng.integers(len(_WALLS))]) + rng.integers(-15, 16, size=3)
        wood = np.float32([140, 95, 60]) + rng.integers(-25, 26, size=3)
        image = np.where(y < table, wall * (1.05 - 0.25 * y), wood * (1.15 - 0.3 * y))
    else:  # foliage, stone or water out of focus: mostly brightness variation around one natural colour
        base = np.float32(_TEXTURES[rng.integers(len(_TEXTURES))]) + rng.integers(-20, 21, size=3)
        cells = int(rng.integers(4, 10))
        brightness = smooth_noise(rng, side, cells, channels=1)
        image = base * (1 + 0.35 * brightness) + 12 * smooth_noise(rng, side, cells, channels=3)
    return (image + 10 * smooth_noise(rng, side, 5, channels=1)).astype(np.float32)


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
        draw_part(image, part, colour, side / scene.side)
    return image


def _photo(scene: Scene, rng: np.random.Generator, size: int, side: int, saturation: float = 1.0) -> np.ndarray:
    """The photo style as float RGB of side `size`, drawn at side `side` (shared by photo and painting)."""
    image = _unlit(scene, side, saturation, rng)
    if size != side:
        image = _downsample(image, size)
    light = _light(scene.labels[::2, ::2], size)
    light *= 1 + 0.06 * smooth_noise(rng, size, 16)  # an uneven surface
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
    cv2.polylines(layer, list(pixels(lines)), False, tone, max(1, round(side * 0.008)), cv2.LINE_AA, SHIFT)
    np.copyto(ink, np.minimum(ink, layer), where=region)


def _paper(ink: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Grey ink on faintly textured, faintly warm white paper, at the output size."""
    ink = _downsample(ink, size).astype(np.float32)
    paper = 248 + 3 * smooth_noise(rng, size, 8)
    image = np.minimum(ink, paper)[..., None] + np.float32([1.5, 0.5, -1.5])
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _render_sketch(scene: Scene, rng: np.random.Generator, size: int) -> np.ndarray:
    side = scene.side
    ink = np.full((side, side), 255, dtype=np.uint8)
    # Hatching shades the side of the object turned away from the light.
    _hatch(ink, scene.mask & (_towards_light(scene.mask, 1.0) < rng.uniform(0.75, 0.95)), rng)
    # Outlines: one or two wobbly graphite passes around every group, each pass starting somewhere else.
    thickness = max(1, round(side * rng.uniform(0.012, 0.018)))
    for _, contours in outlines(scene, scene.groups()):
        for contour in contours:
            line = _resample(contour, side * 0.02, closed=True)
            for repeat in range(1 + int(rng.random() < 0.6)):
                stroke = _wobble(np.roll(line, -int(rng.integers(len(line))), axis=0), rng, side * 0.004 * (1 + repeat))
                grey = int(rng.integers(30, 80)) + 50 * repeat
                cv2.polylines(ink, [pixels(stroke)], False, grey, thickness, cv2.LINE_AA, SHIFT)
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
    flow = rng.uniform(0, math.pi) + 0.8 * smooth_noise(rng, grid, 4)
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
        ends = pixels(np.stack([x - dx, y - dy, x + dx, y + dy], axis=1)).tolist()
        colours = np.clip(base[(y / 2).astype(int), (x / 2).astype(int)] + rng.normal(0, 9, (count, 3)), 0, 255)
        widths = np.maximum(1, np.round(side * rng.uniform(*width, count))).astype(int).tolist()
        for (x0, y0, x1, y1), colour, w in zip(ends, colours.astype(int).tolist(), widths):
            cv2.line(canvas, (x0, y0), (x1, y1), colour, w, cv2.LINE_8, SHIFT)
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
    for part, contours in outlines(scene, scene.groups()):
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
        cv2.polylines(canvas, [pixels(stroke)], False, 0, thickness, cv2.LINE_AA, SHIFT)
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

    def __init__(self, domain: str, size: int = 64, name: str = NAMESPACE) -> None:
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


def domain(name: str, size: int = 64, namespace: str = NAMESPACE) -> DomainSource:
    """The source of one domain by name, its instances seeded by `namespace`; raises ValueError naming the known
    domains for any other name."""
    return DomainSource(name, size, name=namespace)
