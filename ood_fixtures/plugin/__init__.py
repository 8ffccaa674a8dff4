"""The suite's pytest plugin: the package's `pytest11` entry point names this module (in a clone without the
package installed, the clone's conftest.py loads it). It imports pytest alone; the run is set up only in a session
that uses the suite (`hooks` says when). Hooks and fixtures only; what they call lives in the packages beside
this one.

- `hooks`: the options, when the plugin acts, and the counts of tests that share an error budget;
- `build`: the run's set-up once it acts: everything the options name checked before any test (one usage error,
  exit 4); on the controller the report plugins and their output paths;
- `collection`: `@cells(table)`, parametrizing a test over a table of the run's catalog;
- `fixtures`: `model`, `evaluate`, `diagnose`, `record_finding`, `agreement_level`, `ood_run`; `assert_gate`;
- `reporting`: each test's record onto its test report, for the controller's reports;
- `options` (command line -> `RunOptions`), `run` (what a process knows of the run), `environment` (thread
  shares, hypothesis profiles).

Benchmark modules import `assert_gate`, `cells` (and `real_datasets`) from here; a user's test module imports
`ood_fixtures.api`.
"""

from __future__ import annotations

import importlib
from typing import Any

pytest_plugins = ["ood_fixtures.plugin.hooks", "ood_fixtures.plugin.collection", "ood_fixtures.plugin.fixtures",
                  "ood_fixtures.plugin.reporting"]  # fmt: skip

__all__ = ["assert_gate", "cells", "real_datasets"]
_HOMES = {"assert_gate": "fixtures", "cells": "collection", "real_datasets": "fixtures"}


def __getattr__(name: str) -> Any:
    """The names above, from their modules on first use: importing them here, before pytest registers them from
    `pytest_plugins`, would keep pytest from rewriting their asserts (and it warns so)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
