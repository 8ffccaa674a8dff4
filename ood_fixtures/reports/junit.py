"""What junit.xml records about each cell and diagnosis row: testcase properties (pytest's `user_properties`),
which CI systems show beside the test; and junit.xml written from a results.json (`ood-fixtures merge`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

Properties = list[tuple[str, object]]


def cell_properties(cell: dict[str, Any]) -> Properties:
    """Of a cell's results.json record."""
    found: Properties = [
        ("accuracy", f"{cell['accuracy']:.4f}"), ("n", cell["n"]), ("ci_low", f"{cell['ci_low']:.4f}"),
        ("ci_high", f"{cell['ci_high']:.4f}"),
        ("retained", "" if cell["retained"] is None else f"{cell['retained']:.4f}"), ("unparsed", cell["unparsed"]),
        ("gate", cell["gate"]["outcome"]),
    ]  # fmt: skip
    c = cell["gate"].get("baseline")
    if c:
        found += [("baseline_accuracy", f"{c['accuracy']:.4f}"), ("baseline_delta", f"{c['delta']:+.4f}"),
                  ("p_value", f"{c['p_value']:.4g}")]  # fmt: skip
    return found


def row_properties(row: dict[str, Any]) -> Properties:
    """Of a diagnosis row's results.json record."""
    return [("zero_shot", f"{row['zero_shot']:.4f}"), ("probe", f"{row['probe']:.4f}"),
            ("mapping_gap", f"{row['mapping_gap']:+.4f}"), ("verdict", row["verdict"]),
            ("gate", row["gate"]["outcome"])]  # fmt: skip


def write(document: dict[str, Any], gate: Any, path: Path) -> list[pytest.TestReport]:
    """junit.xml of a results document: a test per record (named by the test that left it), then the release
    gate's (`gate`, a RunGate, or None without a baseline). Written by pytest's own JUnit writer, so that the file
    reads as a run's does; returns the reports it wrote."""
    from _pytest.junitxml import LogXML  # pytest's writer: the same format as a run's file (no public API)

    from ood_fixtures.reports.release import reports as gate_reports

    made = [_report(c, c["gate"]["outcome"] == "fail", "; ".join(c["gate"]["reasons"]), cell_properties(c))
            for c in document["cells"]]  # fmt: skip
    made += [_report(p, not p["passed"], p["summary"], []) for p in document["properties"]]
    made += [_report(r, r["gate"]["outcome"] == "fail", "; ".join(r["gate"]["reasons"]), row_properties(r))
             for r in document["diagnosis"]]  # fmt: skip
    made += gate_reports(gate) if gate is not None else []
    xml = LogXML(str(path), None, family="xunit2")
    xml.pytest_sessionstart()
    for report in made:  # pytest's writer takes a test's properties from its teardown report
        xml.pytest_runtest_logreport(report)
        xml.pytest_runtest_logreport(pytest.TestReport(report.nodeid, report.location, {}, "passed", None,
                                                       "teardown", user_properties=report.user_properties))
    xml.pytest_sessionfinish()
    return made


def _report(record: dict[str, Any], failed: bool, reason: str, properties: Properties) -> pytest.TestReport:
    nodeid = record.get("test") or record.get("id") or record["property"]
    name = nodeid.rpartition("::")[2]
    return pytest.TestReport(nodeid, (nodeid.partition("::")[0], None, name), {}, "failed" if failed else "passed",
                             f"{record.get('id', record.get('property'))}: {reason}" if failed else None, "call",
                             user_properties=properties)  # fmt: skip
