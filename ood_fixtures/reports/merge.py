"""`ood-fixtures merge SHARD.json... --report-dir DIR`: the results.json of a run's --shard parts made into one
run's. The records are put together and everything that spans the run is computed over the whole: the release
gate against the baseline (the shards leave it out), the run-level figures, Holm's adjusted p-values. JUnit and
HTML are written from the merged document (each record a test, with the gate's tests after them). Exit status:
0 when every test of the whole passes, 1 when one fails, 2 when the files do not make one run.

A cell's own verdict is the shard's: each shard counted the whole run's cell tests before keeping its part, so
a cell is judged at the same level as in the unsharded run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ood_fixtures.gating.baseline import Baseline, BaselineError, read_results
from ood_fixtures.reports import document as documents
from ood_fixtures.reports.results import ResultsCollector

RECORDS = ("model", "summary", "timing", "cells", "properties", "diagnosis", "schema", "suite_version")
PER_MACHINE = ("shard", "thresholds", "baseline")  # may differ between the parts (paths on other runners)


class MergeError(ValueError):
    pass


def merge(paths: list[Path], baseline: Path | None = None) -> tuple[dict[str, Any], ResultsCollector]:
    """The merged document, and the collector that made it (its release gate for the JUnit report)."""
    parts = [read_results(path) for path in paths]
    _check_shards(paths, parts)
    run = {key: value for key, value in parts[0].items() if key not in RECORDS}
    for path, part in zip(paths[1:], parts[1:]):
        for key in sorted(set(run) | set(part)):
            if key not in RECORDS and key not in PER_MACHINE and part.get(key) != run.get(key):
                raise MergeError(f"{path} was run with {key} {part.get(key)!r}, {paths[0]} with {run.get(key)!r}: "
                                 f"the parts of one run share every option but --shard")  # fmt: skip
    run["shard"] = None
    gated = _baseline(run, baseline)
    collector = ResultsCollector(Path(), run, baseline=gated.document if gated else None)
    collector.model = parts[0]["model"]
    for part in parts:
        collector.cells.update((c["id"], _without_adjusted_p(c)) for c in part["cells"])
        collector.properties.update((p["property"], p) for p in part["properties"])
        collector.diagnosis.update((row["id"], row) for row in part["diagnosis"])
    if not (collector.cells or collector.properties or collector.diagnosis):
        raise MergeError("no part ran a test of the suite: check the parts' -k and -m")
    return collector.document(timing=_timing(parts)), collector


def _check_shards(paths: list[Path], parts: list[dict[str, Any]]) -> None:
    shards = [part.get("shard") for part in parts]
    if any(shard is None for shard in shards):
        unsharded = next(path for path, shard in zip(paths, shards) if shard is None)
        raise MergeError(f"{unsharded} is not a shard's results.json (run with --shard K/N)")
    counts = {n for _, n in shards}
    if len(counts) != 1:
        raise MergeError(f"the parts come from runs split in {sorted(counts)} parts; give the parts of one run")
    (n,) = counts
    given = sorted(k for k, _ in shards)
    if given != list(range(1, n + 1)):
        missing = sorted(set(range(1, n + 1)) - set(given))
        twice = sorted({k for k in given if given.count(k) > 1})
        raise MergeError(f"a run split in {n} parts needs each once: " + "; ".join(
            filter(None, [f"missing {missing}" if missing else "", f"given twice {twice}" if twice else ""])))


def _baseline(run: dict[str, Any], given: Path | None) -> Baseline | None:
    recorded = run.get("baseline")
    path = given or (Path(recorded) if recorded else None)
    if path is None:
        return None
    if not path.exists() and given is None:
        raise MergeError(f"the shards were gated against {recorded}, which is not here: give it with --baseline FILE")
    run["baseline"] = str(path)
    return Baseline.load(path, run["seed"], run["samples_per_cell"], run["severity_table"], run.get("image_size"))


def _without_adjusted_p(cell: dict[str, Any]) -> dict[str, Any]:
    comparison = cell["gate"].get("baseline")
    if not comparison or "p_adjusted" not in comparison:
        return cell
    return {**cell, "gate": {**cell["gate"], "baseline": {k: v for k, v in comparison.items() if k != "p_adjusted"}}}


def _timing(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The parts' seconds per family added up; each worker named by its part; the wall time of the longest part."""
    families: dict[str, float] = {}
    workers: dict[str, Any] = {}
    for part in parts:
        timing, (k, n) = part.get("timing") or {}, part["shard"]
        for family, seconds in timing.get("families", {}).items():
            families[family] = round(families.get(family, 0.0) + seconds, 1)
        workers.update((f"{k}/{n}:{name}", worker) for name, worker in timing.get("workers", {}).items())
    walls = [(part.get("timing") or {}).get("wall_seconds", 0.0) for part in parts]
    return {"wall_seconds": max(walls), "families": dict(sorted(families.items())), "workers": workers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ood-fixtures merge", description=__doc__.splitlines()[0])
    parser.add_argument("parts", type=Path, nargs="+", metavar="SHARD.json", help="each part's results.json")
    parser.add_argument("--report-dir", type=Path, default=Path("reports"), metavar="DIR",
                        help="where the merged results.json, junit.xml and report.html go (default: reports/)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="FILE",
                        help="the baseline the parts were gated against, where its recorded path is not here")
    args = parser.parse_args(argv)
    try:
        merged, collector = merge(args.parts, args.baseline)
    except (MergeError, BaselineError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from ood_fixtures.reports import junit, page  # only here: they import pytest's JUnit writer and jinja2

    args.report_dir.mkdir(parents=True, exist_ok=True)
    documents.write(args.report_dir / "results.json", merged)
    tests = junit.write(merged, collector.run_gate(), args.report_dir / "junit.xml")
    page.write(merged, tests, args.report_dir / "report.html", title=f"{len(args.parts)} shards merged")
    failed = sum(t.failed for t in tests)
    print(f"merged {len(args.parts)} parts: {len(tests)} tests, {failed} failed; reports in {args.report_dir}")
    return 1 if failed else 0
