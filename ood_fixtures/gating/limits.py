"""The limits a thresholds file may set, one row each: what it bounds, in which direction, the values it may take,
what it judges, and the reason it gives when it fails.

A cell gives its measures (accuracy and its interval, retained, unparsed share, calibration) and a diagnosis row
its own (probe and its interval, mapping gap, zero-shot); `ood_fixtures.gating.verdict.decide` applies every limit
that judges that kind of record. Adding a gate statistic is one row here and, if the record does not give it yet,
one entry in its `measures()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

RETAINED_MAX = 10.0  # a retained share may pass 1: an in-context cell can be required to beat its zero-shot cell


@dataclass(frozen=True)
class Limit:
    """One limit. It fails when the record's `statistic` is below it ("min") or above it ("max").

    Args:
        name: the thresholds file's key.
        statistic: the measure it bounds, a key of the record's measures.
        direction: "min" or "max".
        top: the largest value a thresholds file may set (the range is 0 to top).
        judges: "cell", "row" (diagnosis rows) or "property" (read by the property tests, which apply their own
            exact test: the limit is validated here and judged there).
        description: what it means, for the file's readers and error messages.
        message: the reason when it fails: a format string over the measures and `limit`.
        missing: the reason when the record lacks the measure; None: the limit does not apply then.
    """

    name: str
    statistic: str
    direction: str
    top: float
    judges: str
    description: str
    message: str = ""
    missing: str | None = None


LIMITS: dict[str, Limit] = {limit.name: limit for limit in (
    Limit("min_accuracy", "ci_low", "min", 1.0, "cell", "lowest allowed Wilson 95% lower bound of accuracy",
          "accuracy {accuracy:.3f} (95% CI {ci_low:.3f}-{ci_high:.3f}, n={n}): lower bound below min_accuracy "
          "{limit:.3f}"),
    Limit("min_retained", "retained", "min", RETAINED_MAX, "cell",
          "lowest allowed accuracy relative to the reference (clean or source) cell",
          "retained {retained:.3f} of the reference accuracy, below min_retained {limit:.3f}"),
    Limit("max_unparsed", "unparsed_share", "max", 1.0, "cell", "highest allowed share of answers that named no label",
          "{unparsed} of {n} answers unparsed, above max_unparsed {limit:.3f}"),
    Limit("max_ece", "ece", "max", 1.0, "cell",
          "highest allowed expected calibration error (needs a model that gives scores)",
          "calibration error {ece:.3f} above max_ece {limit:.3f}",
          missing="max_ece is set but the model gives no scores to calibrate"),
    Limit("min_probe_accuracy", "probe_ci_low", "min", 1.0, "row",
          "lowest allowed Wilson 95% lower bound of the linear probe's accuracy",
          "linear probe {probe:.3f} (95% CI {probe_ci_low:.3f}-{probe_ci_high:.3f}, n={n}): lower bound below "
          "min_probe_accuracy {limit:.3f}"),
    Limit("max_mapping_gap", "mapping_gap", "max", 1.0, "row",
          "highest allowed linear-probe accuracy minus zero-shot accuracy",
          "mapping gap {mapping_gap:+.3f} (probe {probe:.3f} - zero-shot {zero_shot:.3f}) above max_mapping_gap "
          "{limit:.3f}"),
    Limit("min_agreement", "agreement", "min", 1.0, "property",
          "least share of answers a perturbation must keep (default 0.9); fails only when shown below"),
)}  # fmt: skip


def failure(limit: Limit, value: float, measures: Mapping[str, Any]) -> str | None:
    """The reason `limit` (set to `value`) fails on these measures, or None when it holds or does not apply."""
    measured = measures.get(limit.statistic)
    if measured is None:
        return limit.missing
    beyond = measured < value if limit.direction == "min" else measured > value
    return limit.message.format(**measures, limit=value) if beyond else None
