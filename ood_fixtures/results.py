"""results.json: every cell's result, merged across xdist workers, written atomically at the end of the run.

Workers attach each cell's record to its test report (`report.ood_cell`), which xdist serialises to the
controller with the report; the controller keeps them here and writes one file. No temporary per-worker files,
and a run that is interrupted still writes the cells it finished.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ood_fixtures.summary import summarize

SCHEMA = 1


class ResultsCollector:
    """A plugin on the controller (or the only process, without xdist)."""

    def __init__(self, path: Path, run: dict[str, Any], baseline: dict[str, Any] | None = None,
                 copy_to: Path | None = None) -> None:  # fmt: skip
        self.path = path
        self.run = run
        self.baseline = baseline
        self.copy_to = copy_to  # --update-baseline: the baseline file to replace with this run
        self.model: dict[str, Any] | None = None
        self.cells: dict[str, dict[str, Any]] = {}
        self.properties: dict[str, dict[str, Any]] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        cell = getattr(report, "ood_cell", None)
        if cell is not None:
            self.cells[cell["id"]] = cell
            self.model = self.model or getattr(report, "ood_model", None)
        finding = getattr(report, "ood_property", None)
        if finding is not None:
            self.properties[finding["property"]] = finding

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.cells:
            return
        outcomes = Counter(cell["gate"]["outcome"] for cell in self.cells.values())
        counts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        terminalreporter.write_sep("-", f"OOD cells: {counts}; results in {self.path}")
        if outcomes.get("ungated"):
            ungated = sorted(cell_id for cell_id, cell in self.cells.items() if cell["gate"]["outcome"] == "ungated")
            why = (f"{self.run['thresholds']} sets no limits for them" if self.run["thresholds_cover_model"]
                   else f"no thresholds entry names --model {self.run['model_spec']}")  # fmt: skip
            terminalreporter.write_line(
                f"{len(ungated)} cells are ungated ({why}, and no --baseline): {', '.join(ungated[:4])}"
                f"{', ...' if len(ungated) > 4 else ''}; gate them with --baseline FILE or --thresholds FILE"
            )
        if outcomes.get("inconclusive"):
            terminalreporter.write_line(
                f"{outcomes['inconclusive']} cells are inconclusive against the baseline (too few samples to "
                f"decide; results.json says how many would); --strict-gate fails them"
            )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.cells or self.properties:
            document = self.document()
            write_atomically(self.path, document)
            if self.copy_to is not None:
                write_atomically(self.copy_to, document)

    def document(self) -> dict[str, Any]:
        cells = sorted(self.cells.values(), key=_cell_order)
        properties = [self.properties[name] for name in sorted(self.properties)]
        summary = summarize(cells, self.baseline)
        boundaries = {p["corruption"]: p["boundary"] for p in properties if "boundary" in p}
        if boundaries:
            summary["robustness_boundary"] = boundaries  # per corruption; null: beyond severity 5
        return {"schema": SCHEMA, "model": self.model or {}, **self.run,
                "summary": summary, "cells": cells, "properties": properties}  # fmt: skip


def _cell_order(cell: dict[str, Any]) -> tuple:
    # the reference (clean or source) cell of a scenario first: it has no `retained`
    return (cell["family"], cell["scenario"], cell["retained"] is not None, cell["shift"], cell["severity"] or 0)


def write_atomically(path: Path, document: dict[str, Any]) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1)
            out.write("\n")
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def read(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
