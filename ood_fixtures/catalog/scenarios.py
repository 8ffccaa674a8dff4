"""What the suite tests: every cell of every scenario at one image size, the in-context pairs, the diagnosis
targets, the cells of each of your own datasets (`--dataset`), and the source domains the reference models learn
(the families and their markers are `ood_fixtures.catalog.families`).

The benchmark modules (benchmarks/test_*.py) parametrize their tests over tables of a `Catalog` (the run's: its
image size and datasets, `ood_fixtures.plugin.cells`), and the scripts (training, calibration, reliability,
performance) read `at(size)` too, so a cell is defined once. Building a catalog is cheap: transforms build their
pipelines, and sources their images, on first use.

Adding a scenario family: its generator (generators/<kind>.py, found by that name), its rows in `_generated`
(its cells, and where it has them a diagnosis target, an in-context pair and a training source) with its `Family`
entry in families.py, and its test module under benchmarks/.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

from generators import digits, domains, histology, molecules, patterns, shapes, xray
from generators.corruptions import CORRUPTIONS, SEVERITIES, Corrupter
from generators.sample import Source
from ood_fixtures.catalog import icl
from ood_fixtures.catalog.cells import Cell, domain_shift

DEFAULT_SIZE = 64  # the size the generators were drawn for and the reference models trained at
DIAGNOSIS_SEVERITY = 3  # each corruption is diagnosed at its middle severity


@dataclass(frozen=True, eq=False)
class DatasetCells:
    """The cells of one of your own datasets (a card, `ood_fixtures.catalog.cards`): one per domain with the
    source domain as reference, the corruptions of the source domain's images (the source domain's cell is their
    clean reference too: the same images), and an in-context pair per target domain.

    Ids follow the generated families': `dataset/<name>/<domain>`, `corruption/<name>/<corruption>/<severity>`,
    `icl/<name>-<target>/<setting>/<shots>`.
    """

    name: str
    domains: list[Cell]  # the source domain's cell first
    corrupted: dict[tuple[str, int], Cell]
    icl_pairs: dict[str, tuple[Cell, Cell]]

    @property
    def clean(self) -> Cell:
        return self.domains[0]

    @property
    def source(self) -> Source:
        """The in-distribution images: what the property checks perturb."""
        return self.clean.source

    @functools.cached_property
    def icl_cells(self) -> list[Cell]:
        return _icl_cells(self.icl_pairs)

    @property
    def diagnosis_targets(self) -> list[Cell]:
        return [*(self.corrupted[name, DIAGNOSIS_SEVERITY] for name in CORRUPTIONS), *self.domains[1:]]


def dataset_cells(name: str, sources: dict[str, Source], source: str, size: int) -> DatasetCells:
    """A dataset's cells from its opened domains (`sources`, by domain, in the card's order)."""
    domain_cells = domain_shift("dataset", name, source, tuple(d for d in sources if d != source), sources.__getitem__)
    corrupted = {(corruption, severity): Cell("corruption", name, corruption, severity, sources[source],
                                              Corrupter(corruption, severity, size), reference=domain_cells[0])
                 for corruption in CORRUPTIONS for severity in SEVERITIES}  # fmt: skip
    pairs = {f"{name}-{target.shift}": (domain_cells[0], target) for target in domain_cells[1:]}
    return DatasetCells(name, domain_cells, corrupted, pairs)


@dataclass(frozen=True, eq=False)
class Catalog:
    """Every cell at one image size: the generated families' and those of the datasets given."""

    size: int
    clean: Cell
    corrupted: dict[tuple[str, int], Cell]
    # (family, scenario) -> the source domain's cell, then one per target domain with the source as reference
    domain_shifts: dict[tuple[str, str], list[Cell]]
    rotated: list[Cell]  # the upright cell, then every angle with it as reference
    icl_pairs: dict[str, tuple[Cell, Cell]]
    datasets: tuple[DatasetCells, ...] = field(default=())

    @property
    def shapes(self) -> Source:
        """The in-distribution shapes: the corruption family's images, and what the property checks perturb."""
        return self.clean.source

    def shift(self, family: str, scenario: str, target: str) -> Cell:
        """The cell of one target domain of a domain shift."""
        return next(c for c in self.domain_shifts[family, scenario] if c.shift == target)

    @functools.cached_property
    def icl_cells(self) -> list[Cell]:
        return _icl_cells(self.icl_pairs)

    @property
    def diagnosis_targets(self) -> list[Cell]:
        """Every shifted cell the study explains: each corruption at the middle severity, every rotation, every
        target domain."""
        shifts = self.domain_shifts
        return [
            *(self.corrupted[name, DIAGNOSIS_SEVERITY] for name in CORRUPTIONS),
            *shifts["synthetic", "coloured-digits"][1:],
            *self.rotated[1:],
            *(cell for key, cells in shifts.items() if key != ("synthetic", "coloured-digits") for cell in cells[1:]),
        ]  # fmt: skip

    def with_datasets(self, datasets: tuple[DatasetCells, ...]) -> Catalog:
        return replace(self, datasets=datasets)

    def cells(self) -> list[Cell]:
        """Every cell the main job gates, in the order of the benchmark modules (the real datasets' of
        --data-root depend on what is on disk and are not here; diagnosis rows and property checks are no cells
        of their own)."""
        shifts = list(self.domain_shifts.values())
        own = [c for d in self.datasets for c in (*d.domains, *d.corrupted.values(), *d.icl_cells)]
        return [self.clean, *self.corrupted.values(), *shifts[0], *self.rotated,
                *(c for cells_ in shifts[1:] for c in cells_), *self.icl_cells, *own]  # fmt: skip


