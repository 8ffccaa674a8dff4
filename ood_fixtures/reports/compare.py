"""`ood-fixtures compare OLD.json NEW.json` (or `python -m ood_fixtures compare`): the release gate of NEW against
OLD as a markdown comment for a pull request: the aggregate gates first, then the cells that changed. The statistics
are the run's own (ood_fixtures/release.py); exit status 1 when the gate fails, 2 when the files cannot be
compared."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ood_fixtures.gating import release
from ood_fixtures.stats import paired
from ood_fixtures.gating.baseline import Baseline, BaselineError


def changed_cells(cells: list[dict[str, Any]], gate: release.RunGate) -> list[dict[str, Any]]:
    """Cells that regressed (Holm over the run), are inconclusive, or improved beyond the tolerance at the
    cell level; worst change first."""
    failed = set(gate.cells.holm_failed)
    rows = []
    for cell in cells:
        b = cell["gate"].get("baseline")
        if not b:
            continue
        n = cell["n"]
        gained = paired.drop_p_value(b["better"], b["worse"], n, gate.tolerance) < b["level"]
        verdict = ("regressed" if cell["id"] in failed else "inconclusive" if b["outcome"] == "inconclusive"
                   else "improved" if gained else None)  # fmt: skip
        if verdict:
            rows.append({"cell": cell, "comparison": b, "verdict": verdict,
                         "p_adjusted": gate.cells.p_adjusted.get(cell["id"])})  # fmt: skip
    return sorted(rows, key=lambda r: r["comparison"]["delta"])


def markdown(cells: list[dict[str, Any]], gate: release.RunGate, old_path: str, new_path: str) -> str:
    lines = [f"**OOD release gate: `{new_path}` vs `{old_path}`: {gate.outcome.upper()}** (tolerance "
             f"{gate.tolerance * 100:g} points; false-alarm rate {gate.budget.alpha:g} over the whole run)", ""]
    if gate.aggregates:
        lines += ["| aggregate | cells | baseline | now | change (95% CI) | Holm p | detects | verdict |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for a in sorted(gate.aggregates, key=lambda a: (a.outcome != "fail", a.p_adjusted)):
            lines.append(_aggregate_row(a))
        lines.append("")
    rows = changed_cells(cells, gate)
    c = gate.cells
    lines.append(f"Cells: {c.compared} compared (exact paired test of a drop beyond the tolerance, Holm over the "
                 f"cells); {len(c.holm_failed)} regressed, {len(c.inconclusive)} inconclusive.")  # fmt: skip
    if rows:
        lines += ["", "| cell | before | after | change (95% CI) | worse / better | p | Holm p | verdict |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for row in rows:
            b = row["comparison"]
            adjusted = f"{row['p_adjusted']:.2g}" if row["p_adjusted"] is not None else ""
            verdict = row["verdict"] + (f" (~{b['samples_to_decide']} samples would decide)"
                                        if b.get("samples_to_decide") else "")  # fmt: skip
            lines.append(f"| `{row['cell']['id']}` | {b['accuracy']:.3f} | {row['cell']['accuracy']:.3f} | "
                         f"{b['delta'] * 100:+.1f} ({b['ci_low'] * 100:+.1f} to {b['ci_high'] * 100:+.1f}) | "
                         f"{b['worse']} / {b['better']} | {b['p_value']:.2g} | {adjusted} | {verdict} |")  # fmt: skip
    if c.underpowered:
        advice = f"; `--samples {c.samples_to_detect}` would let each detect 10" if c.samples_to_detect else ""
        lines += ["", f"{len(c.underpowered)} of {c.compared} cells cannot detect a 10-point drop on their own"
                      f"{advice}. The aggregates above pool them."]  # fmt: skip
    return "\n".join(lines)


def _aggregate_row(a: release.AggregateGate) -> str:
    d = a.to_dict()
    if d["kind"] == "mce":
        change = f"mCE {d['value']:.3f} ({d['ci_low']:.3f} to {d['ci_high']:.3f}), limit {d['limit']:.3f}"
        detects = f"mCE > {d['detectable']:.2f}" if d["detectable"] is not None else ""
        before, now = "1.000", f"{d['value']:.3f}"
    else:
        change = f"{(d['value'] - d['baseline']) * 100:+.1f} ({d['ci_low'] * 100:+.1f} to {d['ci_high'] * 100:+.1f})"
        detects = f"drops > {d['detectable'] * 100:.1f}" if d["detectable"] is not None else ""
        before, now = f"{d['baseline']:.3f}", f"{d['value']:.3f}"
    verdict = "**regressed**" if a.outcome == "fail" else "pass"
    return (f"| `{d['id']}` | {d['cells']} | {before} | {now} | {change} | {d['p_adjusted']:.2g} | {detects} "
            f"| {verdict} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ood-fixtures compare", description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the baseline results.json (previous release)")
    parser.add_argument("new", type=Path, help="the candidate's results.json")
    parser.add_argument("--regression-tolerance", type=float, default=2.0, metavar="POINTS")
    parser.add_argument("--gate-alpha", type=float, default=release.ALPHA, metavar="P",
                        help="the run's chance of a false failure (default: 0.05)")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        new = Baseline.load(args.new, seed=None, samples=None, severity_table=None).document
        old = Baseline.load(args.old, new["seed"], new["samples_per_cell"], new["severity_table"]).document
        cells, gate = release.compare_documents(new, old, args.regression_tolerance / 100, args.gate_alpha)
    except BaselineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(markdown(cells, gate, str(args.old), str(args.new)))
    return 1 if gate.outcome == "fail" else 0
