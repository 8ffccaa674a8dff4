"""Release-gate statistics that pool cells: mean accuracy under shift per family, scenario and corruption group,
the worst domain of a scenario, the in-distribution cells, and mCE, each compared with the baseline.

A single cell of 100 images can only show drops of 20 points or more at a run-wide error rate; an aggregate over
20 cells shows drops of a few points. Cells share base images (sample i of every corruption cell is the same
shape, sample i of every domain the same object), so their errors are correlated and the samples of an aggregate
are not independent. The uncertainty therefore comes from a cluster bootstrap over base images: every resample
draws sample ids with replacement and reweights every cell of both runs with the same draw, which keeps the
pairing between runs and the correlation between cells. Clustering on the sample id alone is valid whether or
not two scenarios share images (it only merges clusters).

The p-values are normal tails on the bootstrap standard error, not bootstrap percentiles: a percentile tail at
the levels a run-wide correction asks for (1e-3 and below) needs 10^5 resamples per aggregate. One weight matrix
(draws x clusters) serves every aggregate, so the whole run's aggregates cost one matrix product per cell;
scipy.stats.bootstrap would resample each aggregate's data anew (tests/test_aggregates.py checks the standard
errors against it).

Every aggregate is a hypothesis "no worse than the baseline by more than the tolerance", implied by "no cell
dropped by more than the tolerance": `excess` is positive when the data say the aggregate regressed.
Adding one is one entry in `define` (which cells) and, for a new kind of statistic, one entry in KINDS.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

DRAWS = 2000  # bootstrap resamples: the standard error to about 1.6%


@dataclass(frozen=True)
class Aggregate:
    id: str  # e.g. "family/corruption", "group/noise", "worst/natural/objects", "mce/corruption/shapes"
    kind: str  # a key of KINDS
    cells: tuple[str, ...]
    title: str  # what it is, in words


@dataclass(frozen=True)
class Measured:
    aggregate: Aggregate
    baseline: float
    value: float
    excess: float  # > 0: worse than the baseline by more than the tolerance allows
    standard_error: float  # of `excess`, cluster bootstrap
    limit: float | None = None  # mce: the mCE a uniform drop of the tolerance in every cell gives


def _mean(accuracy: np.ndarray) -> np.ndarray:
    return accuracy.mean(axis=1)


def _worst(accuracy: np.ndarray) -> np.ndarray:
    return accuracy.min(axis=1)


def _accuracy(statistic: Callable[[np.ndarray], np.ndarray]) -> Callable[..., Measured]:
    """An aggregate that is an accuracy (mean or worst of its cells'): excess = baseline - now - tolerance."""

    def measure(aggregate: Aggregate, old: np.ndarray, new: np.ndarray, tolerance: float,
                shifts: dict[str, str]) -> Measured:  # fmt: skip
        before, after = statistic(old), statistic(new)
        excess = before - after - tolerance
        return Measured(aggregate, float(before[0]), float(after[0]), float(excess[0]), _spread(excess))

    return measure


def _mce(aggregate: Aggregate, old: np.ndarray, new: np.ndarray, tolerance: float,
         shifts: dict[str, str]) -> Measured:  # fmt: skip
    """ImageNet-C's mCE with the baseline as the reference model: per corruption, summed error over severities
    over the baseline's; their mean. Its limit is the mCE of a drop of exactly the tolerance in every cell, so
    mCE above it means some cells dropped by more."""
    corruptions = defaultdict(list)
    for column, cell_id in enumerate(aggregate.cells):
        corruptions[shifts[cell_id]].append(column)
    ratios, limits = [], []
    for columns in corruptions.values():
        old_error = (1 - old[:, columns]).sum(axis=1)
        if old_error[0] <= 0:
            continue  # the baseline made no error: CE is undefined (ImageNet-C leaves such a corruption out)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios.append((1 - new[:, columns]).sum(axis=1) / old_error)
        limits.append((old_error[0] + tolerance * len(columns)) / old_error[0])
    if not ratios:
        return Measured(aggregate, 1.0, float("nan"), float("nan"), float("nan"), None)
    mce = np.mean(ratios, axis=0)
    limit = float(np.mean(limits))
    excess = mce - limit
    return Measured(aggregate, 1.0, float(mce[0]), float(excess[0]), _spread(excess), limit)


# kind -> how the resampled accuracies of its cells (draws x cells, both runs) become a Measured
KINDS: dict[str, Callable[..., Measured]] = {"mean": _accuracy(_mean), "worst": _accuracy(_worst), "mce": _mce}


def is_reference(cell: dict[str, Any]) -> bool:
    """A clean or source cell: one other cells are compared with (results.json names each cell's reference;
    files of older versions only have `retained`, null for reference cells)."""
    if "reference" in cell:
        return cell["reference"] is None
    return cell.get("retained") is None


def define(cells: list[dict[str, Any]]) -> list[Aggregate]:
    """The aggregates of a run, from its cells (results.json form); only those of two cells or more."""
    from generators.corruptions import CORRUPTIONS  # only the table's groups; no albumentations import

    shifted = [c for c in cells if not is_reference(c)]
    found: list[Aggregate] = []

    def add(aggregate_id: str, kind: str, members: list[dict[str, Any]], title: str) -> None:
        if len(members) >= 2:
            found.append(Aggregate(aggregate_id, kind, tuple(c["id"] for c in members), title))

    add("in-distribution", "mean", [c for c in cells if is_reference(c) and c["family"] != "icl"],
        "mean accuracy of the clean and source cells")  # fmt: skip
    for family, members in _grouped(shifted, lambda c: c["family"]).items():
        add(f"family/{family}", "mean", members, f"mean accuracy under shift, {family}")
        scenarios = _grouped(members, lambda c: c["scenario"])
        for scenario, inside in scenarios.items():
            if len(scenarios) > 1:
                add(f"scenario/{family}/{scenario}", "mean", inside, f"mean accuracy under shift, {family}/{scenario}")
            if family not in ("corruption", "icl"):
                add(f"worst/{family}/{scenario}", "worst", inside, f"worst domain, {family}/{scenario}")
            if family == "corruption":
                add(f"mce/{family}/{scenario}", "mce", [c for c in inside if c["shift"] in CORRUPTIONS],
                    f"mean corruption error against the baseline, {scenario}")  # fmt: skip
    corrupted = [c for c in shifted if c["family"] == "corruption" and c["shift"] in CORRUPTIONS]
    for group, members in _grouped(corrupted, lambda c: CORRUPTIONS[c["shift"]].group).items():
        add(f"group/{group}", "mean", members, f"mean accuracy, ImageNet-C {group} corruptions")
    return found


def _grouped(cells: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cell in cells:
        groups[key(cell)].append(cell)
    return dict(groups)


class Resampled:
    """Every cell's accuracy in both runs under the same DRAWS cluster-bootstrap resamples; row 0 is the data."""

    def __init__(self, pairs: dict[str, tuple[list[str], list[bool], list[bool]]], seed: int,
                 draws: int = DRAWS) -> None:  # fmt: skip
        """`pairs`: cell id -> (sample ids, baseline outcomes, current outcomes), in one order."""
        clusters = sorted({sample for ids, _, _ in pairs.values() for sample in ids})
        where = {sample: k for k, sample in enumerate(clusters)}
        rng = np.random.default_rng(seed)
        drawn = rng.multinomial(len(clusters), np.full(len(clusters), 1 / len(clusters)), size=draws)
        weights = np.vstack([np.ones(len(clusters)), drawn]).astype(np.float64)
        self.columns = {cell_id: k for k, cell_id in enumerate(pairs)}
        self.baseline = np.empty((draws + 1, len(pairs)))
        self.current = np.empty((draws + 1, len(pairs)))
        for cell_id, (ids, old, new) in pairs.items():
            w = weights[:, [where[s] for s in ids]]
            total = w.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):  # a draw that misses every sample: nan
                self.baseline[:, self.columns[cell_id]] = w @ np.asarray(old, dtype=float) / total
                self.current[:, self.columns[cell_id]] = w @ np.asarray(new, dtype=float) / total

    def of(self, cells: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        index = [self.columns[c] for c in cells]
        return self.baseline[:, index], self.current[:, index]


def measure(aggregate: Aggregate, data: Resampled, tolerance: float, shifts: dict[str, str]) -> Measured:
    """The aggregate's figure in both runs, its excess over what the tolerance allows and that excess's standard
    error; `shifts` maps cell ids to their shift (mce sums a corruption's severities)."""
    old, new = data.of(aggregate.cells)
    return KINDS[aggregate.kind](aggregate, old, new, tolerance, shifts)


def _spread(values: np.ndarray) -> float:
    """Standard deviation of the resampled figures (rows 1:), ignoring draws that left a cell empty."""
    draws = values[1:]
    draws = draws[np.isfinite(draws)]
    return float(np.std(draws, ddof=1)) if len(draws) > 1 else float("nan")
