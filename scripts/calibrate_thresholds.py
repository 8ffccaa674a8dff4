"""Writes benchmarks/thresholds.toml from results of the reference model under several seeds.

    for s in 0 1 2; do pytest benchmarks -n 4 --seed $s --report-dir /tmp/cal$s; done
    python scripts/calibrate_thresholds.py /tmp/cal*/results.json > benchmarks/thresholds.toml

Per cell, over the seeds: min_accuracy = MARGIN x the lowest Wilson lower bound, and min_retained = MARGIN x the
lowest retained, rounded down to 0.01. A proportional margin leaves room for other seeds and machines (a
reference that passes only on seed 0 is no gate) and still leaves a gate that can fail on cells where the
reference itself is near chance, which an absolute margin would zero out.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict

MARGIN = 0.85


def floor_to(value: float, step: float = 0.01) -> float:
    return max(0.0, math.floor(round(value / step, 6)) * step)


def main(paths: list[str]) -> None:
    runs = [json.load(open(path)) for path in paths]
    seeds = sorted(run["seed"] for run in runs)
    samples = sorted({run["samples_per_cell"] for run in runs})
    worst_low: dict[str, float] = defaultdict(lambda: 1.0)
    worst_kept: dict[str, float] = defaultdict(lambda: math.inf)
    cells = {}
    for run in runs:
        for cell in run["cells"]:
            cells[cell["id"]] = cell
            worst_low[cell["id"]] = min(worst_low[cell["id"]], cell["ci_low"])
            if cell["retained"] is not None:
                worst_kept[cell["id"]] = min(worst_kept[cell["id"]], cell["retained"])

    print(f"""\
# Gates for the benchmark cells; format in docs/architecture.md. Each entry names cells by glob on the cell id
# family/scenario/shift/severity and sets limits; for each limit the last matching entry wins. A cell that no
# entry matches is reported as ungated.
#   min_accuracy: lowest allowed Wilson 95% lower bound of accuracy
#   min_retained: lowest allowed accuracy / accuracy of the clean cell
# Calibrated by scripts/calibrate_thresholds.py on the reference model, seeds {seeds}, {samples} samples per
# cell: each limit is {MARGIN} x the worst value seen, rounded down to 0.01. Use --samples 100 or more with it.
version = 1
gate = [""")
    shift = None
    for cell_id in sorted(cells, key=lambda i: (cells[i]["shift"] != "clean", cells[i]["shift"], cells[i]["severity"])):
        if cells[cell_id]["shift"] != shift:
            shift = cells[cell_id]["shift"]
            print(f"  # {shift}")
        limits = [f"min_accuracy = {floor_to(MARGIN * worst_low[cell_id]):.2f}"]
        if math.isfinite(worst_kept[cell_id]):
            limits.append(f"min_retained = {floor_to(MARGIN * worst_kept[cell_id]):.2f}")
        print(f'  {{ cells = "{cell_id}", {", ".join(limits)} }},')
    print("]")


if __name__ == "__main__":
    main(sys.argv[1:])
