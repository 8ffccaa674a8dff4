"""Natural domain shift (PACS/DomainNet-like): seven objects drawn photo-like (the source domain) and as sketches,
cartoons, paintings and quickdraw doodles. Sample i is the same object instance in every domain, so the domains
differ by style alone. Select with -m natural.
"""

import pytest

from ood_fixtures.plugin import assert_gate, cells


@pytest.mark.natural
@cells(lambda catalog: catalog.domain_shifts["natural", "objects"], ids=lambda cell: cell.shift)
def test_domain(cell, evaluate):
    assert_gate(evaluate(cell))
