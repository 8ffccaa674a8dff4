"""Cold vs warm (cached) wall time of the main job: what the cache saves on a rerun.

    python scripts/bench_cache.py [--model reference] [--workers 4] [pytest args...]

Runs `pytest benchmarks -n WORKERS --model MODEL` twice against one fresh cache directory and prints both wall
times and their ratio. A figure, not a test: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ood_fixtures.tools import cold_and_warm  # noqa: E402


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
