"""Each test's record rides on its test report to the controller (xdist serialises report attributes): a cell as
`report.ood_cell`, a diagnosis row as `report.ood_diagnosis`, a property's finding as `report.ood_property` (each
with the test's id), with the model's description, the xdist worker (`report.ood_worker`) and, where pytest-html
runs, the HTML to show in the test's row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

from ood_fixtures.plugin.fixtures import DIAGNOSIS, FINDING, MODEL, RESULT


@dataclass(frozen=True)
class Carried:
    """One kind of record a test may leave: where it is stashed, the report attribute it travels as, and, where
    it has one, its HTML (`html` turns the record into a snippet; `html_attribute` keeps it for the summary)."""

    key: pytest.StashKey
    attribute: str
    with_model: bool = False
    html: Callable[[Any], str] | None = None
    html_attribute: str | None = None


def _examples_html(result: Any) -> str:
    from ood_fixtures.reports.html import examples_html

    return examples_html(result)


def _finding_html(finding: Any) -> str:
    from ood_fixtures.reports.html import finding_html

    return finding_html(finding)


CARRIED = (
    Carried(FINDING, "ood_property", html=_finding_html, html_attribute="ood_finding_html"),
    Carried(DIAGNOSIS, "ood_diagnosis", with_model=True),
    Carried(RESULT, "ood_cell", with_model=True, html=_examples_html, html_attribute="ood_examples"),
)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if report.when != "call":
        return report
    for carried in CARRIED:
        record = item.stash.get(carried.key, None)
        if record is None:
            continue
        # the test's id: the reports that `ood-fixtures merge` makes from results.json name the tests by it
        setattr(report, carried.attribute, {**record.to_dict(), "test": item.nodeid})
        report.ood_worker = getattr(item.config, "workerinput", {}).get("workerid", "main")
        if carried.with_model:
            report.ood_model = item.stash[MODEL].description()
        if carried.html is not None and item.config.pluginmanager.hasplugin("html"):
            from pytest_html import extras

            snippet = carried.html(record)  # also gathered into the summary (the gallery, the findings)
            setattr(report, carried.html_attribute, snippet)
            report.extras = [*getattr(report, "extras", []), extras.html(snippet)]
    return report
