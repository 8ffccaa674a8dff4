"""Parametrizing benchmark tests over the run's catalog: `@cells(table)` is `pytest.mark.parametrize` whose
values are read from the run's `Catalog` (its image size and its datasets) when the test is collected, because
neither is known when the module is imported.

    @pytest.mark.natural
    @cells(lambda catalog: catalog.domain_shifts["natural", "objects"], ids=lambda cell: cell.shift)
    def test_domain(cell, evaluate): ...

A table yields cells (or `pytest.param`s of cells, for marks of their own). Every xdist worker builds the same
catalog from the same options, so all collect the same ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

import pytest

from ood_fixtures.plugin.hooks import activate

if TYPE_CHECKING:
    from ood_fixtures.catalog.scenarios import Catalog

MARKER = "ood_cells"


def cells(table: Callable[[Catalog], Iterable[Any]], ids: Callable[[Any], str] | None = None,
          argname: str = "cell", empty: str = "no cells") -> pytest.MarkDecorator:  # fmt: skip
    """Parametrize `argname` over `table(catalog)` of the run's catalog, with `ids` as pytest.mark.parametrize's;
    an empty table is one skipped test that says why (`empty`)."""
    return getattr(pytest.mark, MARKER)(table=table, ids=ids, argname=argname, empty=empty)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(table, ids, argname, empty): parametrize over the run's catalog")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for marker in metafunc.definition.iter_markers(MARKER):
        argname, empty = marker.kwargs["argname"], marker.kwargs["empty"]
        values = list(marker.kwargs["table"](activate(metafunc.config).catalog))
        if not values:
            skip = pytest.mark.skip(reason=empty)
            metafunc.parametrize(argname, [pytest.param(None, marks=skip, id="none")])
            continue
        metafunc.parametrize(argname, values, ids=marker.kwargs["ids"])
