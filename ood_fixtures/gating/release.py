"""The release gate of a whole run against its baseline: every compared cell and every aggregate, with the
chance of a false failure controlled over the run, not per cell.

The run's error rate `alpha` (--gate-alpha, default 0.05: the chance that a candidate no worse than the
baseline fails any baseline gate) is split in two halves, and the union bound keeps the run within alpha:
- cells: each cell test runs on its own, on any worker, and must decide alone, so it fails when its p-value is
  below alpha / 2 / m (m: the cell tests of the run, `Budget.cell_level`), i.e. Bonferroni. Holm's step-down
  (statsmodels `multipletests`) rejects a superset, and at least one hypothesis exactly when Bonferroni does, so
  the run fails in the same runs; the run-level `cells` test lists Holm's rejections, which may add cells to a run
  that has already failed.
- aggregates: computed here at the end, once every cell is in, and tested together with Holm at alpha / 2.
Holm rather than Benjamini-Hochberg: a release gate must be able to say of every failing cell that it really
regressed (strong family-wise control); BH would let a share of the failures be false ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from ood_fixtures.gating import aggregates
from ood_fixtures.stats.paired import POWER

ALPHA = 0.05
_NORMAL = NormalDist()
Z95 = _NORMAL.inv_cdf(0.975)


@dataclass(frozen=True)
class Budget:
    """How the run's error rate is shared: half among the `cells` cell tests, half among the aggregates."""

    alpha: float = ALPHA
    cells: int = 1

    @property
    def cell_alpha(self) -> float:
        return self.alpha / 2

    @property
    def aggregate_alpha(self) -> float:
        return self.alpha / 2

    @property
    def cell_level(self) -> float:
        """The p-value below which one cell test fails."""
        return self.cell_alpha / max(1, self.cells)


@dataclass(frozen=True)
class AggregateGate:
    measured: aggregates.Measured
    p_value: float
    p_adjusted: float  # Holm
    detectable: float | None  # mean/worst: the smallest drop (accuracy) caught with 80% power; mce: the mCE
    outcome: str  # "pass" | "fail"

    @property
    def id(self) -> str:
        return self.measured.aggregate.id

    def reason(self) -> str:
        m = self.measured
        if m.aggregate.kind == "mce":
            return (f"mCE {m.value:.3f} against the baseline, above {m.limit:.3f} (what a uniform drop of the "
                    f"tolerance gives) by {m.excess:+.3f} +- {m.standard_error:.3f}; Holm-adjusted "
                    f"p={self.p_adjusted:.2g}")
        return (f"{m.aggregate.title}: {m.baseline:.3f} -> {m.value:.3f} ({(m.value - m.baseline) * 100:+.1f} points, "
                f"95% CI {self.change_interval[0] * 100:+.1f} to {self.change_interval[1] * 100:+.1f}); drop beyond "
                f"the tolerance, Holm-adjusted p={self.p_adjusted:.2g}")  # fmt: skip

    @property
    def change_interval(self) -> tuple[float, float]:
        """95% interval of the change (now minus baseline; mce: of mCE), normal on the bootstrap error."""
        m = self.measured
        centre = m.value if m.aggregate.kind == "mce" else m.value - m.baseline
        half = Z95 * m.standard_error
        return centre - half, centre + half

    def to_dict(self) -> dict[str, Any]:
        m = self.measured
        low, high = self.change_interval
        return {
            "id": self.id, "kind": m.aggregate.kind, "title": m.aggregate.title, "cells": len(m.aggregate.cells),
            "baseline": m.baseline, "value": m.value, "ci_low": low, "ci_high": high, "limit": m.limit,
            "excess": m.excess, "standard_error": m.standard_error, "p_value": self.p_value,
            "p_adjusted": self.p_adjusted, "detectable": self.detectable, "outcome": self.outcome,
        }  # fmt: skip


@dataclass(frozen=True)
class CellsGate:
    compared: int
    level: float  # the per-cell test's level in this run
    holm_failed: tuple[str, ...]
    p_adjusted: dict[str, float]
    inconclusive: tuple[str, ...]
    underpowered: tuple[str, ...]
    detectable_range: tuple[float, float] | None  # smallest and largest detectable drop over the cells
    samples_to_detect: int | None  # --samples that would let every underpowered cell detect DETECTABLE

    @property
    def outcome(self) -> str:
        return "fail" if self.holm_failed else "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "compared": self.compared, "level": self.level, "outcome": self.outcome,
            "failed": list(self.holm_failed), "inconclusive": list(self.inconclusive),
            "underpowered": len(self.underpowered), "detectable_range": self.detectable_range,
            "samples_to_detect": self.samples_to_detect,
        }  # fmt: skip


@dataclass(frozen=True)
class RunGate:
    budget: Budget
    tolerance: float
    aggregates: tuple[AggregateGate, ...]
    cells: CellsGate

    @property
    def outcome(self) -> str:
        failed = self.cells.outcome == "fail" or any(a.outcome == "fail" for a in self.aggregates)
        return "fail" if failed else "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome, "alpha": self.budget.alpha, "tolerance": self.tolerance,
            "cell_alpha": self.budget.cell_alpha, "aggregate_alpha": self.budget.aggregate_alpha,
            "method": ("cells: exact paired test of drop > tolerance (Tango's statistic), Bonferroni per test, Holm "
                       "over the run; aggregates: cluster bootstrap over base images, normal tails, Holm"),
            "aggregates": [a.to_dict() for a in self.aggregates], "cells": self.cells.to_dict(),
        }  # fmt: skip


