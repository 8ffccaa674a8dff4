"""The scenario tables: every cell id unique, every target referencing its source cell, every family rendering
what it promises."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from generators import domains
from ood_fixtures.catalog.cells import Cell, domain_shift

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")  # the plugin registers them
MODULES = ["test_corruptions", "test_synthetic", "test_domains", "test_medical", "test_molecular", "test_icl",
           "test_diagnosis"]


def cells_of(name: str) -> list[Cell]:
    # Loaded by path under another name: tests/ has modules of the same names (test_domains.py).
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = []
    for value in vars(module).values():
        if isinstance(value, Cell):
            found.append(value)
        elif isinstance(value, list):
            found += [getattr(v, "values", [v])[0] for v in value if isinstance(getattr(v, "values", [v])[0], Cell)]
    return found


def test_domain_shift_puts_the_source_first_and_references_it():
    cells = domain_shift("natural", "objects", "photo", ("sketch", "cartoon"), domains.domain)
    assert [c.id for c in cells] == ["natural/objects/photo", "natural/objects/sketch", "natural/objects/cartoon"]
    assert cells[0].reference is None and all(c.reference is cells[0] and c.transform is None for c in cells[1:])




@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_unique_ids_and_references_within_its_scenario(name):
    cells = cells_of(name)
    assert cells and len({c.id for c in cells}) == len({id(c) for c in cells})
    for cell in cells:
        if cell.reference is not None:
            assert cell.reference.reference is None and cell.reference.scenario == cell.scenario
            assert cell.reference.labels == cell.labels


@pytest.mark.parametrize("name", MODULES[1:])
def test_every_cell_renders_labelled_images_the_same_way_twice(name):
    for cell in cells_of(name):
        first, again = cell.render(0, 5), cell.render(0, 5)
        assert first.image.shape == (64, 64, 3) and first.image.dtype == np.uint8
        assert np.array_equal(first.image, again.image) and first.label in cell.labels
