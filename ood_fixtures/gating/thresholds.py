"""The thresholds file: limits from TOML, matched to cells, diagnosis rows and properties by glob.

A thresholds file names the models it is for (`models`, globs on the `--model` spec; every model if absent) and
holds a list of gate entries (`[[gate]]` tables, or one inline table a line in a `gate = [...]`
array, as the shipped file has). Each names cells by a glob on the cell id
(`family/scenario/shift[/severity]`, e.g. `corruption/shapes/gaussian_noise/*`) and sets any of the limits in
`ood_fixtures.gating.limits.LIMITS`. Entries apply in file order: for each limit, the last matching entry that
sets it wins, so a file reads from general to specific. An entry may name its own `models`. How limits decide is
`ood_fixtures.gating.verdict`.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ood_fixtures.gating.limits import LIMITS

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

SCHEMA_VERSION = 1


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
    models = _globs(data.get("models", "*"), lambda: where.top("models"), "models",
                    "model specs, e.g. models = \"reference\"")  # fmt: skip
    return Thresholds(str(path), tuple(_rule(entry, k, models, where) for k, entry in enumerate(entries)))


def _globs(value: Any, where: Callable[[], str], key: str, example: str) -> tuple[str, ...]:
    """`where` finds the line only for a message: finding every entry's line took 0.3 s of each process's start."""
    values = [value] if isinstance(value, str) else value
    if not values or not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ThresholdsError(f"{where()}: '{key}' must be a glob or a list of globs on {example}")
    return tuple(values)


def _rule(entry: dict[str, Any], index: int, models: tuple[str, ...], where: _Locator) -> Rule:
    cells = _globs(entry.get("cells"), lambda: where.entry(index, "cells"), "cells",
                   'cell ids, e.g. cells = "corruption/*"')  # fmt: skip
    if "models" in entry:
        models = _globs(entry["models"], lambda: where.entry(index, "models"), "models", "model specs")
    limits = {}
    for key, value in entry.items():
        if key in ("cells", "models"):
            continue
        if key not in LIMITS:
            raise ThresholdsError(f"{where.entry(index, key)}: unknown key {key!r}; "
                                  f"known: cells, models, {', '.join(LIMITS)}")
        top = LIMITS[key].top
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
