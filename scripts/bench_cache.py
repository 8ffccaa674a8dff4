"""Cold vs warm (cached) wall time of the main job: what the cache saves on a rerun.

    python scripts/bench_cache.py [--model reference] [--workers 4] [pytest args...]

Runs `pytest benchmarks -n WORKERS --model MODEL` twice against one fresh cache directory and prints both wall
times and their ratio. A figure, not a test: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pytest_run(*args: str) -> float:
    """Wall time of `pytest benchmarks ARGS`; gate failures (exit 1) count as a run, anything else stops."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    if done.returncode not in (0, 1):
        sys.exit(f"pytest {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - started


def cold_and_warm(*args: str) -> tuple[float, float]:
    """Wall times of two runs of `pytest benchmarks ARGS` against one fresh cache."""
    with tempfile.TemporaryDirectory() as scratch:
        return pytest_run(*args, "--report-dir", scratch), pytest_run(*args, "--report-dir", scratch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="reference")
    parser.add_argument("--workers", default="4")
    args, extra = parser.parse_known_args()
    cold, warm = cold_and_warm("-n", args.workers, "--model", args.model, *extra)
    print(f"model {args.model}, -n {args.workers}: cold {cold:.1f} s, warm {warm:.1f} s, "
          f"warm is {cold / warm:.1f}x faster")


if __name__ == "__main__":
    main()
