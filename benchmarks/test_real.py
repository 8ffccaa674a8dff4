"""The study's real datasets, read from disk: `--data-root DIR` with DIR/<dataset>/<domain>/<class>/<image>
(the DomainBed layout; `ood_fixtures/datasets.py` holds the registry of the study's 20 datasets).

One cell per (dataset, domain) found on disk, asking among the dataset's classes in natural text. A zero-shot
model has no training domain here, so no cell is a reference: every domain is reported, and the family's worst
cell named. Without --data-root, each dataset is one skipped test that says where it is expected. Select with
-m real.
"""

import pytest

from ood_fixtures.plugin import assert_gate, real_datasets
from ood_fixtures.catalog.cells import Cell


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The table depends on what is on disk, so it is built here rather than at import.
    found = real_datasets(metafunc.config)
    if found is None:
        params = [pytest.param(None, marks=pytest.mark.skip(reason="no --data-root DIR given"), id="no-data-root")]
    else:
        sources, missing = found
        params = [pytest.param(Cell("real", s.dataset, s.domain, None, s), id=s.name) for s in sources]
        params += [pytest.param(None, marks=pytest.mark.skip(reason=line), id=line.split(":")[0] + "-missing")
                   for line in missing]  # fmt: skip
    metafunc.parametrize("cell", params)


@pytest.mark.real
def test_dataset(cell, evaluate):
    assert_gate(evaluate(cell))
