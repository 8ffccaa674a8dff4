"""results.json: the document built from a run's records (cells, properties, diagnosis rows), its order and its
run-level summary (per family figures, the release gate, robustness boundaries, in-context curves), and how it is
written. The schema is in docs/architecture.md."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ood_fixtures import RESULTS_SCHEMA, __version__
from ood_fixtures.evaluation.incontext import method
from ood_fixtures.gating import release
from ood_fixtures.reports.summary import summarize

MODE = 0o666  # less the umask, as for any file the user's programs write: CI artefacts are read by other users


def build(run: dict[str, Any], model: dict[str, Any] | None, cells: dict[str, dict[str, Any]],
          properties: dict[str, dict[str, Any]], diagnosis: dict[str, dict[str, Any]],
          baseline: dict[str, Any] | None, gate: release.RunGate | None,
          timing: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The results document. `gate` is the run-level release gate over these cells (None without a baseline);
    `timing`, where the run's time went (`ood_fixtures.reports.timing`)."""
    ordered = sorted(cells.values(), key=cell_order)
    findings = [properties[name] for name in sorted(properties)]
    summary = summarize(ordered, baseline)
    if gate is not None:
        summary = {"release_gate": gate.to_dict(), **summary}
        ordered = [_with_adjusted_p(c, gate.cells.p_adjusted) for c in ordered]
    boundaries = {p["corruption"]: p["boundary"] for p in findings if "boundary" in p}
    if boundaries:
        summary["robustness_boundary"] = boundaries  # per corruption; null: beyond severity 5
    curves = icl_curves(ordered)
    if curves:
        summary["icl"] = {"method": method((model or {}).get("capabilities", [])), "curves": curves,
                          "effects": icl_effects(curves)}  # fmt: skip
    rows = sorted(diagnosis.values(), key=cell_order)
    return {"schema": RESULTS_SCHEMA, "suite_version": __version__, "model": model or {}, **run, "summary": summary,
            "timing": timing or {}, "cells": ordered, "properties": findings, "diagnosis": rows}  # fmt: skip


def cell_order(record: dict[str, Any]) -> tuple:
    """Cells by (family, scenario, reference cell first, shift, severity); diagnosis rows name no reference."""
    return (record["family"], record["scenario"], record.get("reference") is not None, record["shift"],
            record["severity"] or 0)  # fmt: skip


def icl_curves(cells: list[dict[str, Any]]) -> dict[str, dict[str, list[list[float]]]]:
    """Per in-context scenario, per setting: [examples, accuracy] points, from the cell's zero-shot reference (or
    the setting's own zero-example cell, which the spurious setting has)."""
    accuracy = {c["id"]: c["accuracy"] for c in cells}
    curves: dict[str, dict[str, list[list[float]]]] = {}
    for c in cells:
        if c["family"] == "icl" and c["reference"] is not None:
            line = curves.setdefault(c["scenario"], {}).setdefault(c["shift"], [])
            if not line and c["severity"] and c["reference"] in accuracy:
                line.append([0, accuracy[c["reference"]]])
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


def _with_adjusted_p(cell: dict[str, Any], adjusted: dict[str, float]) -> dict[str, Any]:
    """The cell with its Holm-adjusted p-value over the run, beside the p-value its own test used."""
    if cell["id"] not in adjusted:
        return cell
    comparison = {**cell["gate"]["baseline"], "p_adjusted": adjusted[cell["id"]]}
    return {**cell, "gate": {**cell["gate"], "baseline": comparison}}


def write(path: Path, document: dict[str, Any]) -> None:
    """Atomically (readers see the old file or the new one, never half of one), readable as any file the user
    writes: a temporary file is created private (0600), so it gets the user's usual mode before it is renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=1)
            out.write("\n")
        os.chmod(temp, MODE & ~_umask())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def _umask() -> int:
    # The process's umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
