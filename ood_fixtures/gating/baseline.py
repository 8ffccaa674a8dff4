"""Comparison with a baseline run: an earlier results.json of the same seed and sample count.

Both runs saw the same images (they derive from the seed), so each cell is n pairs of outcomes
(ood_fixtures/paired.py). A cell's comparison answers "did accuracy drop by more than the tolerance?" at the
cell's share of the run's error rate (`level`: the run's cell budget over the number of compared cells, see
ood_fixtures/release.py):

- `fail`: the drop exceeds the tolerance at `level` (exact p-value of H0: drop <= tolerance);
- `inconclusive`: it does at INCONCLUSIVE_ALPHA for this cell alone, but not at `level`; the comparison says how
  many samples would decide if the same rates held;
- `pass`: otherwise.

Every comparison also says what the cell can detect: the smallest true drop it would catch with 80% power
(`detectable_drop`), and, when that is more than DETECTABLE points, the samples that would detect it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ood_fixtures import RESULTS_SCHEMA, __version__
from ood_fixtures.stats import paired

INCONCLUSIVE_ALPHA = 0.05
# What a document that predates a setting was made with: every run before --image-size drew 64 px images.
DEFAULTS = {"image_size": 64}
DETECTABLE = 0.10  # a cell that cannot detect a drop this large says so, with the --samples that would


class BaselineError(ValueError):
    """A baseline that cannot be compared with this run; the message says why and what to do."""


def read_results(path: Path, role: str = "results file", if_missing: str = "") -> dict[str, Any]:
    """A results.json, its schema checked; a BaselineError that names `role`, the file and what to do."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{role} {path} not found{if_missing}") from None
    except (OSError, ValueError) as error:
        raise BaselineError(f"{role} {path} is not a readable results.json: {error}") from None
    schema = document.get("schema") if isinstance(document, dict) else None
    if not isinstance(schema, int) or "cells" not in document:
        raise BaselineError(f"{role} {path} is not a results.json of ood-fixtures (it has no schema and cells)")
    if schema > RESULTS_SCHEMA:
        raise BaselineError(f"{role} {path} was written by ood-fixtures {document.get('suite_version', '?')} "
                            f"(results schema {schema}); this is ood-fixtures {__version__}, which reads schema "
                            f"{RESULTS_SCHEMA} and older: pip install -U ood-fixtures")  # fmt: skip
    return document


@dataclass(frozen=True)
class Comparison:
    outcome: str
    baseline_accuracy: float
    delta: float  # accuracy now minus accuracy in the baseline, on the paired samples
    ci_low: float  # Tango's 95% score interval of delta
    ci_high: float
    p_value: float  # exact one-sided p of H0: drop <= tolerance
    level: float  # the p below which this cell fails: its share of the run's error rate
    worse: int  # samples right in the baseline and wrong now
    better: int  # samples wrong in the baseline and right now
    detectable_drop: float | None  # smallest true drop caught with 80% power at `level`; None: none the cell has
    samples_to_detect: int | None = None  # when detectable_drop is None or > DETECTABLE: samples for DETECTABLE
    samples_to_decide: int | None = None  # inconclusive: samples at which the observed rates would decide

    @property
    def underpowered(self) -> bool:
        """Cannot detect a DETECTABLE drop though the baseline's accuracy leaves room for one."""
        return self.baseline_accuracy >= DETECTABLE and (
            self.detectable_drop is None or self.detectable_drop > DETECTABLE
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome, "accuracy": self.baseline_accuracy, "delta": self.delta,
            "ci_low": self.ci_low, "ci_high": self.ci_high, "p_value": self.p_value, "level": self.level,
            "worse": self.worse, "better": self.better, "detectable_drop": self.detectable_drop,
            "underpowered": self.underpowered, "samples_to_detect": self.samples_to_detect,
            "samples_to_decide": self.samples_to_decide,
        }  # fmt: skip


def compare(baseline: Sequence[bool], current: Sequence[bool], tolerance: float, level: float) -> Comparison:
    """Compare paired outcomes; `tolerance` is in accuracy (0.02 = 2 points), `level` the cell's error rate."""
    n = len(current)
    worse = sum(b and not c for b, c in zip(baseline, current))
    better = sum(c and not b for b, c in zip(baseline, current))
    base_accuracy = sum(baseline) / n
    p_value = paired.drop_p_value(worse, better, n, tolerance)
    low, high = paired.change_interval(worse, better, n)
    detectable = paired.detectable_drop(n, better / n, tolerance, level, room=base_accuracy)
    to_detect = (paired.samples_to_detect(DETECTABLE, better / n, tolerance, level)
                 if detectable is None or detectable > DETECTABLE else None)  # fmt: skip
    outcome = "fail" if p_value < level else "inconclusive" if p_value < INCONCLUSIVE_ALPHA else "pass"
    to_decide = paired.samples_to_decide(worse, better, n, tolerance, level) if outcome == "inconclusive" else None
    return Comparison(outcome, base_accuracy, (better - worse) / n, low, high, p_value, level, worse, better,
                      detectable, to_detect, to_decide)  # fmt: skip


class Baseline:
    """The per-sample outcomes of a baseline run, checked to be comparable with this run."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self.path = path
        self.document = document
        self.outcomes = {
            cell["id"]: {s["sample_id"]: bool(s["correct"]) for s in cell["samples"]} for cell in document["cells"]
        }

    @classmethod
    def load(cls, path: Path, seed: int | None, samples: int | None, severity_table: int | None,
             image_size: int | None = None) -> Baseline:  # fmt: skip
        """Read a results.json; a None expectation is not checked. A document from before --image-size was
        drawn at DEFAULT_IMAGE_SIZE."""
        document = read_results(path, "baseline", f"; make one with --baseline {path} --update-baseline")
        mismatches = [
            f"{what} {document.get(key)!r} (this run: {value!r})"
            for what, key, value in (("seed", "seed", seed), ("samples per cell", "samples_per_cell", samples),
                                     ("severity table", "severity_table", severity_table),
                                     ("image size", "image_size", image_size))
            if value is not None and document.get(key, DEFAULTS.get(key)) != value
        ]  # fmt: skip
        if mismatches:
            raise BaselineError(
                f"baseline {path} was made with {', '.join(mismatches)}: its images differ from this run's, so "
                f"samples cannot be paired; rerun with the baseline's --seed/--samples/--image-size, or make a new baseline"
            )
        return cls(path, document)

    def compare(self, cell_id: str, samples: Sequence[tuple[str, bool]], tolerance: float,
                level: float) -> Comparison | None:  # fmt: skip
        """None when the baseline has no such cell (a new cell); pairs by sample id."""
        old = self.paired(cell_id, samples)
        if old is None:
            return None
        return compare(old, [ok for _, ok in samples], tolerance, level)

    def paired(self, cell_id: str, samples: Sequence[tuple[str, bool]]) -> list[bool] | None:
        """The baseline's outcomes of a cell in the order of `samples`; None when the baseline lacks the cell."""
        old = self.outcomes.get(cell_id)
        if old is None:
            return None
        if set(old) != {sample_id for sample_id, _ in samples}:
            raise BaselineError(f"baseline {self.path}: cell {cell_id} holds other samples than this run; "
                                f"make the baseline again with this suite version")  # fmt: skip
        return [old[sample_id] for sample_id, _ in samples]
