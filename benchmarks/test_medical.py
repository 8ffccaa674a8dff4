"""Medical images (Camelyon17-like and chest-X-ray-like): the same tissue or patient seen through another
hospital's stain or another scanner. Sample i is the same tissue or patient in every domain. Select with
-m medical.
"""

import pytest

from ood_fixtures.catalog.scenarios import DOMAIN_SHIFTS
from ood_fixtures.plugin import assert_gate

HISTOLOGY = DOMAIN_SHIFTS["medical", "histology"]
CHEST_XRAY = DOMAIN_SHIFTS["medical", "chest-xray"]


@pytest.mark.medical
@pytest.mark.parametrize("cell", HISTOLOGY, ids=lambda cell: cell.shift)
def test_hospital(cell, evaluate):
    assert_gate(evaluate(cell))


@pytest.mark.medical
@pytest.mark.parametrize("cell", CHEST_XRAY, ids=lambda cell: cell.shift)
def test_scanner(cell, evaluate):
    assert_gate(evaluate(cell))
