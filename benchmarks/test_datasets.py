"""Your own datasets (`--dataset CARD`, repeatable; the card format is in ood_fixtures/catalog/dataset_cards.py):
one cell per domain, gated on its accuracy and on what it retains of the card's source domain, the in-distribution one.
The source domain's images are also corrupted (test_corruptions.py), perturbed (test_properties.py), shown as
in-context examples (test_icl.py) and diagnosed (test_diagnosis.py). Select with -m dataset, or a dataset's cells
anywhere with -k <name>.
"""

import pytest

from ood_fixtures.plugin import assert_gate, cells


@pytest.mark.dataset
@cells(lambda catalog: [cell for dataset in catalog.datasets for cell in dataset.domains],
       ids=lambda cell: f"{cell.scenario}-{cell.shift}", empty="no --dataset CARD given")
def test_domain(cell, evaluate):
    assert_gate(evaluate(cell))
