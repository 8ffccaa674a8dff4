"""Writes benchmarks/thresholds.toml from results of the reference model under several seeds.

    for s in 0 1 2 3 4 5 6 7 8 9; do pytest benchmarks -n 4 --seed $s --report-dir /tmp/cal$s; done
    python scripts/calibrate_thresholds.py /tmp/cal*/results.json > benchmarks/thresholds.toml

A cell's correct count at another seed is binomial, n samples at the model's true accuracy p. p is estimated
conservatively (the Wilson 95% lower bound of the pooled counts over the seeds), and the limits are set at that
binomial's TAIL quantile: an unchanged model falls below them in about one cell run in 1/TAIL, whatever the
seed (exact quantiles: the normal approximation is too thin-tailed for accuracies near 1). min_accuracy is the
Wilson lower bound of that quantile's accuracy (the gate compares lower bounds), min_retained that accuracy over
the reference (clean or source) cell's estimate. Where a limit would fall below SMALLEST (the reference is too
close to chance for n samples to tell it from worse), the cell gets no such limit, and with neither it reports as ungated: a limit near
0 is a gate that can hardly fail. Such cells are still gated by --baseline.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict

from scipy.stats import binom, binomtest

TAIL = 1e-5
SMALLEST = 0.05


def floor_to(value: float, step: float = 0.01) -> float:
    return max(0.0, math.floor(round(value / step, 6)) * step)


def wilson_low(correct: int, n: int) -> float:
    return float(binomtest(int(correct), n).proportion_ci(0.95, method="wilson").low)


def main(paths: list[str]) -> None:
    runs = [json.load(open(path)) for path in paths]
    seeds = sorted(run["seed"] for run in runs)
    (n,) = {run["samples_per_cell"] for run in runs}
    correct: dict[str, int] = defaultdict(int)
    cells = {}
    for run in runs:
        for cell in run["cells"]:
            cells[cell["id"]] = cell
            correct[cell["id"]] += cell["correct"]
    pooled = n * len(runs)
    p = {cell_id: wilson_low(count, pooled) for cell_id, count in correct.items()}
    mean = {cell_id: count / pooled for cell_id, count in correct.items()}
    clean = {c["scenario"]: p[c["id"]] for c in cells.values() if c["retained"] is None}

    print(f"""\
# Gates for the benchmark cells; format in docs/architecture.md. Each entry names cells by glob on the cell id
# family/scenario/shift/severity and sets limits; for each limit the last matching entry wins. A cell that no
# entry matches is reported as ungated. These limits describe the reference model: other models are gated
# against their own baseline (--baseline) or a thresholds file of their own (--thresholds).
#   min_accuracy: lowest allowed Wilson 95% lower bound of accuracy
#   min_retained: lowest allowed accuracy / accuracy of the scenario's clean or source cell
# Calibrated by scripts/calibrate_thresholds.py on the reference model, seeds {seeds}, {n} samples per cell:
# limits at the {TAIL:g} quantile of a conservative binomial fit (see the script). Use --samples {n} with them.
# Limits below {SMALLEST} are left out, cells without limits are ungated (see the script).
version = 1
models = ["reference"]
gate = [""")
    group = None
    order = sorted(cells, key=lambda i: (cells[i]["family"], cells[i]["scenario"], cells[i]["retained"] is not None,
                                         cells[i]["shift"], cells[i]["severity"] or 0))  # fmt: skip
    for cell_id in order:
        floor_count = int(binom.ppf(TAIL, n, p[cell_id]))
        floor = floor_count / n
        limits = []
        min_accuracy = floor_to(wilson_low(floor_count, n))
        if min_accuracy >= SMALLEST:
            limits.append(f"min_accuracy = {min_accuracy:.2f}")
        min_retained = floor_to(floor / clean[cells[cell_id]["scenario"]])
        if cells[cell_id]["retained"] is not None and min_retained >= SMALLEST:
            limits.append(f"min_retained = {min_retained:.2f}")
        if not limits:
            continue
        # a heading per scenario, and per corruption within a sweep
        cell = cells[cell_id]
        heading = f"{cell['family']}/{cell['scenario']}" + (f" {cell['shift']}" if cell["severity"] else "")
        if heading != group:
            group = heading
            print(f"  # {heading}")
        print(f'  {{ cells = "{cell_id}", {", ".join(limits)} }},  # mean accuracy {mean[cell_id]:.3f}')
    print("]")


if __name__ == "__main__":
    main(sys.argv[1:])
