import numpy as np
import pytest

from generators.corruptions import CORRUPTIONS, GROUPS, SEVERITIES, Corrupter
from generators.seeding import derive_seed
from generators.shapes import ShapeGenerator


@pytest.fixture(scope="module")
def shapes():
    return ShapeGenerator(size=64)


def test_seeds_are_stable_and_distinct():
    assert derive_seed(0, "shapes", 1) == derive_seed(0, "shapes", 1)
    assert len({derive_seed(0, "shapes", i) for i in range(1000)}) == 1000
    assert derive_seed(0, "shapes", 1) != derive_seed(1, "shapes", 1) != derive_seed(0, "other", 1)


def test_shapes_are_deterministic_images(shapes):
    a, b = shapes.sample(3, 17), shapes.sample(3, 17)
    assert a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8
    assert np.array_equal(a.image, b.image) and a.label == b.label
    assert not np.array_equal(a.image, shapes.sample(4, 17).image)


def test_shape_classes_cycle_so_every_prefix_is_balanced(shapes):
    labels = [shapes.sample(0, i).label for i in range(2 * len(shapes.labels))]
    assert labels[: len(shapes.labels)] == shapes.labels
    assert len(shapes.labels) == 24  # 6 colours x 4 shapes


def test_shape_colour_is_the_labelled_colour(shapes):
    # The most saturated pixels are the shape's; their hue must be nearest the label's colour.
    from generators.shapes import COLOURS

    for index in range(48):
        sample = shapes.sample(0, index)
        pixels = sample.image.reshape(-1, 3).astype(int)
        chroma = pixels.max(1) - pixels.min(1)
        shape_pixels = pixels[chroma >= np.percentile(chroma, 95)].mean(0)
        nearest = min(COLOURS, key=lambda c: np.abs(np.array(COLOURS[c]) - shape_pixels).sum())
        assert nearest == sample.label.split()[0], (index, sample.label, shape_pixels)


def test_corruption_table_is_imagenet_c():
    assert len(CORRUPTIONS) == 19
    assert {c.group for c in CORRUPTIONS.values()} == set(GROUPS)
    assert sum(c.group != "extra" for c in CORRUPTIONS.values()) == 15
    assert all(len(c.levels) == len(SEVERITIES) for c in CORRUPTIONS.values())


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_every_corruption_changes_the_image_reproducibly(name, shapes):
    image = shapes.sample(0, 5).image
    for severity in SEVERITIES:
        corrupt = Corrupter(name, severity, 64)
        out = corrupt(image, seed=0, index=5)
        assert out.shape == image.shape and out.dtype == np.uint8
        assert np.array_equal(out, Corrupter(name, severity, 64)(image, seed=0, index=5)), "not reproducible"
        assert np.abs(out.astype(int) - image).sum() > 0, f"{name}-{severity} left the image unchanged"


@pytest.mark.parametrize("name", ["gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "contrast",
                                  "brightness", "gaussian_blur", "jpeg_compression"])
def test_damage_grows_with_severity(name, shapes):
    images = [shapes.sample(0, i).image for i in range(24)]

    def damage(severity):
        corrupt = Corrupter(name, severity, 64)
        return np.mean([np.abs(corrupt(im, 0, i).astype(int) - im).mean() for i, im in enumerate(images)])

    levels = [damage(s) for s in SEVERITIES]
    assert levels == sorted(levels), levels


def test_corruption_depends_on_index_not_on_order(shapes):
    corrupt = Corrupter("gaussian_noise", 3, 64)
    image = shapes.sample(0, 0).image
    first = corrupt(image, 0, 1)
    corrupt(image, 0, 2)
    assert np.array_equal(first, corrupt(image, 0, 1))
    assert not np.array_equal(first, corrupt(image, 0, 2))


def test_unknown_corruption_and_severity_are_refused():
    with pytest.raises(KeyError, match="unknown corruption"):
        Corrupter("rain", 1, 64)
    with pytest.raises(ValueError, match="severity"):
        Corrupter("fog", 6, 64)


@pytest.mark.parametrize("scale, shift", [(0.3, 0.0), (2.0, 0.0), (20.0, 0.2)])
def test_saturate_matches_imagenet_c_within_one_grey_level(scale, shift):
    # ImageNet-C's saturate: HSV on [0, 1] floats, S scaled and shifted, back to RGB; ours skips the rescaling.
    import cv2

    from generators.transforms import Saturate

    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    hsv = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2HSV)
    hsv[..., 1] = np.clip(hsv[..., 1] * scale + shift, 0, 1)
    expected = np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), 0, 1) * 255
    assert np.abs(Saturate(scale, shift).apply(image) - expected).max() <= 1.0


@pytest.mark.parametrize("angle", [-135.0, -90.0, -45.0, 0.0, 30.0])
def test_motion_kernel_is_imagemagicks_one_sided_gaussian_streak(angle):
    from generators.transforms import motion_kernel

    kernel = motion_kernel(radius=10, sigma=4, angle_degrees=angle)
    centre = kernel.shape[0] // 2
    assert kernel.sum() == pytest.approx(1.0, abs=1e-6)
    # the pixel itself has the largest weight (the Gaussian's peak, 1 / sum of exp(-i^2 / 32) for i < 21)
    assert kernel[centre, centre] == pytest.approx(1 / np.exp(-(np.arange(21) ** 2) / 32).sum(), rel=1e-5)
    ys, xs = np.nonzero(kernel)
    direction = np.array([np.sin(np.radians(angle)), np.cos(np.radians(angle))])
    ahead = (np.stack([ys - centre, xs - centre], axis=1) @ direction)
    assert (ahead >= -0.5).all() and ahead.max() > 15  # every sample on one side, reaching 2 * radius back


def test_spatter_mud_paints_whole_patches_and_water_only_brightens():
    from generators.transforms import Spatter

    image = np.full((224, 224, 3), 128, np.uint8)
    mud = Spatter(0.67, 0.4, 1, 0.65, 1.5, mud=True)
    mask = mud.get_params_dependent_on_data({"shape": image.shape}, {})["mask"]
    assert ((mask == 0) | (mask >= 0.8)).all() and 0.05 < (mask > 0).mean() < 0.6  # ImageNet-C's 0.8 cut
    muddy = mud.apply(image, mask)
    assert (muddy[mask[..., 0] == 0] == 128).all() and (muddy[mask[..., 0] > 0.99] < 70).all()
    water = Spatter(0.65, 0.3, 4, 0.69, 0.6, mud=False)
    wet = water.apply(image, water.get_params_dependent_on_data({"shape": image.shape}, {})["mask"])
    assert (wet >= 128).all() and (wet > 128).any()
