"""A model team's own robustness checks, written against ood_fixtures.api alone."""

import numpy as np
from hypothesis import given, settings
from PIL import Image, ImageDraw

from ood_fixtures import api

LABELS = ["red circle", "blue square", "green triangle"]
COLOURS = {"red": (215, 35, 35), "blue": (40, 85, 220), "green": (40, 165, 60)}


def draw(rng: np.random.Generator, index: int):
    """Our own images: one shape on a light background, at a place and size drawn from rng."""
    label = LABELS[index % len(LABELS)]
    colour, shape = label.split()
    image = Image.new("RGB", (64, 64), tuple(int(v) for v in rng.integers(225, 256, 3)))
    r = int(rng.integers(14, 22))
    x, y = (int(v) for v in rng.integers(r + 2, 62 - r, 2))
    pen = ImageDraw.Draw(image)
    if shape == "circle":
        pen.ellipse([x - r, y - r, x + r, y + r], fill=COLOURS[colour])
    elif shape == "square":
        pen.rectangle([x - r, y - r, x + r, y + r], fill=COLOURS[colour])
    else:
        pen.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=COLOURS[colour])
    return image, label


def vignette(image, rng, strength):
    """Our own shift: darker towards the corners, as a cheap lens does."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    d = np.hypot((yy - h / 2) / h, (xx - w / 2) / w) / np.sqrt(0.5)
    return (image * (1 - strength * d[..., None] ** 2)).clip(0, 255).astype(np.uint8)


SHAPES = api.generated("my-shapes", LABELS, draw)
CLEAN = api.cell(SHAPES)
VIGNETTE = api.cell(SHAPES, api.shift("vignette", vignette, strength=0.5), reference=CLEAN)


@api.gate(min_accuracy=0.8)
def test_clean(evaluate):
    api.assert_gate(evaluate(CLEAN))


@api.gate(min_retained=0.9)
def test_vignette(evaluate):
    api.assert_gate(evaluate(VIGNETTE))


@settings(deadline=None)  # a model call may take longer than hypothesis's 200 ms
@given(strength=api.perturbation_strengths("jpeg"))
def test_jpeg_keeps_answers(strength, invariance):
    invariance(CLEAN, api.perturbation("jpeg", strength), at_least=0.9)
