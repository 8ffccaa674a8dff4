"""The verdict of a cell or diagnosis row: its thresholds limits (`ood_fixtures.gating.limits`) and, for cells,
the baseline comparison (`ood_fixtures.gating.baseline`).

A record fails when a limit or the comparison fails; an inconclusive comparison fails only under --strict-gate
(pytest owns --strict), which gives up the run-wide error control for those cells. A record with neither limits
nor a baseline is `ungated`: reported, never failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ood_fixtures.gating.baseline import Comparison
from ood_fixtures.gating.limits import LIMITS, failure


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


UNGATED = Verdict("ungated", {})


def decide(judges: str, limits: Mapping[str, float], measures: Mapping[str, Any],
           comparison: Comparison | None = None, strict: bool = False) -> Verdict:  # fmt: skip
    """The verdict of a record of kind `judges` ("cell" or "row") from the limits the thresholds file sets for
    it (those of other kinds are left out) and its measures."""
    own = {name: value for name, value in limits.items() if LIMITS[name].judges == judges}
    if not own and comparison is None:
        return UNGATED
    # in the table's order, whatever order the file set them in
    reasons = [reason for name, limit in LIMITS.items()
               if name in own and (reason := failure(limit, own[name], measures)) is not None]  # fmt: skip
    undecided = False
    if comparison is not None and comparison.outcome != "pass":
        reason = _regression(comparison, strict)
        if reason is None:
            undecided = True
        else:
            reasons.append(reason)
    outcome = "fail" if reasons else "inconclusive" if undecided else "pass"
    return Verdict(outcome, own, tuple(reasons), comparison)


def _regression(c: Comparison, strict: bool) -> str | None:
    """The reason a failing (or, under --strict-gate, inconclusive) comparison gives; None: undecided."""
    change = (f"{c.delta * 100:+.1f} points vs baseline {c.baseline_accuracy:.3f} (95% CI {c.ci_low * 100:+.1f} "
              f"to {c.ci_high * 100:+.1f}; {c.worse} worse, {c.better} better)")  # fmt: skip
    if c.outcome == "fail":
        return (f"regression: {change}; drop beyond the tolerance at p={c.p_value:.2g}, below this cell's share of "
                f"the run's error rate ({c.level:.2g})")
    if strict:
        return (f"inconclusive under --strict-gate: {change}; p={c.p_value:.2g} for this cell alone, not below its "
                f"share of the run's error rate ({c.level:.2g})")
    return None