@functools.cache
def at(size: int = DEFAULT_SIZE) -> Catalog:
    """The generated families' cells, with images drawn at `size` x `size` pixels."""
    return _generated(size)


def _generated(size: int) -> Catalog:
    # -------------------------------------------------------------------------------------------- corruption
    shapes_ = shapes.domain(shapes.SOURCE_DOMAIN, size)
    clean = Cell("corruption", "shapes", "clean", 0, shapes_)
    # Every corrupted cell is paired with the clean one (same base images), its reference for `retained`.
    corrupted = {(name, severity): Cell("corruption", "shapes", name, severity, shapes_,
                                        Corrupter(name, severity, size), reference=clean)
                 for name in CORRUPTIONS for severity in SEVERITIES}  # fmt: skip

    # ----------------------------------------------------------------------------------------- domain shifts
    def at_size(module):
        return lambda name: module.domain(name, size)

    shifts = {
        ("synthetic", "coloured-digits"): domain_shift("synthetic", "coloured-digits", digits.SOURCE_DOMAIN,
                                                       digits.TARGET_DOMAINS, at_size(digits)),
        ("synthetic", "compositional"): domain_shift("synthetic", "compositional", patterns.SOURCE_DOMAIN,
                                                     patterns.TARGET_DOMAINS, at_size(patterns)),
        ("natural", "objects"): domain_shift("natural", "objects", domains.SOURCE_DOMAIN, domains.TARGET_DOMAINS,
                                             at_size(domains)),
        ("medical", "histology"): domain_shift("medical", "histology", histology.SOURCE_DOMAIN,
                                               histology.TARGET_DOMAINS, at_size(histology)),
        ("medical", "chest-xray"): domain_shift("medical", "chest-xray", xray.SOURCE_DOMAIN, xray.TARGET_DOMAINS,
                                                at_size(xray)),
        ("molecular", "functional-groups"): domain_shift("molecular", "functional-groups", molecules.SOURCE_DOMAIN,
                                                         molecules.TARGET_DOMAINS, at_size(molecules)),
    }  # fmt: skip

    # The rotation sweep: severity is the angle, every rotated cell paired with the upright one.
    upright = Cell("synthetic", "rotated-digits", "rotation", 0, digits.domain(digits.ROTATION_SOURCE_DOMAIN, size))
    rotated = [upright] + [Cell("synthetic", "rotated-digits", "rotation", degrees, upright.source,
                                digits.Rotate(degrees), upright) for degrees in digits.ROTATIONS if degrees]  # fmt: skip

    def shift(family: str, scenario: str, target: str) -> Cell:
        return next(c for c in shifts[family, scenario] if c.shift == target)

    # ------------------------------------------------------------------------------------------- in-context
    # pair -> (source cell, target cell): the target is each family's hardest shift for the reference models
    pairs = {
        "objects-sketch": (shifts["natural", "objects"][0], shift("natural", "objects", "sketch")),
        "digits-rotated-60": (upright, next(c for c in rotated if c.severity == 60)),
        "xray-scanner-b": (shifts["medical", "chest-xray"][0], shift("medical", "chest-xray", "scanner_b")),
        "molecules-size": (shifts["molecular", "functional-groups"][0],
                           shift("molecular", "functional-groups", "size")),
    }  # fmt: skip
    return Catalog(size, clean, corrupted, shifts, rotated, pairs)


def _icl_cells(pairs: dict[str, tuple[Cell, Cell]]) -> list[Cell]:
    return [cell for pair, (source, target) in pairs.items() for cell in icl.cells(pair, source, target)]


# -------------------------------------------------------------------------------------------------------- training
# (generator kind, source domain, training images): one row per source domain the reference models learn, drawn
# under "<kind>-train" namespaces the benchmarks never use (scripts/train_reference_clip.py), at DEFAULT_SIZE.
TRAINING: tuple[tuple[str, str, int], ...] = (
    ("shapes", shapes.SOURCE_DOMAIN, 16_000),
    ("digits", digits.ROTATION_SOURCE_DOMAIN, 4_000),
    ("digits", digits.SOURCE_DOMAIN, 4_000),
    ("patterns", patterns.SOURCE_DOMAIN, 8_000),
    ("domains", domains.SOURCE_DOMAIN, 5_000),
    ("histology", histology.SOURCE_DOMAIN, 3_000),
    ("xray", xray.SOURCE_DOMAIN, 3_000),
    ("molecules", molecules.SOURCE_DOMAIN, 3_000),
)
