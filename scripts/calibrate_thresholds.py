"""Writes benchmarks/thresholds.toml from results of the reference model under several seeds.

    for s in 0 1 2 3 4 5 6 7 8 9; do pytest benchmarks -n 4 --seed $s --report-dir /tmp/cal$s; done
    python scripts/calibrate_thresholds.py /tmp/cal*/results.json > benchmarks/thresholds.toml

Runs may cover different cells (a module rerun alone, under fewer seeds) and different models (each run's
`model_spec`): a cell is pooled over the runs that hold it, and with several models every entry names its own.

A cell's correct count at another seed is binomial, n samples at the model's true accuracy p. p is estimated
conservatively (the Wilson 95% lower bound of the pooled counts over the seeds), and the limits are set at that
binomial's TAIL quantile: an unchanged model falls below them in about one cell run in 1/TAIL, whatever the
seed (exact quantiles: the normal approximation is too thin-tailed for accuracies near 1). min_accuracy is the
Wilson lower bound of that quantile's accuracy (the gate compares lower bounds), min_retained that accuracy over
the reference (clean or source) cell's estimate. Where a limit would fall below SMALLEST (the reference is too
close to chance for n samples to tell it from worse), the cell gets no such limit, and with neither it reports as
ungated: a limit near 0 is a gate that can hardly fail. Such cells are still gated by --baseline.

Diagnosis rows get min_probe_accuracy the same way (the probe's cross-validated answers taken as binomial), and
max_mapping_gap at the pooled gap plus the TAIL quantile of a normal with the variance of both accuracies' binomials
(an upper bound: the two are measured on the same images), when that is below 1.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict

from scipy.stats import binom, binomtest, norm

TAIL = 1e-5
SMALLEST = 0.05


def floor_to(value: float, step: float = 0.01) -> float:
    return max(0.0, math.floor(round(value / step, 6)) * step)


def wilson_low(correct: int, n: int) -> float:
    return float(binomtest(int(correct), n).proportion_ci(0.95, method="wilson").low)


def main(paths: list[str]) -> None:
    runs = [json.load(open(path)) for path in paths]
    models = sorted({run["model_spec"] for run in runs})
    (n,) = {run["samples_per_cell"] for run in runs}
    seeds = {model: sorted({run["seed"] for run in runs if run["model_spec"] == model}) for model in models}
    print(f"""\
