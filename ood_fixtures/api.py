"""The public API of ood_fixtures, for robustness checks in your own test files. Everything else in the package is
internal and may change in any release; what is here changes only with a new major version.

With the package installed, pytest loads the suite's plugin in every session; it stays inert until a test uses
one of its fixtures:

- ``model``: the model under test (``--model``, default the shipped reference CLIP), loaded on first use;
- ``evaluate``: ``evaluate(cell) -> CellResult``, the cell's accuracy with its interval and the gate's verdict,
  recorded in results.json (``--report-dir``, default reports/);
- ``invariance``: ``invariance(clean, shift, at_least=0.9)``, fails the test when the answers show that fewer than
  ``at_least`` of them survive the shift (session-scoped, so hypothesis's ``@given`` takes it);
- ``ood_run``: the run's options (seed, samples, thresholds).

A complete test file::

    import numpy as np
    from hypothesis import given
    from ood_fixtures import api

    LABELS = ["red circle", "blue square"]

    def draw(rng, index):
        label = LABELS[index % 2]
        image = np.full((64, 64, 3), 255, np.uint8)
        ...  # paint the label's shape at a place drawn from rng
        return image, label

    SHAPES = api.generated("my-shapes", LABELS, draw)
    CLEAN = api.cell(SHAPES)
    DIMMED = api.cell(SHAPES, api.shift("dim", lambda image, rng, f: (image * f).astype(np.uint8), f=0.7),
                      reference=CLEAN)

    @api.gate(min_accuracy=0.8)
    def test_clean(evaluate):
        api.assert_gate(evaluate(CLEAN))

    @api.gate(min_retained=0.9)
    def test_dimmed(evaluate):
        api.assert_gate(evaluate(DIMMED))

    @given(strength=api.perturbation_strengths("jpeg"))
    def test_jpeg_keeps_answers(strength, invariance):
        invariance(CLEAN, api.perturbation("jpeg", strength), at_least=0.9)

Every image derives from (``--seed``, the source's name, the sample index), and a shift's randomness from
(``--seed``, the shift's name and parameters, the index): a run is reproducible on any number of workers.
"""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

import numpy as np
import pytest
from hypothesis import strategies as st

from generators.corruptions import CORRUPTIONS, SEVERITIES, Corrupter
from generators.perturbations import PERTURBATIONS, Perturb
from generators.sample import Sample, SampleError, Shift, Source
from generators.seeding import rng_for
from ood_fixtures.catalog import strategies
from ood_fixtures.catalog.cells import Cell
from ood_fixtures.evaluation.properties import Agreement
from ood_fixtures.evaluation.score import CellResult
from ood_fixtures.gating.limits import LIMITS
from ood_fixtures.plugin.fixtures import GATE, assert_gate
from ood_fixtures.store.model import ModelUnderTest

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = [
    # building cells
    "Cell", "Sample", "Source", "Shift", "generated", "images", "shift", "perturbation", "corruption", "cell",
    # hypothesis strategies
    "perturbation_strengths", "corruption_severities", "option_orders",
    # gates and results
    "gate", "assert_gate", "CellResult", "Agreement", "ModelUnderTest",
]  # fmt: skip

FAMILY = "custom"  # the family of the cells built here: their ids read custom/<source>/<shift>
ImageLike = Union[np.ndarray, "Image", str, Path]

# ------------------------------------------------------------------------------------------------ sources


class _Generated:
    """A source that draws each image (`generated`)."""

    def __init__(self, name: str, labels: Sequence[str], draw: Callable[[np.random.Generator, int], Any]) -> None:
        self.name, self.labels, self._draw = name, list(labels), draw

    def sample(self, seed: int, index: int) -> Sample:
        image, label = self._draw(rng_for(seed, self.name, index), index)
        if label not in self.labels:
            raise ValueError(f"source {self.name!r}: draw returned label {label!r}, not one of {self.labels}")
        return Sample(_rgb(image, f"{self.name}#{index}"), label, f"{self.name}#{index}")

    def content_key(self) -> str:
        return _code_key(self._draw)


