"""Paired comparison with a baseline run: an earlier results.json of the same seed and sample count.

Both runs saw the same images (they derive from the seed), so each sample is a pair of outcomes. A cell
regresses when the new model is worse on more pairs than it is better, by more than chance allows (exact McNemar
test, one-sided) and by more than the tolerance:

- `pass`: the accuracy change is within the tolerance (or an improvement);
- `fail`: the drop exceeds the tolerance and is significant at ALPHA;
- `inconclusive`: the drop exceeds the tolerance but is not significant at this sample count; the comparison
  says how many samples would decide, had the same pattern held.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence


ALPHA = 0.05


class BaselineError(ValueError):
    """A baseline that cannot be compared with this run; the message says why and what to do."""


@dataclass(frozen=True)
class Comparison:
    outcome: str
    baseline_accuracy: float
    delta: float  # accuracy now minus accuracy in the baseline, on the paired samples
    p_value: float  # one-sided exact McNemar: probability of this many or more losses if nothing changed
    worse: int  # samples right in the baseline and wrong now
    better: int  # samples wrong in the baseline and right now
    samples_to_decide: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome, "accuracy": self.baseline_accuracy, "delta": self.delta,
            "p_value": self.p_value, "worse": self.worse, "better": self.better,
            "samples_to_decide": self.samples_to_decide,
        }  # fmt: skip


def mcnemar_worse(worse: int, better: int) -> float:
    """Exact one-sided McNemar test: P(at least `worse` of the changed samples got worse | no real change).

    The binomial tail summed exactly rather than scipy.stats.binomtest: the severity-curve properties call it
    in every worker, and importing scipy.stats costs 0.6 s there (tests/test_metrics.py checks it against scipy).
    """
    changed = worse + better
    if changed == 0:
        return 1.0
    return min(1.0, sum(math.comb(changed, k) for k in range(worse, changed + 1)) / 2**changed)


def compare(baseline: Sequence[bool], current: Sequence[bool], tolerance: float) -> Comparison:
    """Compare paired outcomes; `tolerance` is in accuracy (0.02 = 2 points)."""
    n = len(current)
    worse = sum(b and not c for b, c in zip(baseline, current))
    better = sum(c and not b for b, c in zip(baseline, current))
    delta = (better - worse) / n
    p_value = mcnemar_worse(worse, better)
    base_accuracy = sum(baseline) / n
    if delta >= -tolerance:
        return Comparison("pass", base_accuracy, delta, p_value, worse, better)
    if p_value < ALPHA:
        return Comparison("fail", base_accuracy, delta, p_value, worse, better)
    return Comparison("inconclusive", base_accuracy, delta, p_value, worse, better, _samples_to_decide(n, worse, better))


def _samples_to_decide(n: int, worse: int, better: int, limit: int = 1_000_000) -> int | None:
    """The smallest sample count at which the same loss and gain rates would be significant."""
    size = n
    while size <= limit:
        size = int(size * 1.25) + 1
        scaled_worse, scaled_better = round(worse * size / n), round(better * size / n)
        if mcnemar_worse(scaled_worse, scaled_better) < ALPHA:
            return size
    return None


class Baseline:
    """The per-sample outcomes of a baseline run, checked to be comparable with this run."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self.path = path
        self.document = document
        self.outcomes = {
            cell["id"]: {s["sample_id"]: bool(s["correct"]) for s in cell["samples"]} for cell in document["cells"]
        }

    @classmethod
    def load(cls, path: Path, seed: int | None, samples: int | None, severity_table: int | None) -> Baseline:
        """Read a results.json; a None expectation is not checked."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BaselineError(f"baseline {path} not found; make one with --baseline {path} --update-baseline")
        except (OSError, ValueError) as error:
            raise BaselineError(f"baseline {path} is not a readable results.json: {error}") from None
        if not isinstance(document, dict) or document.get("schema") != 1 or "cells" not in document:
            raise BaselineError(f"baseline {path} is not a results.json of schema 1")
        mismatches = [
            f"{what} {document.get(key)!r} (this run: {value!r})"
            for what, key, value in (("seed", "seed", seed), ("samples per cell", "samples_per_cell", samples),
                                     ("severity table", "severity_table", severity_table))
            if value is not None and document.get(key) != value
        ]  # fmt: skip
        if mismatches:
            raise BaselineError(
                f"baseline {path} was made with {', '.join(mismatches)}: its images differ from this run's, so "
                f"samples cannot be paired; rerun with the baseline's --seed/--samples, or make a new baseline"
            )
        return cls(path, document)

    def compare(self, cell_id: str, samples: Sequence[tuple[str, bool]], tolerance: float) -> Comparison | None:
        """None when the baseline has no such cell (a new cell); pairs by sample id."""
        old = self.outcomes.get(cell_id)
        if old is None:
            return None
        if set(old) != {sample_id for sample_id, _ in samples}:
            raise BaselineError(f"baseline {self.path}: cell {cell_id} holds other samples than this run")
        return compare([old[sample_id] for sample_id, _ in samples], [ok for _, ok in samples], tolerance)
