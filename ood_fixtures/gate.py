"""The accuracy gate: thresholds from a TOML file, matched to cells by glob, and the pass/fail decision.

A thresholds file is a list of gate entries (`[[gate]]` tables, or one inline table a line in a `gate = [...]`
array, as the shipped file has). Each names cells by a glob on the cell id
(`family/scenario/shift[/severity]`, e.g. `corruption/shapes/gaussian_noise/*`) and sets any of the limits in
`LIMITS`. Entries apply in file order: for each limit, the last matching entry that sets it wins, so a file
reads from general to specific.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ood_fixtures.metrics import Accuracy

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

SCHEMA_VERSION = 1

LIMITS: dict[str, str] = {
    "min_accuracy": "lowest allowed Wilson 95% lower bound of accuracy",
    "min_retained": "lowest allowed accuracy relative to the reference (clean or source) cell",
    "max_unparsed": "highest allowed share of answers that named no label",
}


class ThresholdsError(ValueError):
    """A thresholds file that cannot be used; the message names the file, line and key."""


@dataclass(frozen=True)
class Rule:
    cells: tuple[str, ...]
    limits: dict[str, float]

    def matches(self, cell_id: str) -> bool:
        return any(fnmatch.fnmatchcase(cell_id, pattern) for pattern in self.cells)


@dataclass(frozen=True)
class Thresholds:
    path: str
    rules: tuple[Rule, ...]

    def limits_for(self, cell_id: str) -> dict[str, float]:
        limits: dict[str, float] = {}
        for rule in self.rules:
            if rule.matches(cell_id):
                limits.update(rule.limits)
        return limits


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "pass", "fail", or "ungated" (no thresholds entry matched the cell)
    limits: dict[str, float]
    reasons: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return self.outcome != "fail"

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, **self.limits, "reasons": list(self.reasons)}


def decide(limits: dict[str, float], acc: Accuracy, retained: float | None, unparsed: int) -> Verdict:
    if not limits:
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
    return Verdict("fail" if reasons else "pass", limits, tuple(reasons))


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
    unknown = set(data) - {"version", "gate"}
    if unknown:
        key = sorted(unknown)[0]
        raise ThresholdsError(f"{where.top(key)}: unknown top-level key {key!r}; expected 'version' and [[gate]]")
    if data.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise ThresholdsError(f"{where.top('version')}: version must be {SCHEMA_VERSION}")
    entries = data.get("gate", [])
    if not isinstance(entries, list) or not entries:
        raise ThresholdsError(f"{path}: no [[gate]] entries; add at least one, e.g. [[gate]] cells = \"*\"")
    return Thresholds(str(path), tuple(_rule(entry, k, where) for k, entry in enumerate(entries)))


def _rule(entry: dict[str, Any], index: int, where: _Locator) -> Rule:
    cells = entry.get("cells")
    if isinstance(cells, str):
        cells = [cells]
    if not cells or not isinstance(cells, list) or not all(isinstance(c, str) and c for c in cells):
        raise ThresholdsError(f"{where.entry(index, 'cells')}: 'cells' must be a glob or a list of globs on cell "
                              f"ids, e.g. cells = \"corruption/*\"")  # fmt: skip
    limits = {}
    for key, value in entry.items():
        if key == "cells":
            continue
        if key not in LIMITS:
            raise ThresholdsError(f"{where.entry(index, key)}: unknown key {key!r}; known: cells, {', '.join(LIMITS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ThresholdsError(f"{where.entry(index, key)}: {key} must be a number from 0 to 1, got {value!r}")
        limits[key] = float(value)
    return Rule(tuple(cells), limits)


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
