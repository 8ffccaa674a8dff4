"""Why accuracy drops (the study's diagnosis), per family and target domain: zero-shot accuracy, a linear probe on
the model's own image features (cross-validated), the mapping gap between them, and the gain from descriptive
label texts. The gate is on the probe (the features must still tell the classes apart) and on the gap; the
verdict names the explanations the figures support (ood_fixtures/diagnosis.py). Select with -m diagnosis.
"""

import pytest

from generators import digits, domains, medical, molecules, patterns
from generators.corruptions import CORRUPTIONS, Corrupter
from generators.shapes import ShapeGenerator
from ood_fixtures.plugin import assert_gate
from ood_fixtures.scenarios import Cell, domain_shift

SHAPES = ShapeGenerator(size=64, name="shapes")
UPRIGHT = digits.domain(digits.ROTATION_SOURCE_DOMAIN)

TARGETS = [
    *(Cell("corruption", "shapes", name, 3, SHAPES, Corrupter(name, 3, 64)) for name in CORRUPTIONS),
    *domain_shift("synthetic", "coloured-digits", digits.SOURCE_DOMAIN, digits.TARGET_DOMAINS, digits.domain)[1:],
    *(Cell("synthetic", "rotated-digits", "rotation", d, UPRIGHT, digits.Rotate(d)) for d in digits.ROTATIONS if d),
    *domain_shift("synthetic", "compositional", patterns.SOURCE_DOMAIN, patterns.TARGET_DOMAINS, patterns.domain)[1:],
    *domain_shift("natural", "objects", domains.SOURCE_DOMAIN, domains.TARGET_DOMAINS, domains.domain)[1:],
    *domain_shift("medical", "histology", medical.HISTOLOGY_SOURCE, medical.HISTOLOGY_TARGETS, medical.histology)[1:],
    *domain_shift("medical", "chest-xray", medical.XRAY_SOURCE, medical.XRAY_TARGETS, medical.xray)[1:],
    *domain_shift("molecular", "functional-groups", molecules.SOURCE_DOMAIN, molecules.TARGET_DOMAINS,
                  molecules.domain)[1:],
]  # fmt: skip


@pytest.mark.diagnosis
@pytest.mark.parametrize("cell", TARGETS, ids=lambda c: "-".join(str(p) for p in c.id.split("/")[1:]))
def test_diagnosis(cell, diagnose):
    assert_gate(diagnose(cell))
