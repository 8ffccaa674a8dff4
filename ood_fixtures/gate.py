"""The accuracy gate: thresholds from a TOML file, matched to cells by glob, and the pass/fail decision.

A thresholds file names the models it is for (`models`, globs on the `--model` spec; every model if absent) and
holds a list of gate entries (`[[gate]]` tables, or one inline table a line in a `gate = [...]`
array, as the shipped file has). Each names cells by a glob on the cell id
(`family/scenario/shift[/severity]`, e.g. `corruption/shapes/gaussian_noise/*`) and sets any of the limits in
`LIMITS`. Entries apply in file order: for each limit, the last matching entry that sets it wins, so a file
reads from general to specific. An entry may name its own `models`.

The verdict of a cell combines its limits with the baseline comparison (ood_fixtures/baseline.py), if any: a cell
fails when a limit or the comparison fails; an inconclusive comparison fails only under --strict-gate (pytest owns
--strict), which gives up the run-wide error control for those cells. A cell with neither limits nor a baseline is
`ungated`: reported, never failed.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ood_fixtures.baseline import Comparison
from ood_fixtures.metrics import Accuracy

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

SCHEMA_VERSION = 1
RETAINED_MAX = 10.0

LIMITS: dict[str, str] = {
    "min_accuracy": "lowest allowed Wilson 95% lower bound of accuracy",
    "min_retained": "lowest allowed accuracy relative to the reference (clean or source) cell",
    "max_unparsed": "highest allowed share of answers that named no label",
    "max_ece": "highest allowed expected calibration error (needs a model that gives scores)",
    # diagnosis rows (ood_fixtures/diagnosis.py), ids diagnosis/<cell id>
    "min_probe_accuracy": "lowest allowed Wilson 95% lower bound of the linear probe's accuracy",
    "max_mapping_gap": "highest allowed linear-probe accuracy minus zero-shot accuracy",
    # agreement properties, ids property/invariance/<perturbation> and property/option-order
    "min_agreement": "least share of answers a perturbation must keep (default 0.9); fails only when shown below",
}


class ThresholdsError(ValueError):
    """A thresholds file that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True)
class Rule:
    cells: tuple[str, ...]
    models: tuple[str, ...]
    limits: dict[str, float]

    def matches(self, cell_id: str, model: str) -> bool:
        return any(fnmatch.fnmatchcase(cell_id, p) for p in self.cells) and any(
            fnmatch.fnmatchcase(model, p) for p in self.models
        )


@dataclass(frozen=True)
class Thresholds:
    path: str
    rules: tuple[Rule, ...]

    def limits_for(self, cell_id: str, model: str) -> dict[str, float]:
        limits: dict[str, float] = {}
        for rule in self.rules:
            if rule.matches(cell_id, model):
                limits.update(rule.limits)
        return limits

    def covers(self, model: str) -> bool:
        return any(fnmatch.fnmatchcase(model, p) for rule in self.rules for p in rule.models)


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "pass", "fail", "inconclusive" (baseline comparison undecided) or "ungated"
    limits: dict[str, float]
    reasons: tuple[str, ...] = field(default=())
    comparison: Comparison | None = None

    @property
    def passed(self) -> bool:
        return self.outcome != "fail"

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome, **self.limits, "reasons": list(self.reasons),
            "baseline": self.comparison.to_dict() if self.comparison else None,
        }  # fmt: skip


def decide(
    limits: dict[str, float],
    acc: Accuracy,
    retained: float | None,
    unparsed: int,
    ece: float | None = None,
    comparison: Comparison | None = None,
    strict: bool = False,
) -> Verdict:
    if not limits and comparison is None:
        return Verdict("ungated", {})
    reasons = []
    if "min_accuracy" in limits and acc.ci_low < limits["min_accuracy"]:
        reasons.append(
            f"accuracy {acc.value:.3f} (95% CI {acc.ci_low:.3f}-{acc.ci_high:.3f}, n={acc.n}): "
            f"lower bound below min_accuracy {limits['min_accuracy']:.3f}"
        )
    if "min_retained" in limits and retained is not None and retained < limits["min_retained"]:
        reasons.append(f"retained {retained:.3f} of the reference accuracy, below min_retained "
                       f"{limits['min_retained']:.3f}")  # fmt: skip
    if "max_unparsed" in limits and unparsed / acc.n > limits["max_unparsed"]:
        reasons.append(f"{unparsed} of {acc.n} answers unparsed, above max_unparsed {limits['max_unparsed']:.3f}")
    if "max_ece" in limits and ece is None:
        reasons.append("max_ece is set but the model gives no scores to calibrate")
    elif "max_ece" in limits and ece > limits["max_ece"]:
        reasons.append(f"calibration error {ece:.3f} above max_ece {limits['max_ece']:.3f}")
    undecided = False
    if comparison is not None and comparison.outcome != "pass":
        c = comparison
        change = (f"{c.delta * 100:+.1f} points vs baseline {c.baseline_accuracy:.3f} (95% CI {c.ci_low * 100:+.1f} "
                  f"to {c.ci_high * 100:+.1f}; {c.worse} worse, {c.better} better)")  # fmt: skip
        if c.outcome == "fail":
            reasons.append(f"regression: {change}; drop beyond the tolerance at p={c.p_value:.2g}, below this "
                           f"cell's share of the run's error rate ({c.level:.2g})")  # fmt: skip
        elif strict:
            reasons.append(f"inconclusive under --strict-gate: {change}; p={c.p_value:.2g} for this cell alone, "
                           f"not below its share of the run's error rate ({c.level:.2g})")  # fmt: skip
        else:
            undecided = True
    outcome = "fail" if reasons else "inconclusive" if undecided else "pass"
    return Verdict(outcome, limits, tuple(reasons), comparison)


