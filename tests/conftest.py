import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class SuiteRun:
    returncode: int
    output: str
    report_dir: Path

    def results(self) -> dict:
        return json.loads((self.report_dir / "results.json").read_text())


@pytest.fixture
def run_suite(tmp_path):
    """Runs `pytest benchmarks ...` in a subprocess from the repository root, as a user would; a `python:` model
    at 64 px unless the args say otherwise (the toy models state no size: native would draw at 224)."""

    def run(*args: str, report_dir: Path | None = None, env: dict | None = None) -> SuiteRun:
        report_dir = report_dir or tmp_path / "reports"
        toy = any(a.startswith("python:") for a in args) and not any(a.startswith("--image-size") for a in args)
        size = ["--image-size", "64"] if toy else []
        command = [sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider",
                   "--report-dir", str(report_dir), *size, *args]  # fmt: skip
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=1200)
        return SuiteRun(done.returncode, done.stdout + done.stderr, report_dir)

    return run
