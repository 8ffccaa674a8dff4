"""report.html written from a results.json (`ood-fixtures merge`): the run's summary, as pytest-html's report shows
it on top, and a table of the tests. The example images of each test's row travel only on test reports, so a
page made from results.json has none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import markupsafe
import pytest

from ood_fixtures.reports.html import TEMPLATES, summary_html


def write(document: dict[str, Any], tests: list[pytest.TestReport], path: Path, title: str) -> None:
    rows = [{"test": t.nodeid, "outcome": t.outcome, "reason": t.longrepr or ""} for t in tests]
    rows.sort(key=lambda row: (row["outcome"] != "failed", row["test"]))  # failures first
    note = (f"{sum(t.failed for t in tests)} of {len(tests)} tests failed; model {document['model'].get('spec')}, "
            f"seed {document['seed']}, {document['samples_per_cell']} images per cell.")
    summary = markupsafe.Markup(summary_html(document))  # made by our autoescaped template
    html = TEMPLATES.get_template("page.html.j2").render(title=title, note=note, tests=rows, summary=summary)
    path.write_text(html, encoding="utf-8")
