"""results.json's collector: every cell's result, merged across xdist workers, written at the end of the run.

Workers attach each cell's record to its test report (`report.ood_cell`), which xdist serialises to the
controller with the report; the controller keeps them here and writes one file. No temporary per-worker files,
and a run that is interrupted still writes the cells it finished.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ood_fixtures.gating import release
from ood_fixtures.reports import document
from ood_fixtures.reports.timing import Timing


class ResultsCollector:
    """A plugin on the controller (or the only process, without xdist)."""

    def __init__(self, path: Path, run: dict[str, Any], baseline: dict[str, Any] | None = None,
                 copy_to: Path | None = None, run_gate: bool = True) -> None:  # fmt: skip
        self.path = path
        self.run = run
        self.baseline = baseline
        self.gates_run = run_gate  # False in a --shard part: the run-level gate is the merged whole's
        self.copy_to = copy_to  # --update-baseline: the baseline file to replace with this run
        self.model: dict[str, Any] | None = None
        self.cells: dict[str, dict[str, Any]] = {}
        self.properties: dict[str, dict[str, Any]] = {}
        self.diagnosis: dict[str, dict[str, Any]] = {}
        self.timing = Timing()
        self._gate: tuple[int, release.RunGate | None] = (-1, None)

    def run_gate(self) -> release.RunGate | None:
        """The run-level gate against the baseline over the cells so far; None without a baseline."""
        if self.baseline is None or not self.cells or not self.gates_run:
            return None
        if self._gate[0] != len(self.cells):
            cells = sorted(self.cells.values(), key=document.cell_order)
            budget = release.Budget(self.run["gate_alpha"], len(cells))
            gate = release.decide(cells, self.baseline, self.run["regression_tolerance"], budget, self.run["seed"])
            self._gate = (len(self.cells), gate)
        return self._gate[1]

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.timing.add(report)
        if report.when != "call":
            return
        cell = getattr(report, "ood_cell", None)
        if cell is not None:
            self.cells[cell["id"]] = cell
            self.model = self.model or getattr(report, "ood_model", None)
        finding = getattr(report, "ood_property", None)
        if finding is not None:
            self.properties[finding["property"]] = finding
        row = getattr(report, "ood_diagnosis", None)
        if row is not None:
            self.diagnosis[row["id"]] = row
            self.model = self.model or getattr(report, "ood_model", None)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.diagnosis:
            verdicts = Counter(row["verdict"] for row in self.diagnosis.values())
            terminalreporter.write_sep("-", f"diagnosis: {len(self.diagnosis)} rows: " + ", ".join(
                f"{count} {verdict}" for verdict, count in verdicts.most_common()))  # fmt: skip
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

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # a --shard part writes its file even when it ran no test of the suite: the merge needs every part
        if self.cells or self.properties or self.diagnosis or self.run.get("shard"):
            written = self.document()
            document.write(self.path, written)
            if self.copy_to is not None:
                document.write(self.copy_to, written)

    def document(self, timing: dict[str, Any] | None = None) -> dict[str, Any]:
        """results.json's content; `timing` replaces this process's (`ood-fixtures merge` adds up the shards')."""
        timing = self.timing.to_dict() if timing is None else timing
        return document.build(self.run, self.model, self.cells, self.properties, self.diagnosis, self.baseline,
                              self.run_gate(), timing)  # fmt: skip