class _Images:
    """A source of given images (`images`)."""

    def __init__(self, name: str, pairs: Sequence[tuple[ImageLike, str]], labels: Sequence[str]) -> None:
        self.name, self.labels, self._pairs = name, list(labels), list(pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def sample(self, seed: int, index: int) -> Sample:
        image, label = self._pairs[index]
        sample_id = str(image) if isinstance(image, (str, Path)) else f"{self.name}#{index}"
        try:
            return Sample(_rgb(image, sample_id), label, sample_id)
        except OSError as error:  # a file that cannot be read counts as a wrong answer, with its reason
            raise SampleError(sample_id, label, f"cannot read {image}: {error}") from None

    def content_key(self) -> str:
        digest = hashlib.sha256()
        for image, label in self._pairs:
            if isinstance(image, (str, Path)):
                stat = Path(image).stat()
                digest.update(f"{image}\0{stat.st_size}\0{stat.st_mtime_ns}\0{label}\n".encode())
            else:
                digest.update(np.ascontiguousarray(np.asarray(image)).tobytes() + label.encode())
        return digest.hexdigest()


def generated(name: str, labels: Sequence[str], draw: Callable[[np.random.Generator, int], tuple[Any, str]]) -> Source:
    """A source that draws image `index` with `draw(rng, index) -> (image, label)`; `rng` is a numpy Generator
    seeded from (--seed, name, index), so the same index gives the same image on every worker. An image is an
    H x W x 3 uint8 RGB array or a PIL image. Any number of samples: a cell asks for --samples.

    >>> source = generated("stripes", ["horizontal", "vertical"], lambda rng, i: (stripes(rng, i % 2), ...))
    """
    return _Generated(name, _labels(name, labels), draw)


def images(name: str, pairs: Sequence[tuple[ImageLike, str]], labels: Sequence[str] | None = None) -> Source:
    """A source of your own images: `(image, label)` pairs, an image being an array, a PIL image or a file path
    (read when drawn). `labels` are the candidate answers, in the order the model is offered them (default: the
    pairs' labels, sorted). A cell asks for the first --samples pairs; order them as you want them asked.

    >>> source = images("scans", [("scans/0001.png", "benign"), ("scans/0002.png", "malignant")])
    """
    pairs = list(pairs)
    if not pairs:
        raise ValueError(f"source {name!r}: no images given")
    labels = sorted({label for _, label in pairs}) if labels is None else list(labels)
    unknown = sorted({label for _, label in pairs} - set(labels))
    if unknown:
        raise ValueError(f"source {name!r}: labels {unknown} of the images are not among labels {labels}")
    return _Images(name, pairs, _labels(name, labels))


# ------------------------------------------------------------------------------------------------- shifts


class _Shift:
    """A shift of your own (`shift`): its name, its parameters, and the function that applies it."""

    def __init__(self, name: str, apply: Callable[..., Any], params: dict[str, Any]) -> None:
        self.apply, self.params = apply, params
        self.name = name + (f"({', '.join(f'{k}={v!r}' for k, v in sorted(params.items()))})" if params else "")

    def __call__(self, image: np.ndarray, seed: int, index: int | str) -> np.ndarray:
        changed = self.apply(image, rng_for(seed, "shift", self.name, index), **self.params)
        return _rgb(changed, f"{self.name} of image {index}")

    def content_key(self) -> str:
        return _code_key(self.apply)


class _Named:
    """One of the suite's shifts under the name its cells show."""

    def __init__(self, name: str, apply: Shift) -> None:
        self.name, self._apply = name, apply

    def __call__(self, image: np.ndarray, seed: int, index: int | str) -> np.ndarray:
        return self._apply(image, seed, index)


class _Corruption:
    """An ImageNet-C corruption whose parameters follow each image's size (the severity table is for 224 px)."""

    def __init__(self, name: str, severity: float) -> None:
        Corrupter(name, severity, 224)  # checks the name and the severity now, not at the first image
        self.name, self.corruption, self.severity = f"{name}@{severity:g}", name, severity
        self._by_size: dict[int, Corrupter] = {}

    def __call__(self, image: np.ndarray, seed: int, index: int | str) -> np.ndarray:
        size = min(image.shape[:2])
        if size not in self._by_size:
            self._by_size[size] = Corrupter(self.corruption, self.severity, size)
        return self._by_size[size](image, seed, index)


def shift(name: str, apply: Callable[..., Any], **params: Any) -> Shift:
    """A shift of your own: `apply(image, rng, **params) -> image` on H x W x 3 uint8 RGB arrays, `rng` seeded from
    (--seed, the shift's name and params, the sample index). Give everything the result depends on as `params`
    (or in `name`): a cell's answers are kept under its id, which the shift's name and params make.

    >>> fog = shift("haze", lambda image, rng, amount: (image * (1 - amount) + 255 * amount).astype("uint8"),
    ...             amount=0.4)
    """
    if not callable(apply):
        raise TypeError(f"shift {name!r}: apply must be a function (image, rng, **params) -> image")
    return _Shift(name, apply, params)


def perturbation(name: str, strength: float) -> Shift:
    """One of the suite's mild, label-preserving perturbations (brightness, contrast, jpeg, rotation, translation,
    noise) at `strength`, 0 being the identity; `perturbation_strengths(name)` draws its strengths.

    >>> jpeg = perturbation("jpeg", 15)  # JPEG quality 85
    """
    return _Named(f"{name}@{strength:g}", Perturb(name, strength))


def corruption(name: str, severity: float) -> Shift:
    """One of the 19 ImageNet-C corruptions (`gaussian_noise`, `fog`, `jpeg_compression`, ...) at a severity from
    1 to 5 (fractions in between interpolate the table), its parameters scaled to each image's size.

    >>> foggy = corruption("fog", 3)
    """
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; known: {', '.join(CORRUPTIONS)}")
    return _Corruption(name, severity)


def cell(source: Source, shift: Shift | None = None, *, reference: Cell | None = None,
         severity: int | None = None) -> Cell:  # fmt: skip
    """A cell: `source`'s images, changed by `shift` if given. Its id is custom/<source>/<shift name or clean>
    (/severity); `reference`, the cell its accuracy is compared with (min_retained in a gate).

    >>> clean = cell(source)
    >>> foggy = cell(source, corruption("fog", 3), reference=clean, severity=3)
    """
    name = "clean" if shift is None else getattr(shift, "name", None)
    if not name:
        raise ValueError("cell: the shift has no name; make it with api.shift, api.perturbation or api.corruption")
    return Cell(FAMILY, source.name, name, severity, source, shift, reference)


# ------------------------------------------------------------------------------------------------ strategies


def perturbation_strengths(name: str) -> st.SearchStrategy[float]:
    """A hypothesis strategy for the strengths of perturbation `name`, within its limit (signed where both
    directions are mild), shrinking towards 0: a failure shrinks to the smallest strength that breaks the model.

    >>> @given(strength=perturbation_strengths("jpeg"))
    ... def test_jpeg(strength, invariance): invariance(CLEAN, perturbation("jpeg", strength))
    """
    if name not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}")
    p = PERTURBATIONS[name]
    return strategies.strengths(p.limit, p.signed)