def decide(cells: list[dict[str, Any]], baseline: dict[str, Any], tolerance: float, budget: Budget,
           seed: int) -> RunGate:  # fmt: skip
    """The run's gate from its cells and the baseline's (results.json forms). Cells must carry their baseline
    comparison (`gate.baseline`); those without one (new cells) take no part."""
    old = {c["id"]: c for c in baseline["cells"]}
    compared = [c for c in cells if c["gate"].get("baseline") and c["id"] in old]
    return RunGate(budget, tolerance, _aggregate_gates(compared, old, tolerance, budget, seed),
                   _cells_gate(compared, budget))  # fmt: skip


def compare_documents(new: dict[str, Any], old: dict[str, Any], tolerance: float, alpha: float = ALPHA,
                      seed: int | None = None) -> tuple[list[dict[str, Any]], RunGate]:  # fmt: skip
    """Gate one results.json on another after the fact (`compare`, scripts/reliability.py): every cell the two
    share is compared anew at its share of `alpha` among them, as the suite does during a run."""
    from ood_fixtures.gating.baseline import Baseline

    base = Baseline(None, old)  # type: ignore[arg-type]
    shared = [c for c in new["cells"] if c["id"] in base.outcomes]
    budget = Budget(alpha, len(shared))
    cells = []
    for cell in new["cells"]:
        pairs = [(s["sample_id"], bool(s["correct"])) for s in cell["samples"]]
        comparison = base.compare(cell["id"], pairs, tolerance, budget.cell_level)
        gate = {**cell.get("gate", {}), "baseline": comparison.to_dict() if comparison else None}
        cells.append({**cell, "gate": gate})
    return cells, decide(cells, old, tolerance, budget, new.get("seed", 0) if seed is None else seed)


def _cells_gate(compared: list[dict[str, Any]], budget: Budget) -> CellsGate:
    ids = [c["id"] for c in compared]
    comparisons = [c["gate"]["baseline"] for c in compared]
    rejected, adjusted = _holm([b["p_value"] for b in comparisons], budget.cell_alpha)
    detectable = [b["detectable_drop"] for b in comparisons if b["detectable_drop"] is not None]
    weak = [(i, b) for i, b in zip(ids, comparisons) if b["underpowered"]]
    needed = [b["samples_to_detect"] for _, b in weak if b["samples_to_detect"]]
    return CellsGate(
        compared=len(compared),
        level=comparisons[0]["level"] if comparisons else budget.cell_level,
        holm_failed=tuple(i for i, r in zip(ids, rejected) if r),
        p_adjusted=dict(zip(ids, adjusted)),
        inconclusive=tuple(i for i, b, r in zip(ids, comparisons, rejected)
                           if b["outcome"] == "inconclusive" and not r),
        underpowered=tuple(i for i, _ in weak),
        detectable_range=(min(detectable), max(detectable)) if detectable else None,
        samples_to_detect=_round_up(max(needed)) if needed else None,
    )  # fmt: skip


def _aggregate_gates(compared: list[dict[str, Any]], old: dict[str, dict[str, Any]], tolerance: float,
                     budget: Budget, seed: int) -> tuple[AggregateGate, ...]:  # fmt: skip
    defined = aggregates.define(compared)
    if not defined:
        return ()
    from generators.seeding import derive_seed

    pairs = {}
    for cell in compared:
        before = {s["sample_id"]: bool(s["correct"]) for s in old[cell["id"]]["samples"]}
        ids = [s["sample_id"] for s in cell["samples"]]
        pairs[cell["id"]] = (ids, [before[i] for i in ids], [bool(s["correct"]) for s in cell["samples"]])
    data = aggregates.Resampled(pairs, derive_seed("release-gate", seed))
    shifts = {c["id"]: c["shift"] for c in compared}
    measured = [aggregates.measure(a, data, tolerance, shifts) for a in defined]
    p_values = [_upper_tail(m.excess, m.standard_error) for m in measured]
    rejected, adjusted = _holm(p_values, budget.aggregate_alpha)
    level = budget.aggregate_alpha / len(measured)  # Holm's first step: what every aggregate is sure to get
    return tuple(
        AggregateGate(m, p, a, _detectable(m, level, tolerance), "fail" if r else "pass")
        for m, p, a, r in zip(measured, p_values, adjusted, rejected)
    )


def _upper_tail(excess: float, error: float) -> float:
    """P(an excess this large | the aggregate is exactly at its limit), normal on the bootstrap error."""
    if math.isnan(excess):
        return 1.0
    if not error > 0:
        return 0.0 if excess > 0 else 1.0
    return _NORMAL.cdf(-excess / error)


def _detectable(m: aggregates.Measured, level: float, tolerance: float) -> float | None:
    """The smallest regression caught with POWER at `level`: a drop in accuracy (mean, worst) or an mCE (mce)."""
    if not m.standard_error > 0:
        return None
    margin = (_NORMAL.inv_cdf(1 - level) + _NORMAL.inv_cdf(POWER)) * m.standard_error
    if m.aggregate.kind == "mce":
        return m.limit + margin if m.limit is not None else None
    return tolerance + margin


def _holm(p_values: list[float], alpha: float) -> tuple[list[bool], list[float]]:
    if not p_values:
        return [], []
    from statsmodels.stats.multitest import multipletests

    rejected, adjusted, _, _ = multipletests(p_values, alpha=alpha, method="holm")
    return [bool(r) for r in rejected], [float(a) for a in adjusted]


def _round_up(samples: int) -> int:
    """Up to a round --samples figure: 2 significant digits."""
    step = 10 ** max(0, len(str(samples)) - 2)
    return -(-samples // step) * step

