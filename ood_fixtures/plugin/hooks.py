"""When the plugin acts, and its set-up hooks.

The package's `pytest11` entry point registers the plugin in every pytest session of an environment that has it
installed, so it acts only in a session that uses the suite, and imports pytest alone until then (no torch, no
generators: an unrelated project's `pytest` runs as fast as without it). How a session uses the suite, its mode:
- "benchmarks": it runs the standard benchmarks (an argument inside `ood_fixtures.benchmarks`, which is the
  clone's benchmarks/; `ood-fixtures run`). Set up at configure time; JUnit and HTML default into --report-dir,
  hypothesis runs the suite's `ci` profile, each xdist worker gets its share of the cores.
- "options": one of the suite's options is given (`--model`, `--baseline`, ...). Set up and checked at configure
  time, results.json written; JUnit, HTML and hypothesis settings stay the session's own.
- "lazy": neither, but a selected test uses the suite's fixtures (a user's own test file with the default options).
  Set up on first need: collecting an `@cells` test, or when the collected tests include one that uses `ood_run`
  (every fixture of the suite does); an xdist controller, which collects nothing, when the first record arrives.
A session with none of these only has the options in --help.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ood_fixtures.plugin.options import add_options, benchmarks_folder, given

if TYPE_CHECKING:
    from ood_fixtures.plugin.run import Run

RUN = pytest.StashKey["Run"]()
MODE = pytest.StashKey[str]()
RECORDS = ("ood_cell", "ood_property", "ood_diagnosis")  # what a test report carries (`reporting`)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)  # before junitxml and pytest-html read their output paths
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("help", False):
        return
    worker = getattr(config, "workerinput", None)
    mode = worker["ood_mode"] if worker is not None and "ood_mode" in worker else _mode(config)
    config.stash[MODE] = mode
    if mode != "lazy":
        activate(config)
    elif worker is None and config.getoption("dist", "no") != "no":  # an xdist controller (xdist set dist by now)
        config.pluginmanager.register(LazyController(config), "ood-lazy-controller")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: each worker takes the controller's mode (the controller alone saw the arguments as given)."""
    node.workerinput["ood_mode"] = node.config.stash[MODE]


def activate(config: pytest.Config) -> Run:
    """The run of this process, set up on first call (`ood_fixtures.plugin.build`); on the controller also the
    report plugins."""
    run = config.stash.get(RUN, None)
    if run is None:
        from ood_fixtures.plugin import build  # only here: it imports the generators, adapters and catalog

        mode = config.stash.get(MODE, "lazy")
        run = config.stash[RUN] = build.run(config, mode)
        if not hasattr(config, "workerinput"):
            build.controller(config, run, mode)
    return run


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start a lazy run whose tests use the suite's fixtures; count the tests that share an error budget: the
    cell tests (they use `evaluate`; with a baseline each fails only below its share of the run's error rate) and
    the agreement properties (they use `agreement_level`); then keep this --shard's part. The counts are of the
    whole selection, so that a shard's gates are those of the unsharded run. Every xdist worker collects and
    selects the same items, so all agree on the counts and the parts."""
    uses = [getattr(item, "fixturenames", ()) for item in items]
    if RUN not in config.stash and not any("ood_run" in names for names in uses):
        return
    run = activate(config)
    run.cell_tests = max(1, sum("evaluate" in names for names in uses))
    run.agreement_tests = max(1, sum("agreement_level" in names for names in uses))
    if run.options.shard is not None:
        k, n = run.options.shard
        kept = set(range(k - 1, len(items), n))  # every n-th test from the k-th: parts alike in mix and size
        config.hook.pytest_deselected(items=[item for i, item in enumerate(items) if i not in kept])
        items[:] = [item for i, item in enumerate(items) if i in kept]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A --shard part whose share of the selection is empty passed (a CI matrix wider than the selection); the
    merge says so if no part ran anything."""
    run = session.config.stash.get(RUN, None)
    if run is not None and run.options.shard is not None and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


class LazyController:
    """On the controller of a lazy session: starts the run at the first test report that carries a record, and
    hands that report on to the report plugins, which were not registered when pytest called them for it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if RUN in self.config.stash or not any(hasattr(report, name) for name in RECORDS):
            return
        activate(self.config)
        for plugin in (self.config.pluginmanager.get_plugin(n) for n in ("ood-results", "ood-html")):
            if plugin is not None:
                plugin.pytest_runtest_logreport(report=report)


def _mode(config: pytest.Config) -> str:
    folder = benchmarks_folder()
    if any(_inside(arg, config.invocation_params.dir, folder) for arg in config.args):
        return "benchmarks"
    if config.getoption("pyargs", False) and any(a.startswith("ood_fixtures.benchmarks") for a in config.args):
        return "benchmarks"
    return "options" if given(config) else "lazy"


def _inside(arg: str, start: Path, folder: Path) -> bool:
    path = (start / arg.split("::")[0]).resolve()
    return path == folder or folder in path.parents