# Gates for the benchmark cells; format in docs/architecture.md. Each entry names cells by glob on the cell id
# family/scenario/shift/severity and sets limits; for each limit the last matching entry wins. A cell that no
# entry matches is reported as ungated. These limits describe the reference models: other models are gated
# against their own baseline (--baseline) or a thresholds file of their own (--thresholds).
#   min_accuracy: lowest allowed Wilson 95% lower bound of accuracy
#   min_retained: lowest allowed accuracy / accuracy of the scenario's clean or source cell
#   min_probe_accuracy, max_mapping_gap: diagnosis rows (linear probe; probe minus zero-shot accuracy)
# Calibrated by scripts/calibrate_thresholds.py, {n} samples per cell, seeds {seeds}:
# limits at the {TAIL:g} quantile of a conservative binomial fit (see the script). Use --samples {n} with them.
# Limits below {SMALLEST} are left out, cells without limits are ungated (see the script).
version = 1
models = {json.dumps(models)}
gate = [""")
    for model in models:
        own = [run for run in runs if run["model_spec"] == model]
        tag = f'models = "{model}", ' if len(models) > 1 else ""
        if len(models) > 1:
            print(f"  # ---- {model} ----")
        cell_entries(own, n, tag)
        diagnosis_entries(own, n, tag)
        property_entries(own, tag)
    print("]")


def cell_entries(runs: list[dict], n: int, tag: str) -> None:
    correct: dict[str, int] = defaultdict(int)
    counted: dict[str, int] = defaultdict(int)
    cells = {}
    for run in runs:
        for cell in run["cells"]:
            cells[cell["id"]] = cell
            correct[cell["id"]] += cell["correct"]
            counted[cell["id"]] += cell["n"]
    p = {cell_id: wilson_low(count, counted[cell_id]) for cell_id, count in correct.items()}
    mean = {cell_id: count / counted[cell_id] for cell_id, count in correct.items()}
    clean = {(c["family"], c["scenario"]): p[c["id"]] for c in cells.values() if c["retained"] is None}
    group = None
    order = sorted(cells, key=lambda i: (cells[i]["family"], cells[i]["scenario"], cells[i]["retained"] is not None,
                                         cells[i]["shift"], cells[i]["severity"] or 0))  # fmt: skip
    for cell_id in order:
        cell = cells[cell_id]
        floor_count = int(binom.ppf(TAIL, n, p[cell_id]))
        floor = floor_count / n
        limits = []
        min_accuracy = floor_to(wilson_low(floor_count, n))
        if min_accuracy >= SMALLEST:
            limits.append(f"min_accuracy = {min_accuracy:.2f}")
        reference = clean[(cell["family"], cell["scenario"])]
        min_retained = floor_to(floor / reference) if reference > 0 else 0.0
        if cell["retained"] is not None and min_retained >= SMALLEST:
            limits.append(f"min_retained = {min_retained:.2f}")
        if not limits:
            continue
        # a heading per scenario, and per corruption within a sweep
        heading = f"{cell['family']}/{cell['scenario']}" + (f" {cell['shift']}" if cell["severity"] else "")
        if heading != group:
            group = heading
            print(f"  # {heading}")
        print(f'  {{ {tag}cells = "{cell_id}", {", ".join(limits)} }},  # mean accuracy {mean[cell_id]:.3f}, '
              f"{counted[cell_id] // n} runs")


def diagnosis_entries(runs: list[dict], n: int, tag: str) -> None:
    rows: dict[str, list[dict]] = defaultdict(list)
    for run in runs:
        for row in run.get("diagnosis", []):
            rows[row["id"]].append(row)
    if rows:
        print("  # diagnosis")
    z = float(norm.isf(TAIL))
    for row_id in sorted(rows):
        seen = rows[row_id]
        size = seen[0]["n"]
        probe_correct = sum(round(r["probe"] * r["n"]) for r in seen)
        probe = wilson_low(probe_correct, size * len(seen))
        limits = []
        min_probe = floor_to(wilson_low(int(binom.ppf(TAIL, size, probe)), size))
        if min_probe >= SMALLEST:
            limits.append(f"min_probe_accuracy = {min_probe:.2f}")
        gap = sum(r["mapping_gap"] for r in seen) / len(seen)
        zero_shot = sum(r["zero_shot"] for r in seen) / len(seen)
        spread = math.sqrt((probe * (1 - probe) + zero_shot * (1 - zero_shot)) / size)
        # a negative limit would require the probe to lose to zero-shot: 0 is as tight as a gap limit means anything
        max_gap = max(0.0, math.ceil(round((gap + z * spread) / 0.01, 6)) * 0.01)
        if max_gap < 1:
            limits.append(f"max_mapping_gap = {max_gap:.2f}")
        if limits:
            print(f'  {{ {tag}cells = "{row_id}", {", ".join(limits)} }},  # probe {probe_correct / size / len(seen):.3f}, '
                  f"gap {gap:+.3f}, {len(seen)} runs")


def property_entries(runs: list[dict], tag: str) -> None:
    """min_agreement where the model kept fewer than the default share of its answers at some seed: the Wilson
    95% lower bound of the lowest agreement seen, floored to 0.05 (a property the model does not have is then
    a limit on how much worse it may get, not a test it fails in some runs)."""
    from ood_fixtures.evaluation.properties import AGREEMENT

    lowest: dict[str, dict] = {}
    for run in runs:
        for finding in run.get("properties", []):
            seen = lowest.get(finding["property"])
            if "agreement" in finding and (seen is None or finding["agreement"] < seen["agreement"]):
                lowest[finding["property"]] = finding
    entries = {name: f for name, f in sorted(lowest.items()) if f["agreement"] < AGREEMENT}
    if entries:
        print("  # agreement properties")
    for name, finding in entries.items():
        kept = round(finding["agreement"] * finding["samples"])
        limit = floor_to(wilson_low(kept, finding["samples"]), 0.05)
        print(f'  {{ {tag}cells = "property/{name}", min_agreement = {limit:.2f} }},  # lowest agreement '
              f"{finding['agreement']:.3f} of {finding['samples']}, {len(runs)} runs")


if __name__ == "__main__":
    main(sys.argv[1:])
