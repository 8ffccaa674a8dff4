"""What junit.xml records about each cell and diagnosis row: testcase properties (pytest's `user_properties`),
which CI systems show beside the test."""

from __future__ import annotations

from ood_fixtures.evaluation.diagnosis import Diagnosis
from ood_fixtures.evaluation.score import CellResult

Properties = list[tuple[str, object]]


def cell_properties(result: CellResult) -> Properties:
    a = result.accuracy
    found: Properties = [
        ("accuracy", f"{a.value:.4f}"), ("n", a.n), ("ci_low", f"{a.ci_low:.4f}"), ("ci_high", f"{a.ci_high:.4f}"),
        ("retained", "" if result.retained is None else f"{result.retained:.4f}"), ("unparsed", result.unparsed),
        ("gate", result.verdict.outcome),
    ]  # fmt: skip
    c = result.verdict.comparison
    if c is not None:
        found += [("baseline_accuracy", f"{c.baseline_accuracy:.4f}"), ("baseline_delta", f"{c.delta:+.4f}"),
                  ("p_value", f"{c.p_value:.4g}")]  # fmt: skip
    return found


def row_properties(row: Diagnosis) -> Properties:
    return [("zero_shot", f"{row.zero_shot:.4f}"), ("probe", f"{row.probe:.4f}"), ("mapping_gap", f"{row.gap:+.4f}"),
            ("verdict", row.explanation), ("gate", row.verdict.outcome)]  # fmt: skip
