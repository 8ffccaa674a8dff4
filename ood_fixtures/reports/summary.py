"""Run-level figures computed from all cells: per family the reference and the worst cell, and ImageNet-C's
mean corruption error against the baseline release."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ood_fixtures.gating.aggregates import is_reference
from ood_fixtures.stats import metrics


def summarize(cells: list[dict[str, Any]], baseline: dict[str, Any] | None) -> dict[str, Any]:
    families: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cell in cells:
        families[cell["family"]].append(cell)
    summary: dict[str, Any] = {"families": {name: _family(members) for name, members in families.items()}}
    if baseline is not None:
        summary["corruption_errors"] = _corruption_errors(cells, baseline)
    return summary


def _family(cells: list[dict[str, Any]]) -> dict[str, Any]:
    references = [c for c in cells if is_reference(c)]
    shifted = [c for c in cells if not is_reference(c)] or cells
    worst = min(shifted, key=lambda c: (c["accuracy"], c["id"]))
    return {
        "cells": len(cells),
        "reference_accuracy": {c["id"]: c["accuracy"] for c in references},
        "mean_accuracy": sum(c["accuracy"] for c in shifted) / len(shifted),
        "worst": {"id": worst["id"], "accuracy": worst["accuracy"]},
    }


def _corruption_errors(cells: list[dict[str, Any]], baseline: dict[str, Any]) -> dict[str, Any]:
    """CE per corruption (summed error over severities, over the baseline's) and their mean, mCE."""
    old = {c["id"]: c for c in baseline["cells"]}
    errors: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for cell in cells:
        if cell["family"] == "corruption" and cell["severity"] and cell["id"] in old:
            errors[cell["shift"]][0].append(1 - cell["accuracy"])
            errors[cell["shift"]][1].append(1 - old[cell["id"]]["accuracy"])
    per_shift = {shift: metrics.corruption_error(new, base) for shift, (new, base) in sorted(errors.items())}
    defined = [ce for ce in per_shift.values() if ce is not None]
    return {"per_corruption": per_shift, "mce": sum(defined) / len(defined) if defined else None}
