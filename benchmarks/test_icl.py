"""In-context learning under shift (the study's ICL analysis), on one (source, target) domain pair per family
(`ood_fixtures.catalog.scenarios`), and one per target domain of each --dataset.

Each pair's zero-shot cell is the reference of its in-context cells: `retained` above 1 means the examples helped.
Settings (ood_fixtures/catalog/icl.py), each at 2, 4 and 8 examples per query:
- target: target-domain examples, balanced over classes; source: source-domain examples (a domain shift between
  the examples and the query); skewed: target examples, all but one of one class; spurious: the target examples
  framed in their class's colour, the query framed in a random class's colour.
Generative models read the examples in one conversation; contrastive models adapt from them (Tip-Adapter), and
the report names which. Select with -m icl.
"""

import pytest

from ood_fixtures.plugin import assert_gate, cells


@pytest.mark.icl
@cells(lambda catalog: [*catalog.icl_cells, *(c for d in catalog.datasets for c in d.icl_cells)],
       ids=lambda cell: f"{cell.scenario}-{cell.shift}-{cell.severity}")
def test_in_context(cell, evaluate):
    assert_gate(evaluate(cell))
