"""The scenario tables: every cell id unique, every target referencing its source cell, every family rendering
what it promises."""

import numpy as np
import pytest

from generators import domains
from ood_fixtures.catalog import scenarios
from ood_fixtures.catalog.cells import Cell, domain_shift

CATALOG = scenarios.at(scenarios.DEFAULT_SIZE)
TABLES = {
    "corruption": [CATALOG.clean, *CATALOG.corrupted.values()],
    **{"/".join(key): cells for key, cells in CATALOG.domain_shifts.items()},
    "rotated": CATALOG.rotated,
    "icl": CATALOG.icl_cells,
    "diagnosis": CATALOG.diagnosis_targets,
}


def test_domain_shift_puts_the_source_first_and_references_it():
    cells = domain_shift("natural", "objects", "photo", ("sketch", "cartoon"), domains.domain)
    assert [c.id for c in cells] == ["natural/objects/photo", "natural/objects/sketch", "natural/objects/cartoon"]
    assert cells[0].reference is None and all(c.reference is cells[0] and c.transform is None for c in cells[1:])




def test_every_cell_id_is_unique_and_the_table_is_the_main_jobs():
    cells = CATALOG.cells()
    assert len({c.id for c in cells}) == len(cells) == 183
    assert {c.id for c in CATALOG.diagnosis_targets} <= {c.id for c in cells}


@pytest.mark.parametrize("name", TABLES)
def test_every_table_references_within_its_scenario(name):
    cells: list[Cell] = TABLES[name]
    assert cells and len({c.id for c in cells}) == len({id(c) for c in cells})
    for cell in cells:
        if cell.reference is not None:
            assert cell.reference.reference is None and cell.reference.scenario == cell.scenario
            assert cell.reference.labels == cell.labels


@pytest.mark.parametrize("name", [n for n in TABLES if n != "corruption"])
def test_every_cell_renders_labelled_images_the_same_way_twice(name):
    for cell in TABLES[name]:
        first, again = cell.render(0, 5), cell.render(0, 5)
        assert first.image.shape == (64, 64, 3) and first.image.dtype == np.uint8
        assert np.array_equal(first.image, again.image) and first.label in cell.labels
