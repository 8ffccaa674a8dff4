"""Does the gate flake? Reruns the corruption benchmark over many seeds, in one process, with the shipped model.

    python scripts/reliability.py [--seeds 20] [--first-seed 100] [--samples 100] [--family noise]

For each seed it reports:
1. unchanged model: the reference model against the shipped thresholds, and against a baseline of itself
   (a rerun of the same model and seed): every cell must pass;
2. regressed model: the same predictions, except that in the cells of one corruption group a random 10 to 15
   accuracy points of right answers turn wrong; against the reference baseline every cell of that group must
   fail and every other cell must pass.
The regression is applied to predictions rather than weights: fine-tuning a copy to misread one group moved
every cell (clean -5 points; scripts/degrade_reference.py makes such a copy), so "cells it did not touch" would
not exist. Seeds default to 100 and up, away from the seeds the thresholds were calibrated on (0-2).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench import corruption_module  # scripts/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generators.corruptions import CORRUPTIONS  # noqa: E402
from ood_fixtures import adapters, gate  # noqa: E402
from ood_fixtures.adapters import Settings  # noqa: E402
from ood_fixtures.baseline import Baseline  # noqa: E402
from ood_fixtures.evaluate import Gating, predict, score  # noqa: E402


def benchmark_cells():
    module = corruption_module()
    return module.CLEAN, list(module.CORRUPTED.values())


def regress(samples, rng):
    """Turns 10 to 15 points' worth of right answers wrong (as many as there are, if fewer)."""
    right = [i for i, s in enumerate(samples) if s.correct]
    count = min(len(right), math.ceil(len(samples) * rng.uniform(0.10, 0.15)))
    flipped = set(rng.choice(right, size=count, replace=False).tolist()) if count else set()
    return [replace(s, prediction="(regressed)") if i in flipped else s for i, s in enumerate(samples)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--family", default="noise", help="the corruption group the regression hits")
    parser.add_argument("--tolerance", type=float, default=2.0, help="regression tolerance, accuracy points")
    args = parser.parse_args()

    model = adapters.create("reference", Settings(batch_size=128))
    model.spec = "reference"
    thresholds = gate.load(ROOT / "benchmarks" / "thresholds.toml")
    clean, corrupted = benchmark_cells()
    family = {c.id for c in corrupted if CORRUPTIONS[c.shift].group == args.family}
    totals = {"threshold_failures": 0, "self_baseline_failures": 0, "regressed_caught": 0, "regressed_missed": 0,
              "untouched_failed": 0}  # fmt: skip
    started = time.time()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        rng = np.random.default_rng(seed)
        runs = {}
        for cell in [clean, *corrupted]:
            samples, _ = predict(cell, model, seed, args.samples)
            runs[cell.id] = samples
        reference_accuracy = np.mean([s.correct for s in runs[clean.id]])
        document = {"schema": 1, "seed": seed, "samples_per_cell": args.samples, "severity_table": 1,
                    "cells": [{"id": i, "samples": [s.to_dict() for s in ss]} for i, ss in runs.items()]}  # fmt: skip
        baseline = Baseline(Path("(in memory)"), document)
        failed_cells = []
        for cell in [clean, *corrupted]:
            reference = None if cell is clean else reference_accuracy
            limits = thresholds.limits_for(cell.id, "reference")
            alone = score(cell, runs[cell.id], [], reference, Gating(limits))
            totals["threshold_failures"] += alone.verdict.outcome == "fail"
            if alone.verdict.outcome == "fail":
                failed_cells.append(cell.id)
            rerun = score(cell, runs[cell.id], [], reference, Gating({}, baseline, args.tolerance / 100))
            totals["self_baseline_failures"] += rerun.verdict.outcome != "pass"
            regressed_samples = regress(runs[cell.id], rng) if cell.id in family else runs[cell.id]
            regressed = score(cell, regressed_samples, [], reference, Gating({}, baseline, args.tolerance / 100))
            if cell.id in family:
                totals["regressed_caught" if regressed.verdict.outcome == "fail" else "regressed_missed"] += 1
            else:
                totals["untouched_failed"] += regressed.verdict.outcome != "pass"
        print(f"seed {seed}: threshold failures {failed_cells or 'none'}", flush=True)
    cells = 1 + len(corrupted)
    print(f"\n{args.seeds} seeds x {cells} cells, {args.samples} samples each, {time.time() - started:.0f}s")
    print(f"unchanged model, shipped thresholds:   {totals['threshold_failures']} failures "
          f"of {args.seeds * cells} cell runs")
    print(f"unchanged model vs its own baseline:   {totals['self_baseline_failures']} failures")
    print(f"regressed '{args.family}' cells caught:     {totals['regressed_caught']} of "
          f"{totals['regressed_caught'] + totals['regressed_missed']}")
    print(f"untouched cells failed:                {totals['untouched_failed']} of {args.seeds * (cells - len(family))}")


if __name__ == "__main__":
    main()
