"""The suite's pytest plugin (conftest.py loads it for benchmarks/). Hooks and fixtures only; what they call lives
in the packages beside this one.

- `hooks`: configure (every process: markers, options, thresholds, baseline and `--model` checked before any test;
  on the controller the report plugins), the counts of tests that share an error budget;
- `collection`: `@cells(table)`, parametrizing a test over a table of the run's catalog;
- `fixtures`: `model`, `evaluate`, `diagnose`, `record_finding`, `agreement_level`, `ood_run`; `assert_gate`;
- `reporting`: each test's record onto its test report, for the controller's reports;
- `options` (command line -> `RunOptions`), `run` (what a process knows of the run), `environment` (thread
  shares, hypothesis profiles).

Benchmark modules import `assert_gate`, `cells` (and `real_datasets`) from here.
"""

from ood_fixtures.plugin.collection import cells
from ood_fixtures.plugin.fixtures import assert_gate, real_datasets

pytest_plugins = ["ood_fixtures.plugin.hooks", "ood_fixtures.plugin.collection", "ood_fixtures.plugin.fixtures",
                  "ood_fixtures.plugin.reporting"]  # fmt: skip

__all__ = ["assert_gate", "cells", "real_datasets"]
