"""The suite's pytest plugin lives in ood_fixtures/plugin.py; this file only loads it for benchmarks/."""

pytest_plugins = ["ood_fixtures.plugin"]
