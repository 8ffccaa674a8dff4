"""What the suite tests: every cell of every scenario, the in-context pairs, the diagnosis targets and the source
domains the reference models learn (the families and their markers are `ood_fixtures.catalog.families`).

The benchmark modules (benchmarks/test_*.py) parametrize their tests over these tables, and the scripts (training,
calibration, reliability, performance) read them from here too, so a cell is defined once. Building the tables is
cheap: transforms build their pipelines, and sources their images, on first use.

Adding a scenario family: its generator (generators/<kind>.py, found by that name), its rows here (its cells, and
where it has them a diagnosis target, an in-context pair and a training source) with its `Family` entry in
families.py, and its test module under benchmarks/.
"""

from __future__ import annotations

from generators import digits, domains, histology, molecules, patterns, shapes, xray
from generators.corruptions import CORRUPTIONS, SEVERITIES, Corrupter
from ood_fixtures.catalog import icl
from ood_fixtures.catalog.cells import Cell, domain_shift

IMAGE_SIZE = 64


# ---------------------------------------------------------------------------------------------------- corruption
SHAPES = shapes.domain(shapes.SOURCE_DOMAIN, IMAGE_SIZE)
CLEAN = Cell("corruption", "shapes", "clean", 0, SHAPES)
# Every corrupted cell is paired with the clean one (same base images), its reference for `retained`.
CORRUPTED: dict[tuple[str, int], Cell] = {
    (name, severity): Cell("corruption", "shapes", name, severity, SHAPES, Corrupter(name, severity, IMAGE_SIZE),
                           reference=CLEAN)  # fmt: skip
    for name in CORRUPTIONS
    for severity in SEVERITIES
}

# --------------------------------------------------------------------------------------------------- domain shifts
# (family, scenario) -> the source domain's cell, then one per target domain with the source as reference
DOMAIN_SHIFTS: dict[tuple[str, str], list[Cell]] = {
    ("synthetic", "coloured-digits"): domain_shift("synthetic", "coloured-digits", digits.SOURCE_DOMAIN,
                                                   digits.TARGET_DOMAINS, digits.domain),
    ("synthetic", "compositional"): domain_shift("synthetic", "compositional", patterns.SOURCE_DOMAIN,
                                                 patterns.TARGET_DOMAINS, patterns.domain),
    ("natural", "objects"): domain_shift("natural", "objects", domains.SOURCE_DOMAIN, domains.TARGET_DOMAINS,
                                         domains.domain),
    ("medical", "histology"): domain_shift("medical", "histology", histology.SOURCE_DOMAIN, histology.TARGET_DOMAINS,
                                           histology.domain),
    ("medical", "chest-xray"): domain_shift("medical", "chest-xray", xray.SOURCE_DOMAIN, xray.TARGET_DOMAINS,
                                            xray.domain),
    ("molecular", "functional-groups"): domain_shift("molecular", "functional-groups", molecules.SOURCE_DOMAIN,
                                                     molecules.TARGET_DOMAINS, molecules.domain),
}  # fmt: skip

# The rotation sweep: severity is the angle, every rotated cell paired with the upright one.
UPRIGHT = Cell("synthetic", "rotated-digits", "rotation", 0, digits.domain(digits.ROTATION_SOURCE_DOMAIN))
ROTATED: list[Cell] = [UPRIGHT] + [
    Cell("synthetic", "rotated-digits", "rotation", degrees, UPRIGHT.source, digits.Rotate(degrees), UPRIGHT)
    for degrees in digits.ROTATIONS
    if degrees
]


def shift(family: str, scenario: str, target: str) -> Cell:
    """The cell of one target domain of a domain shift."""
    return next(c for c in DOMAIN_SHIFTS[family, scenario] if c.shift == target)


# ------------------------------------------------------------------------------------------------------ in-context
# pair -> (source cell, target cell): the target is each family's hardest shift for the reference models
ICL_PAIRS: dict[str, tuple[Cell, Cell]] = {
    "objects-sketch": (DOMAIN_SHIFTS["natural", "objects"][0], shift("natural", "objects", "sketch")),
    "digits-rotated-60": (UPRIGHT, next(c for c in ROTATED if c.severity == 60)),
    "xray-scanner-b": (DOMAIN_SHIFTS["medical", "chest-xray"][0], shift("medical", "chest-xray", "scanner_b")),
    "molecules-size": (DOMAIN_SHIFTS["molecular", "functional-groups"][0],
                       shift("molecular", "functional-groups", "size")),
}  # fmt: skip
ICL_CELLS: list[Cell] = [cell for pair, (source, target) in ICL_PAIRS.items()
                         for cell in icl.cells(pair, source, target)]  # fmt: skip

# ------------------------------------------------------------------------------------------------------- diagnosis
# Every shifted cell the study explains: each corruption at the middle severity, every rotation, every target domain.
DIAGNOSIS_SEVERITY = 3
DIAGNOSIS_TARGETS: list[Cell] = [
    *(CORRUPTED[name, DIAGNOSIS_SEVERITY] for name in CORRUPTIONS),
    *DOMAIN_SHIFTS["synthetic", "coloured-digits"][1:],
    *ROTATED[1:],
    *(cell for (family, scenario), cells in DOMAIN_SHIFTS.items()
      if (family, scenario) != ("synthetic", "coloured-digits") for cell in cells[1:]),
]  # fmt: skip

# -------------------------------------------------------------------------------------------------------- training
# (generator kind, source domain, training images): one row per source domain the reference models learn, drawn
# under "<kind>-train" namespaces the benchmarks never use (scripts/train_reference_clip.py).
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


def cells() -> list[Cell]:
    """Every cell the main job gates, in the order of the benchmark modules (the real datasets' depend on
    --data-root and are not here; diagnosis rows and property checks are no cells of their own)."""
    shifts = list(DOMAIN_SHIFTS.values())
    return [CLEAN, *CORRUPTED.values(), *shifts[0], *ROTATED, *(c for cells_ in shifts[1:] for c in cells_),
            *ICL_CELLS]  # fmt: skip
