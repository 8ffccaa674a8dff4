"""Medical images (Camelyon17-like and chest-X-ray-like): the same tissue or patient seen through another
hospital's stain or another scanner. Sample i is the same tissue or patient in every domain. Select with
-m medical.
"""

import pytest

from ood_fixtures.plugin import assert_gate, cells


@pytest.mark.medical
@cells(lambda catalog: catalog.domain_shifts["medical", "histology"], ids=lambda cell: cell.shift)
def test_hospital(cell, evaluate):
    assert_gate(evaluate(cell))


@pytest.mark.medical
@cells(lambda catalog: catalog.domain_shifts["medical", "chest-xray"], ids=lambda cell: cell.shift)
def test_scanner(cell, evaluate):
    assert_gate(evaluate(cell))
