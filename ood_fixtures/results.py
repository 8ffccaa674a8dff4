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

from ood_fixtures import icl, release
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
        self.diagnosis: dict[str, dict[str, Any]] = {}
        self._gate: tuple[int, release.RunGate | None] = (-1, None)

    def run_gate(self) -> release.RunGate | None:
        """The run-level gate against the baseline over the cells so far; None without a baseline."""
        if self.baseline is None or not self.cells:
            return None
        if self._gate[0] != len(self.cells):
            cells = sorted(self.cells.values(), key=_cell_order)
            budget = release.Budget(self.run["gate_alpha"], len(cells))
            gate = release.decide(cells, self.baseline, self.run["regression_tolerance"], budget, self.run["seed"])
            self._gate = (len(self.cells), gate)
        return self._gate[1]

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
        if self.cells or self.properties or self.diagnosis:
            document = self.document()
            write_atomically(self.path, document)
            if self.copy_to is not None:
                write_atomically(self.copy_to, document)

    def document(self) -> dict[str, Any]:
        cells = sorted(self.cells.values(), key=_cell_order)
        properties = [self.properties[name] for name in sorted(self.properties)]
        summary = summarize(cells, self.baseline)
        gate = self.run_gate()
        if gate is not None:
            summary = {"release_gate": gate.to_dict(), **summary}
            cells = [_with_adjusted_p(c, gate.cells.p_adjusted) for c in cells]
        boundaries = {p["corruption"]: p["boundary"] for p in properties if "boundary" in p}
        if boundaries:
            summary["robustness_boundary"] = boundaries  # per corruption; null: beyond severity 5
        curves = icl_curves(cells)
        if curves:
            summary["icl"] = {"method": icl_method(self.model), "curves": curves, "effects": icl_effects(curves)}
        diagnosis = [self.diagnosis[key] for key in sorted(self.diagnosis, key=lambda k: _cell_order(self.diagnosis[k]))]
        return {"schema": SCHEMA, "model": self.model or {}, **self.run, "summary": summary, "cells": cells,
                "properties": properties, "diagnosis": diagnosis}  # fmt: skip


def icl_curves(cells: list[dict[str, Any]]) -> dict[str, dict[str, list[list[float]]]]:
    """Per in-context scenario, per setting: [examples, accuracy] points, from the zero-shot cell (or the
    setting's own zero-example cell, which the spurious setting has)."""
    curves: dict[str, dict[str, list[list[float]]]] = {}
    zero = {c["scenario"]: c["accuracy"] for c in cells if c["family"] == "icl" and c["shift"] == "none"}
    for c in cells:
        if c["family"] == "icl" and c["shift"] != "none":
            line = curves.setdefault(c["scenario"], {}).setdefault(c["shift"], [])
            if not line and c["severity"] and c["scenario"] in zero:
                line.append([0, zero[c["scenario"]]])
            line.append([c["severity"], c["accuracy"]])
    return curves


def icl_effects(curves: dict[str, dict[str, list[list[float]]]]) -> dict[str, dict[str, float]]:
    """Per scenario, at the largest number of examples, in accuracy: what target and source examples add to
    zero-shot; skewed and spurious examples against balanced target ones (negative: they hurt; the spurious
    cells' queries are framed too); and what the framed examples add to framed queries."""
    effects = {}
    for scenario, lines in curves.items():
        def at(setting: str, index: int) -> float | None:
            line = lines.get(setting)
            return line[index][1] if line else None

        target = at("target", -1)
        found = {
            "target_gain": _minus(target, at("target", 0)),
            "source_gain": _minus(at("source", -1), at("source", 0)),
            "skew_change": _minus(at("skewed", -1), target),
            "spurious_change": _minus(at("spurious", -1), target),
            "spurious_gain": _minus(at("spurious", -1), at("spurious", 0)),
        }
        effects[scenario] = {k: round(v, 4) for k, v in found.items() if v is not None}
    return effects


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def icl_method(model: dict[str, Any] | None) -> str | None:
    return icl.method((model or {}).get("capabilities", []))


def _with_adjusted_p(cell: dict[str, Any], adjusted: dict[str, float]) -> dict[str, Any]:
    """The cell with its Holm-adjusted p-value over the run, beside the p-value its own test used."""
    if cell["id"] not in adjusted:
        return cell
    comparison = {**cell["gate"]["baseline"], "p_adjusted": adjusted[cell["id"]]}
    return {**cell, "gate": {**cell["gate"], "baseline": comparison}}


def _cell_order(cell: dict[str, Any]) -> tuple:
    # the reference (clean or source) cell of a scenario first (diagnosis rows name none)
    return (cell["family"], cell["scenario"], cell.get("reference") is not None, cell["shift"], cell["severity"] or 0)


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
