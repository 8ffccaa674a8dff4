import numpy as np
import pytest

import generators
import generators
from generators import histology, xray
from generators.histology import HistologyPatch
from generators.xray import ChestXRay

DOMAINS = [("histology", name) for name in histology.DOMAINS] + [("xray", name) for name in xray.DOMAINS]


@pytest.mark.parametrize("family, name", DOMAINS)
def test_every_domain_renders_deterministic_images(family, name):
    source = generators.source(family, name)
    a, b = source.sample(3, 17), source.sample(3, 17)
    assert a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8
    assert np.array_equal(a.image, b.image) and a.label == b.label and a.sample_id == "17"
    assert not np.array_equal(a.image, source.sample(4, 17).image)
    assert source.name == f"{family}/{name}"


@pytest.mark.parametrize("family, name", DOMAINS)
def test_labels_cycle_with_the_index(family, name):
    source = generators.source(family, name)
    labels = [source.sample(0, i).label for i in range(4)]
    assert labels == source.labels * 2
    assert source.labels == list(histology.LABELS if family == "histology" else xray.LABELS)


def test_domains_of_a_family_share_the_underlying_tissue_and_patient():
    # Sample i is the same instance in every domain; only the stain or scanner differs.
    hospital, scanner = histology.domain(histology.SOURCE_DOMAIN), xray.domain(xray.SOURCE_DOMAIN)
    reference_h, reference_e = hospital.concentrations(0, 5)
    reference_xray = scanner.attenuation(0, 5)
    for name in histology.TARGET_DOMAINS:
        h, e = histology.domain(name).concentrations(0, 5)
        assert np.array_equal(h, reference_h) and np.array_equal(e, reference_e)
        assert not np.array_equal(histology.domain(name).sample(0, 5).image, hospital.sample(0, 5).image)
    for name in xray.TARGET_DOMAINS:
        assert np.array_equal(xray.domain(name).attenuation(0, 5), reference_xray)
        assert not np.array_equal(xray.domain(name).sample(0, 5).image, scanner.sample(0, 5).image)


def dark_fraction(image: np.ndarray) -> float:
    """Fraction of pixels much darker than the image's bright tissue: haematoxylin-dense nuclei under any stain."""
    grey = image.astype(float).mean(axis=2)
    return float((grey < 0.6 * np.percentile(grey, 95)).mean())


@pytest.mark.parametrize("name", histology.DOMAINS)
def test_tumour_patches_have_more_dark_nuclei_than_normal_ones(name):
    source = histology.domain(name)
    normal = [dark_fraction(source.sample(0, i).image) for i in range(0, 16, 2)]
    tumour = [dark_fraction(source.sample(0, i).image) for i in range(1, 16, 2)]
    assert source.labels[0] == "normal tissue" and source.labels[1] == "tumor tissue"
    assert min(tumour) > 2 * max(normal), (normal, tumour)


def test_histology_images_are_hematoxylin_and_eosin_coloured():
    # The source looks like H&E: pink tissue (red above green) with blue-purple nuclei (blue above green).
    image = histology.domain(histology.SOURCE_DOMAIN).sample(0, 1).image.reshape(-1, 3).astype(int)
    grey = image.mean(axis=1)
    tissue, nuclei = image[grey > np.percentile(grey, 80)].mean(0), image[grey < np.percentile(grey, 20)].mean(0)
    assert tissue[0] > tissue[1] + 30, tissue
    assert nuclei[2] > nuclei[1] + 30, nuclei


def lung_brightness(image: np.ndarray) -> float:
    """Mean grey level of two boxes that lie inside the right and left lung fields of every generated patient."""
    grey = image[..., 0].astype(float) / 255
    return float((grey[16:40, 10:22].mean() + grey[16:40, 42:54].mean()) / 2)


@pytest.mark.parametrize("name", xray.DOMAINS)
def test_opacity_changes_the_lung_fields_the_labelled_way(name):
    source = xray.domain(name)
    clear = np.mean([lung_brightness(source.sample(0, i).image) for i in range(0, 24, 2)])
    opaque = np.mean([lung_brightness(source.sample(0, i).image) for i in range(1, 24, 2)])
    assert source.labels[1] == "lung opacity"
    if name == "scanner_e":  # a negative display: the opacity is darker, as bone is
        assert opaque < clear - 0.05, (clear, opaque)
    else:
        assert opaque > clear + 0.03, (clear, opaque)


@pytest.mark.parametrize("name", xray.DOMAINS)
def test_xray_images_are_grey(name):
    image = xray.domain(name).sample(0, 3).image
    assert np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2])


def test_scanner_shifts_do_what_they_say():
    ids = range(8)
    base = np.stack([xray.domain(xray.SOURCE_DOMAIN).sample(0, i).image[..., 0] for i in ids]).astype(float)
    low_contrast = np.stack([xray.domain("scanner_b").sample(0, i).image[..., 0] for i in ids]).astype(float)
    noisy = np.stack([xray.domain("scanner_c").sample(0, i).image[..., 0] for i in ids]).astype(float)
    low_resolution = np.stack([xray.domain("scanner_d").sample(0, i).image[..., 0] for i in ids]).astype(float)

    def roughness(images):  # mean absolute difference between horizontal neighbours
        return np.abs(np.diff(images, axis=2)).mean()

    assert low_contrast.std() < 0.6 * base.std()
    assert roughness(noisy) > 3 * roughness(base)
    assert roughness(low_resolution) < 0.6 * roughness(base)


def test_hospital_stains_differ_in_colour():
    means = {name: histology.domain(name).sample(0, 0).image.reshape(-1, 3).mean(0)
             for name in histology.DOMAINS}  # fmt: skip
    names = list(means)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(means[a] - means[b]).max() > 8, (a, b, means[a], means[b])


def test_sizes_other_than_64_render():
    assert HistologyPatch(size=96).sample(0, 1).image.shape == (96, 96, 3)
    assert ChestXRay(size=32).sample(0, 1).image.shape == (32, 32, 3)


def test_unknown_names_are_rejected_with_the_known_ones():
    with pytest.raises(ValueError, match="hospital_1.*hospital_5"):
        histology.domain("hospital_9")
    with pytest.raises(ValueError, match="scanner_a.*scanner_e"):
        xray.domain("scanner_z")
    with pytest.raises(ValueError, match="histology.*xray"):
        generators.source("ct", "scanner_a")
    with pytest.raises(ValueError, match="hospital_1"):
        generators.source("histology", "scanner_a")
    assert {"histology", "xray"} <= set(generators.kinds())