def corruption_severities(fractional: bool = False) -> st.SearchStrategy[float]:
    """A hypothesis strategy for corruption severities: the integers 1 to 5, or any value between on a grid of
    0.01 (`fractional`); shrinks towards 1.

    >>> @given(severity=corruption_severities())
    ... def test_fog(severity, evaluate): ...
    """
    if not fractional:
        return st.sampled_from(SEVERITIES)
    low, high = SEVERITIES[0], SEVERITIES[-1]
    return strategies.fractions(100 * (high - low)).map(lambda f: round(low + f * (high - low), 2))


def option_orders(n: int) -> st.SearchStrategy[list[int]]:
    """A hypothesis strategy for orders of n candidate labels (permutations of range(n)), shrinking to the
    identity.

    >>> @given(order=option_orders(4))
    ... def test_order(order): labels = [LABELS[i] for i in order]
    """
    return strategies.permutations(n)


# -------------------------------------------------------------------------------------------------- gates


def gate(**limits: float) -> pytest.MarkDecorator:
    """The gate of a test's cells, declared in the test: any of min_accuracy (lowest allowed Wilson 95% lower
    bound of accuracy), min_retained (accuracy over the reference cell's), max_unparsed, max_ece. Added to the
    thresholds file's limits for the cell, and winning over them; `assert_gate` fails the test on a breach.

    >>> @gate(min_accuracy=0.8)
    ... def test_clean(evaluate): assert_gate(evaluate(CLEAN))
    """
    for key, value in limits.items():
        limit = LIMITS.get(key)
        if limit is None or limit.judges != "cell":
            known = ", ".join(k for k, v in LIMITS.items() if v.judges == "cell")
            raise ValueError(f"gate: unknown limit {key!r}; a cell's limits are {known}")
        if not 0 <= value <= limit.top:
            raise ValueError(f"gate: {key} must be between 0 and {limit.top:g}, got {value}")
    return getattr(pytest.mark, GATE)(**limits)


# ------------------------------------------------------------------------------------------------ helpers


def _labels(name: str, labels: Sequence[str]) -> list[str]:
    labels = list(labels)
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise ValueError(f"source {name!r}: give at least two distinct labels, got {labels}")
    return labels


def _rgb(image: Any, what: str) -> np.ndarray:
    """An H x W x 3 uint8 RGB array from an array, a PIL image or a path; a ValueError that names `what`."""
    if isinstance(image, (str, Path)):
        from PIL import Image

        with Image.open(image) as opened:
            return np.array(opened.convert("RGB"))
    if hasattr(image, "convert"):  # a PIL image; np.array copies: torch warns on the read-only asarray view
        return np.array(image.convert("RGB"))
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(f"{what}: images are H x W x 3 uint8 RGB arrays, got {array.dtype} {array.shape}")
    return array


def _code_key(function: Callable[..., Any]) -> str:
    """What a function of yours draws depends on: its module's source text (the cache's key changes with it)."""
    try:
        source = Path(inspect.getsourcefile(function) or "").read_bytes()
    except (TypeError, OSError):
        source = repr(function).encode()
    return hashlib.sha256(source).hexdigest()
