"""report.html: pytest-html's report with the cell table on top and example images inside each test's row.

Model text is untrusted (a generative model may answer with markup): every value goes through jinja2's
autoescaping, never through string formatting into HTML.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from typing import Any

import jinja2
import numpy as np
import pytest
from PIL import Image

from ood_fixtures.evaluate import CellResult
from ood_fixtures.results import ResultsCollector

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("ood_fixtures", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _png(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def examples_html(result: CellResult) -> str:
    examples = [
        {"png": _png(image), "label": s.label, "prediction": s.prediction, "correct": s.correct, "text": s.text}
        for image, s in zip(result.examples, result.samples)
    ]
    return _TEMPLATES.get_template("examples.html.j2").render(examples=examples)


def summary_html(document: dict[str, Any]) -> str:
    cells = document["cells"]
    counts = Counter({"pass": 0, "fail": 0, "ungated": 0})
    counts.update(c["gate"]["outcome"] for c in cells)
    failures = [c for c in cells if c["gate"]["outcome"] == "fail"]
    return _TEMPLATES.get_template("summary.html.j2").render(
        model={"spec": "?", "fingerprint": None, **document["model"]},
        run=document, counts=counts, failures=failures, grids=_grids(cells),
    )


def _grids(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One shift x severity table per (family, scenario), in results order (clean or source first)."""
    grids: dict[tuple[str, str], dict[str, dict[Any, dict[str, Any]]]] = {}
    for cell in cells:
        grids.setdefault((cell["family"], cell["scenario"]), {}).setdefault(cell["shift"], {})[cell["severity"]] = cell
    out = []
    for (family, scenario), rows in grids.items():
        severities = sorted({s for row in rows.values() for s in row}, key=lambda s: (s is None, s or 0))
        out.append({
            "family": family, "scenario": scenario, "severities": severities,
            "rows": [{"shift": shift, "cells": [row.get(s) for s in severities]} for shift, row in rows.items()],
        })  # fmt: skip
    return out


class HtmlSummary:
    """Registered only where pytest-html is active: its hooks exist only then."""

    def __init__(self, collector: ResultsCollector) -> None:
        self.collector = collector

    @pytest.hookimpl
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        if self.collector.cells:
            prefix.append(summary_html(self.collector.document()))
