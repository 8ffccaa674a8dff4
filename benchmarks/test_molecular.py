"""Molecules (DrugOOD-like): drawings labelled by RDKit with their functional group, under a scaffold shift
(Murcko scaffolds unseen in the source), a size shift (the source molecules with extra alkyl chains) and a
drawing-style shift. Select with -m molecular.
"""

import pytest

from ood_fixtures.plugin import assert_gate, cells


@pytest.mark.molecular
@cells(lambda catalog: catalog.domain_shifts["molecular", "functional-groups"], ids=lambda cell: cell.shift)
def test_shift(cell, evaluate):
    assert_gate(evaluate(cell))
