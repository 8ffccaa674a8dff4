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
import markupsafe
import pytest

from ood_fixtures.evaluation import diagnosis
from ood_fixtures.evaluation.properties import Finding
from ood_fixtures.evaluation.score import CellResult
from ood_fixtures.images import to_base64
from ood_fixtures.reports.results import ResultsCollector

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("ood_fixtures.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def examples_html(result: CellResult) -> str:
    examples = [
        {"png": to_base64(image), "label": s.label, "prediction": s.prediction, "correct": s.correct, "text": s.text}
        for s, image in result.examples
    ]
    return TEMPLATES.get_template("examples.html.j2").render(examples=examples)


def finding_html(finding: Finding) -> str:
    pair = None
    if finding.pair is not None:
        before, clean, after, changed = finding.pair
        pair = {"label": before.label, "before": before.prediction, "after": after.prediction,
                "clean": to_base64(clean), "changed": to_base64(changed)}  # fmt: skip
    return TEMPLATES.get_template("finding.html.j2").render(finding=finding.to_dict(), pair=pair)


def summary_html(document: dict[str, Any], examples: dict[str, str] | None = None,
                 findings: dict[str, str] | None = None) -> str:  # fmt: skip
    """The summary on top of report.html; `examples` maps cell ids to their rendered example images, shown as
    one gallery row per domain for the families that are not corruption sweeps."""
    cells = document["cells"]
    counts = Counter({"pass": 0, "fail": 0, "inconclusive": 0, "ungated": 0})
    counts.update(c["gate"]["outcome"] for c in cells)
    failures = [c for c in cells if c["gate"]["outcome"] == "fail"]
    changes = sorted(
        (c for c in cells if c["gate"].get("baseline") and c["gate"]["baseline"]["delta"] != 0),
        key=lambda c: c["gate"]["baseline"]["delta"],
    )
    return TEMPLATES.get_template("summary.html.j2").render(
        model={"spec": "?", "fingerprint": None, **document["model"]},
        run=document, counts=counts, failures=failures, grids=_grids(cells), changes=changes[:20],
        curves=_png_figure(severity_curves(cells)), gallery=_gallery(cells, examples or {}),
        properties=_properties(document.get("properties", []), findings or {}),
        icl=document["summary"].get("icl"), icl_curves=_png_figure(icl_curves(document["summary"].get("icl"))),
        diagnosis=document.get("diagnosis", []), rules=diagnosis, gate=document["summary"].get("release_gate"),
    )


def _properties(properties: list[dict[str, Any]], findings: dict[str, str]) -> list[dict[str, Any]]:
    # Findings were rendered by our autoescaped template, so they are inserted as they are (Markup).
    return [{**p, "html": markupsafe.Markup(findings.get(p["property"], ""))} for p in properties]


def _gallery(cells: list[dict[str, Any]], examples: dict[str, str]) -> list[dict[str, Any]]:
    # The examples were rendered by our autoescaped template, so they are inserted as they are (Markup).
    return [
        {"id": c["id"], "accuracy": c["accuracy"], "html": markupsafe.Markup(examples[c["id"]])}
        for c in cells
        if c["family"] not in ("corruption", "icl") and c["id"] in examples
    ]


def severity_curves(cells: list[dict[str, Any]]):
    """Accuracy against severity, one line per shift with its 95% interval, a panel per ImageNet-C group."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from generators.corruptions import CORRUPTIONS, GROUPS

    clean = {c["scenario"]: c for c in cells if c["family"] == "corruption" and c["shift"] == "clean"}
    lines: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for c in cells:
        if c["family"] == "corruption" and c["shift"] in CORRUPTIONS:
            group = CORRUPTIONS[c["shift"]].group
            lines.setdefault(group, {}).setdefault(f"{c['scenario']}/{c['shift']}", []).append(c)
    if not lines:
        return None
    groups = [g for g in GROUPS if g in lines]
    figure, axes = plt.subplots(1, len(groups), figsize=(3.2 * len(groups), 2.8), sharey=True, squeeze=False)
    for ax, group in zip(axes[0], groups):
        for name, members in sorted(lines[group].items()):
            scenario = name.split("/")[0]
            points = ([clean[scenario]] if scenario in clean else []) + sorted(members, key=lambda c: c["severity"])
            x = [p["severity"] for p in points]
            y = [p["accuracy"] for p in points]
            low = [p["accuracy"] - p["ci_low"] for p in points]
            high = [p["ci_high"] - p["accuracy"] for p in points]
            ax.errorbar(x, y, yerr=[low, high], marker="o", markersize=3, capsize=2, linewidth=1.2,
                        label=name.split("/")[1])  # fmt: skip
        _accuracy_panel(ax, group, "severity (0 = clean)", "lower left")
    axes[0][0].set_ylabel("accuracy", fontsize=8)
    figure.tight_layout()
    return figure


def _accuracy_panel(ax, title: str, xlabel: str, legend: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, loc=legend)


def icl_curves(icl: dict[str, Any] | None):
    """Accuracy against the number of examples, a panel per in-context scenario, a line per setting."""
    if not icl:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    scenarios = sorted(icl["curves"])
    figure, axes = plt.subplots(1, len(scenarios), figsize=(3.2 * len(scenarios), 2.8), sharey=True, squeeze=False)
    for ax, scenario in zip(axes[0], scenarios):
        for setting, points in sorted(icl["curves"][scenario].items()):
            ax.plot([x for x, _ in points], [y for _, y in points], marker="o", markersize=3, linewidth=1.2,
                    label=setting)  # fmt: skip
        _accuracy_panel(ax, scenario, "examples per query", "lower right")
    axes[0][0].set_ylabel("accuracy", fontsize=8)
    figure.tight_layout()
    return figure


def _png_figure(figure) -> str | None:
    if figure is None:
        return None
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


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
        self.examples: dict[str, str] = {}
        self.findings: dict[str, str] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        cell = getattr(report, "ood_cell", None)
        if cell is not None and getattr(report, "ood_examples", None):
            self.examples[cell["id"]] = report.ood_examples
        finding = getattr(report, "ood_property", None)
        if finding is not None and getattr(report, "ood_finding_html", None):
            self.findings[finding["property"]] = report.ood_finding_html

    @pytest.hookimpl
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        if self.collector.cells or self.collector.properties or self.collector.diagnosis:
            prefix.append(summary_html(self.collector.document(), self.examples, self.findings))
