"""Medical images (Camelyon17-like and chest-X-ray-like): the same tissue or patient seen through another
hospital's stain or another scanner. Sample i is the same tissue or patient in every domain. Select with
-m medical.
"""

import pytest

from generators import medical
from ood_fixtures.plugin import assert_gate
from ood_fixtures.scenarios import domain_shift

HISTOLOGY = domain_shift("medical", "histology", medical.HISTOLOGY_SOURCE, medical.HISTOLOGY_TARGETS, medical.histology)
CHEST_XRAY = domain_shift("medical", "chest-xray", medical.XRAY_SOURCE, medical.XRAY_TARGETS, medical.xray)


@pytest.mark.medical
@pytest.mark.parametrize("cell", HISTOLOGY, ids=lambda cell: cell.shift)
def test_hospital(cell, evaluate):
    assert_gate(evaluate(cell))


@pytest.mark.medical
@pytest.mark.parametrize("cell", CHEST_XRAY, ids=lambda cell: cell.shift)
def test_scanner(cell, evaluate):
    assert_gate(evaluate(cell))