def load(path: Path) -> Thresholds:
    """Read and validate a thresholds file; ThresholdsError says what to fix, and where."""
    if not path.exists() or path.is_dir():
        raise ThresholdsError(f"thresholds file {path} not found; pass --thresholds FILE "
                              f"(benchmarks/thresholds.toml is the shipped one)")  # fmt: skip
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ThresholdsError(f"{path}: not valid TOML: {error}") from None
    where = _Locator(path, text)
    unknown = set(data) - {"version", "models", "gate"}
    if unknown:
        key = sorted(unknown)[0]
        raise ThresholdsError(f"{where.top(key)}: unknown top-level key {key!r}; expected version, models, gate")
    if data.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise ThresholdsError(f"{where.top('version')}: version must be {SCHEMA_VERSION}")
    entries = data.get("gate", [])
    if not isinstance(entries, list) or not entries:
        raise ThresholdsError(f"{path}: no [[gate]] entries; add at least one, e.g. [[gate]] cells = \"*\"")
    models = _globs(data.get("models", "*"), where.top("models"), "models", "model specs, e.g. models = \"reference\"")
    return Thresholds(str(path), tuple(_rule(entry, k, models, where) for k, entry in enumerate(entries)))


def _globs(value: Any, where: str, key: str, example: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not values or not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ThresholdsError(f"{where}: '{key}' must be a glob or a list of globs on {example}")
    return tuple(values)


def _rule(entry: dict[str, Any], index: int, models: tuple[str, ...], where: _Locator) -> Rule:
    cells = _globs(entry.get("cells"), where.entry(index, "cells"), "cells", 'cell ids, e.g. cells = "corruption/*"')
    if "models" in entry:
        models = _globs(entry["models"], where.entry(index, "models"), "models", "model specs")
    limits = {}
    for key, value in entry.items():
        if key in ("cells", "models"):
            continue
        if key not in LIMITS:
            raise ThresholdsError(f"{where.entry(index, key)}: unknown key {key!r}; "
                                  f"known: cells, models, {', '.join(LIMITS)}")
        # A retained share may pass 1: an in-context cell can be required to beat its zero-shot reference.
        top = RETAINED_MAX if key == "min_retained" else 1
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= top:
            raise ThresholdsError(f"{where.entry(index, key)}: {key} must be a number from 0 to {top:g}, got {value!r}")
        limits[key] = float(value)
    return Rule(cells, models, limits)


class _Locator:
    """File:line for messages; tomllib keeps no positions, so the line is found in the text.

    Entries are either `[[gate]]` tables (the key's line below the n-th header) or one-line inline tables in a
    `gate = [...]` array (the n-th line that opens with `{`).
    """

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def top(self, key: str) -> str:
        return self._find(0, key)

    def entry(self, index: int, key: str) -> str:
        headers = [n for n, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*gate\s*\]\]", line)]
        if headers:
            return self._find(headers[index] if index < len(headers) else 0, key)
        inline = [n for n, line in enumerate(self.lines) if line.lstrip().startswith("{")]
        return f"{self.path}:{inline[index] + 1 if index < len(inline) else 1}"

    def _find(self, start: int, key: str) -> str:
        for n in range(start, len(self.lines)):
            if re.match(rf"\s*{re.escape(key)}\s*=", self.lines[n]):
                return f"{self.path}:{n + 1}"
        return f"{self.path}:{start + 1}"
