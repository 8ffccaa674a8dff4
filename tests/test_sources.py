import cv2
import numpy as np
import pytest

import generators
from generators import digits, domains, patterns
from generators.histology import HistologyPatch
from generators.molecules import MoleculeSource
from generators.noise import smooth_noise
from generators.shapes import ShapeGenerator
from generators.xray import ChestXRay

# How each kind's source was built under a namespace before the registry (the reference model's training did
# this): the registry must draw the same pixels.
DIRECT = {
    "shapes": lambda d, size, ns: ShapeGenerator(size, name=ns),
    "digits": lambda d, size, ns: digits.domain(d, size, family=ns),
    "patterns": lambda d, size, ns: patterns.PatternSource(size, name=ns, split=d),
    "domains": lambda d, size, ns: domains.DomainSource(d, size, name=ns),
    "histology": lambda d, size, ns: HistologyPatch(d, size, family=ns),
    "xray": lambda d, size, ns: ChestXRay(d, size, family=ns),
    "molecules": lambda d, size, ns: MoleculeSource(d, size, family=ns),
}
CASES = [(kind, d) for kind, module in generators.kinds().items() for d in module.DOMAINS]


def test_every_kind_has_a_direct_constructor_and_the_module_api():
    assert set(DIRECT) == set(generators.kinds())
    for kind, module in generators.kinds().items():
        assert module.NAMESPACE == kind
        assert module.SOURCE_DOMAIN in module.DOMAINS and set(module.TARGET_DOMAINS) <= set(module.DOMAINS)


@pytest.mark.parametrize("kind, domain", CASES)
def test_the_registry_draws_the_pixels_of_the_direct_constructor(kind, domain):
    new, old = generators.source(kind, domain, 32, "x"), DIRECT[kind](domain, 32, "x")
    assert new.name == old.name and new.labels == old.labels
    for index in range(3):
        a, b = new.sample(0, index), old.sample(0, index)
        assert np.array_equal(a.image, b.image) and (a.label, a.sample_id) == (b.label, b.sample_id)


@pytest.mark.parametrize("kind, domain", CASES)
def test_the_default_namespace_is_the_modules_own(kind, domain):
    module = generators.kinds()[kind]
    new, old = generators.source(kind, domain, 32), module.domain(domain, 32)
    assert new.name == old.name
    assert np.array_equal(new.sample(0, 1).image, old.sample(0, 1).image)


def test_patterns_keep_a_stream_per_split_only_under_their_own_namespace():
    assert patterns.domain("seen").name == "patterns/seen"
    assert patterns.domain("seen", 64, "patterns-train").name == "patterns-train"


def test_digits_accept_the_former_family_keyword():
    assert digits.domain("grey", 32, family="x").name == digits.domain("grey", 32, namespace="x").name == "x/grey"
    with pytest.raises(TypeError):
        digits.domain("grey", 32, namespace="x", family="y")


def test_unknown_kinds_and_the_one_shapes_domain_are_named():
    with pytest.raises(ValueError, match="digits, domains, histology, molecules, patterns, shapes, xray$"):
        generators.source("faces", "photo")
    with pytest.raises(ValueError, match="unknown generator kind 'noise'"):  # a module, but no kind
        generators.source("noise", "photo")
    with pytest.raises(ValueError, match="known domains: shapes$"):
        generators.source("shapes", "photo")


def test_smooth_noise_unclipped_with_channels():
    # The object styles' mode: `points` coarse values per side and channel, bicubically enlarged, not clipped.
    noise = smooth_noise(np.random.default_rng(1), 48, 5, channels=3)
    coarse = np.random.default_rng(1).uniform(-1, 1, size=(5, 5, 3)).astype(np.float32)
    assert noise.shape == (48, 48, 3) and noise.dtype == np.float32
    assert np.array_equal(noise, cv2.resize(coarse, (48, 48), interpolation=cv2.INTER_CUBIC))
    one = smooth_noise(np.random.default_rng(1), 48, 5, channels=1)
    assert one.shape == (48, 48, 1)
    # One channel draws what the 2-D field draws: the same values in the same order.
    assert np.array_equal(one[..., 0], smooth_noise(np.random.default_rng(1), 48, 5))


def test_smooth_noise_clipped_2d():
    # The medical families' mode: 2-D and cut to [-1, 1], which bicubic overshoot otherwise leaves.
    free = np.stack([smooth_noise(np.random.default_rng(seed), 64, 8) for seed in range(20)])
    cut = np.stack([smooth_noise(np.random.default_rng(seed), 64, 8, clip=True) for seed in range(20)])
    assert cut.shape == (20, 64, 64) and np.abs(free).max() > 1.0 >= np.abs(cut).max()
    assert np.array_equal(cut, np.clip(free, -1.0, 1.0))
