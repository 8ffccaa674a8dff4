import cv2
import numpy as np
import pytest

from generators.domains import DOMAINS, LABELS, SOURCE_DOMAIN, TARGET_DOMAINS, DomainSource, domain

SEED = 0
SAMPLES = 28  # four of each class


@pytest.fixture(scope="module")
def images() -> dict[str, list[np.ndarray]]:
    return {name: [domain(name).sample(SEED, i).image for i in range(SAMPLES)] for name in DOMAINS}


def _near_object(source: DomainSource, index: int, margin: int) -> np.ndarray:
    """The object's silhouette grown by `margin` pixels."""
    mask = source.mask(SEED, index).astype(np.uint8)
    return cv2.dilate(mask, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) > 0


def test_domain_table():
    assert SOURCE_DOMAIN == "photo"
    assert TARGET_DOMAINS == ("sketch", "cartoon", "painting", "quickdraw")
    assert DOMAINS == (SOURCE_DOMAIN, *TARGET_DOMAINS)
    assert len(LABELS) == len(set(LABELS)) == 7


def test_unknown_domain_names_the_known_ones():
    with pytest.raises(ValueError) as error:
        domain("clipart")
    assert all(name in str(error.value) for name in DOMAINS)


@pytest.mark.parametrize("name", DOMAINS)
def test_every_domain_renders_every_class_reproducibly(name, images):
    source = domain(name)
    assert source.name == f"domains/{name}" and source.labels == list(LABELS)
    for index in range(len(LABELS)):
        sample = source.sample(SEED, index)
        assert sample.label == LABELS[index] and sample.sample_id == str(index)
        assert sample.image.shape == (64, 64, 3) and sample.image.dtype == np.uint8
        assert np.array_equal(sample.image, images[name][index]), "not reproducible"
        assert sample.image.std() > 5, "blank image"
    assert not np.array_equal(images[name][0], source.sample(SEED + 1, 0).image)


def test_size_is_configurable():
    assert domain("painting", size=32).sample(SEED, 3).image.shape == (32, 32, 3)
    with pytest.raises(ValueError):
        DomainSource("photo", size=8)


def test_labels_cycle_so_every_prefix_is_balanced():
    source = domain("cartoon")
    assert [source.sample(SEED, i).label for i in range(2 * len(LABELS))] == list(LABELS) * 2


def test_an_index_is_the_same_instance_in_every_domain(images):
    for index in range(0, SAMPLES, 5):
        scenes = [DomainSource(name).scene(SEED, index) for name in DOMAINS]
        assert all(np.array_equal(scenes[0].labels, scene.labels) for scene in scenes)
        assert len({DomainSource(name).sample(SEED, index).label for name in DOMAINS}) == 1
    # The family name seeds the instances; the domain name seeds only the style.
    assert not np.array_equal(DomainSource("sketch", name="other").scene(SEED, 0).labels,
                              DomainSource("sketch").scene(SEED, 0).labels)  # fmt: skip
    assert not np.array_equal(images["photo"][0], images["painting"][0])


@pytest.mark.parametrize("name", ["sketch", "quickdraw"])
def test_drawings_are_grey_lines_on_white_paper_around_the_object(name, images):
    source = domain(name)
    for index, image in enumerate(images[name]):
        pixels = image.astype(int)
        assert (pixels.mean(2) > 200).mean() > 0.7, "not mostly paper"
        assert (pixels.max(2) - pixels.min(2)).mean() < 5, "not grey-scale"
        ink = pixels.mean(2) < 128
        assert ink.sum() > 20, "no lines"
        assert (ink & _near_object(source, index, 3)).sum() >= 0.8 * ink.sum(), "lines away from the object"


def test_cartoons_are_flat_colours_with_black_outlines(images):
    source = domain("cartoon")
    for index, image in enumerate(images["cartoon"]):
        _, counts = np.unique(image.reshape(-1, 3), axis=0, return_counts=True)
        assert np.sort(counts)[::-1][:8].sum() >= 0.5 * counts.sum(), "not posterized"
        black = image.max(2) < 60
        assert black.sum() > 40, "no outlines"
        assert (black & _near_object(source, index, 2)).sum() >= 0.98 * black.sum()
        background = ~_near_object(source, index, 4)
        assert image[background].std(0).max() < 2, "background not plain"
    _, counts = np.unique(images["photo"][0].reshape(-1, 3), axis=0, return_counts=True)
    assert np.sort(counts)[::-1][:8].sum() < 0.1 * counts.sum(), "photos should not be posterized"


@pytest.mark.parametrize("name", ["photo", "painting"])
def test_photos_and_paintings_have_textured_backgrounds(name, images):
    source = domain(name)
    for index, image in enumerate(images[name]):
        background = image[~_near_object(source, index, 4)].astype(float)
        assert background.std(0).mean() > 8, "background is plain"
        assert len(np.unique(background, axis=0)) > 200


def test_photo_object_has_its_part_colours():
    # The object's pixels are its parts' colours, shaded: their mean is near the mean part colour.
    source = domain("photo")
    for index in range(SAMPLES):
        scene = source.scene(SEED, index)
        inside = cv2.erode(source.mask(SEED, index).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        seen = source.sample(SEED, index).image[inside].astype(float).mean(0)
        area = np.bincount(scene.labels.ravel(), minlength=len(scene.parts) + 1)[1:]
        expected = (np.array([p.colour for p in scene.parts]) * area[:, None]).sum(0) / area.sum()
        assert np.abs(seen - 0.95 * expected).max() < 40, (index, seen, expected)
