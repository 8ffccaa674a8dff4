"""The run-level release gate in the pytest run: one test per aggregate and one for the cells, reported after the
cell tests, and the gate's lines at the top of the terminal summary.

The aggregates need every cell's samples, which only the controller has once the workers are done, so they
cannot be collected test items: after the test loop, the controller makes a `TestReport` per aggregate and hands
it to `pytest_runtest_logreport` like any other test's. JUnit, pytest-html and the terminal record them as tests
(`release-gate::family/corruption`, ...), and a failing one fails the run (the session counts failed reports).
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from ood_fixtures.gating.release import AggregateGate, RunGate
from ood_fixtures.reports.results import ResultsCollector

PREFIX = "release-gate"


class ReleaseGatePlugin:
    """On the controller (or the only process), with --baseline."""

    def __init__(self, collector: ResultsCollector, samples: int) -> None:
        self.collector = collector
        self.samples = samples  # --samples, for the advice on what the cells can detect

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[None]:
        result = yield
        gate = self.collector.run_gate()
        if gate is not None and not session.shouldstop:
            made = reports(gate)
            session.testscollected += len(made)  # the terminal's progress counts them among the tests
            for report in made:
                session.config.hook.pytest_runtest_logstart(nodeid=report.nodeid, location=report.location)
                session.config.hook.pytest_runtest_logreport(report=report)
                session.config.hook.pytest_runtest_logfinish(nodeid=report.nodeid, location=report.location)
        return result

    @pytest.hookimpl(tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        gate = self.collector.run_gate()
        if gate is not None:
            first, *rest = summary_lines(gate, self.samples)
            terminalreporter.write_sep("-", first)
            for line in rest:
                terminalreporter.write_line(line)


def reports(gate: RunGate) -> list[pytest.TestReport]:
    """A report per aggregate, then one for the cells (Holm's rejections over the run)."""
    made = [_report(a.id, a.outcome == "fail", a.reason(), _properties(a)) for a in gate.aggregates]
    cells = gate.cells
    reason = (f"{len(cells.holm_failed)} cells regressed beyond the tolerance at the run's error rate (Holm): "
              + ", ".join(cells.holm_failed))  # fmt: skip
    counts = [("compared", cells.compared), ("failed", len(cells.holm_failed)),
              ("inconclusive", len(cells.inconclusive)), ("underpowered", len(cells.underpowered))]
    made.append(_report("cells", cells.outcome == "fail", reason, counts))
    return made


def _report(name: str, failed: bool, reason: str, properties: list[tuple[str, object]]) -> pytest.TestReport:
    nodeid = f"{PREFIX}::{name}"
    return pytest.TestReport(
        nodeid, (PREFIX, None, name), {PREFIX: 1}, "failed" if failed else "passed",
        f"{nodeid}: {reason}" if failed else None, "call", user_properties=properties,
    )  # fmt: skip


def _properties(a: AggregateGate) -> list[tuple[str, object]]:
    d = a.to_dict()
    keys = ("cells", "baseline", "value", "ci_low", "ci_high", "p_value", "p_adjusted", "detectable", "limit")
    return [(k, f"{d[k]:.4g}" if isinstance(d[k], float) else d[k]) for k in keys if d[k] is not None]


def summary_lines(gate: RunGate, samples: int) -> list[str]:
    """The gate's verdict first, then its failing aggregates, then what the cells can and cannot detect."""
    failing = [a for a in gate.aggregates if a.outcome == "fail"]
    cells = gate.cells
    lines = [f"release gate vs baseline: {gate.outcome.upper()} ({len(failing)} of {len(gate.aggregates)} aggregates "
             f"and {len(cells.holm_failed)} of {cells.compared} cells regressed beyond the "
             f"{gate.tolerance * 100:g}-point tolerance; false-alarm rate {gate.budget.alpha:g} over the run)"]
    lines += [f"  {a.id}: {a.reason()}" for a in failing]
    if cells.holm_failed:
        lines.append(f"  cells: {', '.join(cells.holm_failed)}")
    sensitive = sorted((a for a in gate.aggregates if a.detectable is not None and a.measured.aggregate.kind != "mce"),
                       key=lambda a: a.detectable)  # fmt: skip
    if sensitive:
        lines.append(f"  the aggregates detect drops of {sensitive[0].detectable * 100:.1f} "
                     f"({sensitive[0].id}) to {sensitive[-1].detectable * 100:.1f} points ({sensitive[-1].id})")
    if cells.underpowered:
        span = ""
        if cells.detectable_range:
            low, high = (round(x * 100) for x in cells.detectable_range)
            span = f" (alone they detect drops of {low}{f'-{high}' if high != low else ''} points)"
        advice = (f"; --samples {cells.samples_to_detect} would let each detect 10 points"
                  if cells.samples_to_detect else "")  # fmt: skip
        lines.append(f"  {len(cells.underpowered)} of {cells.compared} cells cannot detect a 10-point drop at "
                     f"--samples {samples}{span}{advice}; the aggregates pool them")
    if cells.inconclusive:
        lines.append(f"  {len(cells.inconclusive)} cells inconclusive (beyond the tolerance at p<0.05 alone, not at "
                     f"the run's error rate; results.json says how many samples would decide): "
                     f"{', '.join(cells.inconclusive[:4])}{', ...' if len(cells.inconclusive) > 4 else ''}")
    return lines
