from collections import Counter

import cv2
import numpy as np
import pytest

from generators.patterns import DOMAINS, HELD_OUT, LABELS, PATTERNS, SPLITS, PatternSource, domain
from generators.shapes import SHAPES

LUMA = np.array([0.299, 0.587, 0.114])


def read_label(image: np.ndarray) -> str:
    """The class as a person would read it: the silhouette's geometry names the shape, the marks in it the pattern.

    The corners are always background (shapes keep a margin); the marks are the extreme opposite the background.
    """
    pixels = image.astype(float)
    background = np.median([pixels[0, 0], pixels[0, -1], pixels[-1, 0], pixels[-1, -1]], axis=0)
    inside = np.abs(pixels - background).sum(2) > 60
    outline = max(cv2.findContours(inside.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0],
                  key=cv2.contourArea)  # fmt: skip
    area = cv2.contourArea(outline)
    _, radius = cv2.minEnclosingCircle(outline)
    if area / cv2.contourArea(cv2.convexHull(outline)) < 0.7:
        shape = "star"
    else:  # area over enclosing radius squared: pi for a circle, 2 for a square, 1.3 for a triangle
        shape = "circle" if area / radius**2 > 2.5 else "square" if area / radius**2 > 1.65 else "triangle"

    luma = pixels @ LUMA
    marks = (luma > 200 if background @ LUMA < 128 else luma < 55)[inside].mean()
    # Stripes have one gradient direction, checks and dots two or more: the structure tensor's coherence.
    interior = cv2.erode(inside.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    gx, gy = cv2.Sobel(luma, cv2.CV_64F, 1, 0)[interior], cv2.Sobel(luma, cv2.CV_64F, 0, 1)[interior]
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    if marks == 0:
        pattern = "solid"
    elif np.hypot(jxx - jyy, 2 * jxy) / (jxx + jyy) > 0.8:
        pattern = "striped"
    else:
        pattern = "dotted" if marks < 0.3 else "checked"
    return f"{pattern} {shape}"


@pytest.mark.parametrize("name", DOMAINS)
def test_every_domain_renders_deterministic_images(name):
    source = domain(name)
    a, b = source.sample(3, 17), source.sample(3, 17)
    assert a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8
    assert np.array_equal(a.image, b.image) and a.label == b.label and a.sample_id == "17"
    assert not np.array_equal(a.image, source.sample(4, 17).image)


@pytest.mark.parametrize("name", DOMAINS)
def test_labels_are_always_all_sixteen_candidates(name):
    assert domain(name).labels == LABELS
    assert len(LABELS) == 16 and LABELS[0] == "striped circle"


def test_held_out_is_a_latin_square():
    assert len(HELD_OUT) == 4
    assert sorted(p for p, _ in HELD_OUT) == sorted(PATTERNS)
    assert sorted(s for _, s in HELD_OUT) == sorted(SHAPES)
    # Hence every pattern and every shape is still seen, in three combinations each.
    seen = SPLITS["seen"]
    assert Counter(p for p, _ in seen) == {p: 3 for p in PATTERNS}
    assert Counter(s for _, s in seen) == {s: 3 for s in SHAPES}


@pytest.mark.parametrize("split, size", [("seen", 12), ("held-out", 4), ("all", 16)])
def test_each_split_draws_only_its_combinations_in_balanced_cycles(split, size):
    source = PatternSource(split=split)
    labels = [source.sample(0, i).label for i in range(3 * size)]
    combos = {tuple(label.split(" ")) for label in labels}
    assert combos == set(SPLITS[split]) and len(combos) == size
    assert labels[:size] == labels[size : 2 * size] and len(set(labels[:size])) == size
    if split == "held-out":
        assert combos <= HELD_OUT
    if split == "seen":
        assert not combos & HELD_OUT


def test_the_image_shows_its_label():
    source = domain("all")
    for index in range(64):
        sample = source.sample(0, index)
        assert read_label(sample.image) == sample.label, index


def test_unknown_split_or_domain_names_the_known_ones():
    with pytest.raises(ValueError, match="held-out"):
        PatternSource(split="unseen")
    with pytest.raises(ValueError, match="held-out"):
        domain("unseen")
    with pytest.raises(ValueError, match="at least 16"):
        PatternSource(size=8)
