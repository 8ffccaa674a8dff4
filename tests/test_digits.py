import numpy as np
import pytest

from generators.digits import (
    DOMAINS,
    LABELS,
    MAX_JITTER_DEGREES,
    PALETTE,
    ROTATIONS,
    ColouredDigitSource,
    DigitSource,
    Rotate,
    domain,
    draw_pose,
)
from generators.seeding import rng_for

COLOUR_NAMES = list(PALETTE)


@pytest.mark.parametrize("name", DOMAINS)
def test_every_domain_renders_deterministic_images(name):
    source = domain(name)
    a, b = source.sample(3, 17), source.sample(3, 17)
    assert a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8
    assert np.array_equal(a.image, b.image) and a.label == b.label == "7" and a.sample_id == "17"
    assert not np.array_equal(a.image, source.sample(4, 17).image)
    assert source.labels == LABELS == [str(d) for d in range(10)]


def test_digits_cycle_so_every_prefix_is_balanced():
    source = DigitSource()
    assert [source.sample(0, i).label for i in range(20)] == LABELS * 2


def test_other_sizes_render():
    assert domain("coloured", size=32).sample(0, 1).image.shape == (32, 32, 3)
    with pytest.raises(ValueError, match="at least 16"):
        DigitSource(size=8)


def test_every_domain_shows_the_same_digit_in_the_same_pose():
    # The ink is brighter than any background in every domain; its pixels must coincide across domains.
    for index in range(10):
        masks = [domain(name).sample(0, index).image.max(axis=2) > 120 for name in DOMAINS]
        for mask in masks[1:]:
            assert (mask & masks[0]).sum() / (mask | masks[0]).sum() > 0.8, index


def test_per_sample_rotation_is_small_enough_to_keep_six_and_nine_apart():
    assert MAX_JITTER_DEGREES <= 10
    assert all(abs(draw_pose(rng_for(0, "digits", i)).degrees) <= MAX_JITTER_DEGREES for i in range(200))


def test_coloured_digits_agree_with_their_label_colour_at_the_given_rate():
    for correlation in (0.9, 0.5):
        source = ColouredDigitSource(correlation=correlation)
        agree = [source.colour_of(0, i) == COLOUR_NAMES[i % 10] for i in range(500)]
        assert abs(np.mean(agree) - correlation) < 0.05, correlation


def test_mismatched_colours_are_spread_over_the_other_colours():
    source = domain("coloured")
    zeros = [source.colour_of(0, i) for i in range(0, 1000, 10)]  # the digit 0, whose own colour is red
    assert len(set(zeros) - {"red"}) >= 5


def test_colour_random_is_uniform_and_independent_of_the_digit():
    source = domain("colour-random")
    colours = [source.colour_of(0, i) for i in range(1000)]
    counts = np.array([colours.count(name) for name in COLOUR_NAMES])
    assert counts.min() > 60 and counts.max() < 140  # 100 expected each
    assert abs(np.mean([colours[i] == COLOUR_NAMES[i % 10] for i in range(1000)]) - 0.1) < 0.04


def test_colour_reversed_always_uses_the_colour_of_digit_plus_five():
    source = domain("colour-reversed")
    for i in range(200):
        colour = source.colour_of(0, i)
        assert colour != COLOUR_NAMES[i % 10]
        assert colour == COLOUR_NAMES[(i + 5) % 10]


def test_the_image_is_drawn_in_the_reported_colour():
    # The brightest pixels are ink; their mean must be nearest the reported palette colour.
    for name in ("coloured", "colour-random", "colour-reversed"):
        source = domain(name)
        for index in range(20):
            pixels = source.sample(0, index).image.reshape(-1, 3).astype(int)
            ink = pixels[pixels.max(1) >= np.percentile(pixels.max(1), 95)].mean(0)
            nearest = min(PALETTE, key=lambda c: np.abs(np.array(PALETTE[c]) - ink).sum())
            assert nearest == source.colour_of(0, index), (name, index, ink)


def test_coloured_source_rejects_bad_parameters():
    with pytest.raises(ValueError, match="correlation"):
        ColouredDigitSource(correlation=1.5)
    with pytest.raises(ValueError, match="palette"):
        ColouredDigitSource(correlation=0.9, palette={"red": (255, 0, 0)})
    with pytest.raises(ValueError, match="own colour"):
        ColouredDigitSource(correlation=0.0, mismatch_offset=10)


def test_unknown_domain_names_the_known_ones():
    with pytest.raises(ValueError, match="colour-reversed"):
        domain("mnist")


def test_rotation_sweep():
    assert ROTATIONS == (0, 30, 60, 90, 120, 150, 180)


def test_rotate_zero_is_the_identity_and_180_twice_too():
    image = domain("grey").sample(0, 6).image
    assert np.array_equal(Rotate(0)(image, 0, 6), image)
    turned = Rotate(180)(image, 0, 6)
    assert not np.array_equal(turned, image)
    assert np.array_equal(Rotate(180)(turned, 0, 6), image)
    four = image
    for _ in range(4):
        four = Rotate(90)(four, 0, 6)
    assert np.array_equal(four, image)


def test_exact_and_interpolated_rotations_turn_the_same_way():
    image = domain("grey").sample(0, 7).image
    exact = Rotate(90)(image, 0, 7).astype(float)
    interpolated = Rotate(89.9)(image, 0, 7).astype(float)
    assert np.abs(exact - interpolated)[16:48, 16:48].mean() < 4
    assert np.abs(exact - Rotate(-89.9)(image, 0, 7).astype(float))[16:48, 16:48].mean() > 10


@pytest.mark.parametrize("degrees", [d for d in ROTATIONS if d % 90])
def test_rotated_corners_look_like_the_background(degrees):
    rotate = Rotate(degrees)
    for index in range(10):
        image = domain("grey").sample(0, index).image
        out = rotate(image, 0, index)
        assert out.shape == image.shape and out.dtype == np.uint8
        assert np.array_equal(out, rotate(image, 0, index))
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).astype(float)
        corner = out[:4, :4].reshape(-1, 3).astype(float)
        assert np.abs(corner.mean(0) - np.median(border, 0)).max() < 12, (degrees, index)
