"""Molecules (DrugOOD-like): drawings labelled by RDKit with their functional group, under a scaffold shift
(Murcko scaffolds unseen in the source), a size shift (the source molecules with extra alkyl chains) and a
drawing-style shift. Select with -m molecular.
"""

import pytest

from generators import molecules
from ood_fixtures.plugin import assert_gate
from ood_fixtures.scenarios import domain_shift

GROUPS = domain_shift("molecular", "functional-groups", molecules.SOURCE_DOMAIN, molecules.TARGET_DOMAINS,
                      molecules.domain)  # fmt: skip


@pytest.mark.molecular
@pytest.mark.parametrize("cell", GROUPS, ids=lambda cell: cell.shift)
def test_shift(cell, evaluate):
    assert_gate(evaluate(cell))
