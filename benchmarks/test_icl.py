"""In-context learning under shift (the study's ICL analysis), on one (source, target) domain pair per family.

Each pair's zero-shot cell is the reference of its in-context cells: `retained` above 1 means the examples helped.
Settings (ood_fixtures/icl.py), each at 2, 4 and 8 examples per query:
- target: target-domain examples, balanced over classes; source: source-domain examples (a domain shift between
  the examples and the query); skewed: target examples, all but one of one class; spurious: the target examples
  framed in their class's colour, the query framed in a random class's colour.
Generative models read the examples in one conversation; contrastive models adapt from them (Tip-Adapter), and
the report names which. Select with -m icl.
"""

import pytest

from generators import digits, domains, medical, molecules
from ood_fixtures import icl
from ood_fixtures.plugin import assert_gate
from ood_fixtures.scenarios import Cell, domain_shift

UPRIGHT = Cell("synthetic", "rotated-digits", "rotation", 0, digits.domain(digits.ROTATION_SOURCE_DOMAIN))

# scenario: (source cell, target cell): the target is each family's hardest shift for the reference models
PAIRS = {
    "objects-sketch": domain_shift("natural", "objects", domains.SOURCE_DOMAIN, ("sketch",), domains.domain),
    "digits-rotated-60": [UPRIGHT, Cell("synthetic", "rotated-digits", "rotation", 60, UPRIGHT.source,
                                        digits.Rotate(60), UPRIGHT)],
    "xray-scanner-b": domain_shift("medical", "chest-xray", medical.XRAY_SOURCE, ("scanner_b",), medical.xray),
    "molecules-size": domain_shift("molecular", "functional-groups", molecules.SOURCE_DOMAIN, ("size",),
                                   molecules.domain),
}  # fmt: skip

CELLS = [cell for scenario, (source, target) in PAIRS.items() for cell in icl.cells(scenario, source, target)]


@pytest.mark.icl
@pytest.mark.parametrize("cell", CELLS, ids=lambda cell: f"{cell.scenario}-{cell.shift}-{cell.severity}")
def test_in_context(cell, evaluate):
    assert_gate(evaluate(cell))
