"""`python -m ood_fixtures compare OLD.json NEW.json`: a markdown table of the cells that changed significantly,
for a pull request comment. Exit status 1 when a cell regressed (the same rule as the gate's baseline check)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ood_fixtures.baseline import ALPHA, Baseline, BaselineError, mcnemar_worse


def changes(old: Baseline, new: dict, tolerance: float) -> list[dict]:
    rows = []
    for cell in new["cells"]:
        pairs = [(s["sample_id"], bool(s["correct"])) for s in cell["samples"]]
        comparison = old.compare(cell["id"], pairs, tolerance)
        if comparison is None:
            continue
        p_better = mcnemar_worse(comparison.better, comparison.worse)
        if comparison.outcome != "pass" or p_better < ALPHA:
            rows.append({"id": cell["id"], "old": comparison.baseline_accuracy, "new": cell["accuracy"],
                         "comparison": comparison, "p_better": p_better})  # fmt: skip
    return sorted(rows, key=lambda r: r["comparison"].delta)


def markdown(rows: list[dict], old_path: str, new_path: str, tolerance: float) -> str:
    lines = [f"**OOD robustness: `{new_path}` vs `{old_path}`** (exact McNemar, alpha {ALPHA}, "
             f"tolerance {tolerance * 100:g} points)", ""]  # fmt: skip
    if not rows:
        return "\n".join(lines + ["No cell changed significantly."])
    lines += ["| cell | before | after | change | worse / better | p | verdict |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        c = row["comparison"]
        improved = c.outcome == "pass" and c.delta > 0
        verdict = "improved" if improved else c.outcome
        p_value = row["p_better"] if improved else c.p_value
        lines.append(f"| `{row['id']}` | {row['old']:.3f} | {row['new']:.3f} | {c.delta * 100:+.1f} | "
                     f"{c.worse} / {c.better} | {p_value:.2g} | {verdict} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ood_fixtures compare", description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the baseline results.json (previous release)")
    parser.add_argument("new", type=Path, help="the candidate's results.json")
    parser.add_argument("--regression-tolerance", type=float, default=2.0, metavar="POINTS")
    args = parser.parse_args(argv)
    try:
        new = Baseline.load(args.new, seed=None, samples=None, severity_table=None).document
        old = Baseline.load(args.old, new["seed"], new["samples_per_cell"], new["severity_table"])
        rows = changes(old, new, args.regression_tolerance / 100)
    except BaselineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(markdown(rows, str(args.old), str(args.new), args.regression_tolerance / 100))
    return 1 if any(r["comparison"].outcome == "fail" for r in rows) else 0
