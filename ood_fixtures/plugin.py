"""The pytest plugin: options, fixtures, per-cell recording and the wiring of the three reports.

Where things happen:
- configure (every process): options are read and validated, the thresholds file is loaded, the `--model`
  spec is checked without loading weights. Any problem stops the run with one usage error before a test runs.
- the `model` fixture (session scope): a handle on the model for each process (so each xdist worker); the
  model is loaded once, when a cell first needs answers that the cache does not hold.
- the `evaluate` fixture: a test hands it a Cell; it returns the gated result and records it on the test
  (JUnit properties, the results.json record and the HTML examples travel on the test report).
- the controller collects the records and writes results.json; pytest's junitxml and pytest-html write the
  other two, pointed at --report-dir unless the user pointed them elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest

from generators.corruptions import CORRUPTIONS, GROUPS, SEVERITY_TABLE_VERSION
from ood_fixtures import adapters, diagnosis, evaluate as evaluation, gate, properties
from ood_fixtures.adapters import Settings, SpecError, Unsupported
from ood_fixtures.baseline import Baseline, BaselineError
from ood_fixtures.datasets import DatasetError, RealDatasets, open_root
from ood_fixtures.diagnosis import Diagnosis
from ood_fixtures.evaluate import CellResult, Gating
from ood_fixtures.model import ModelLoadError, ModelUnderTest
from ood_fixtures.options import RunOptions, add_options, read_options
from ood_fixtures.properties import Finding
from ood_fixtures.release import Budget
from ood_fixtures.results import ResultsCollector
from ood_fixtures.scenarios import Cell

# One marker per family of shifts, and per ImageNet-C group from the severity table itself (a new group needs no
# edit here).
FAMILY_MARKERS = {
    "corruption": "ImageNet-C corruption cells",
    "synthetic": "coloured digits (spurious colour), rotated digits, compositional pattern+shape classes",
    "natural": "objects in other styles: sketch, cartoon, painting, quickdraw",
    "medical": "histology under other hospitals' stains, chest x-rays from other scanners",
    "molecular": "molecule drawings under scaffold, size and drawing-style shifts",
    "real": "the study's real datasets, from --data-root",
    "properties": "property-based checks: invariance, option order, severity curves",
    "icl": "in-context examples under shift: target vs source examples, skewed labels, a spurious feature",
    "diagnosis": "why accuracy drops: linear probe on the model's features, mapping gap, descriptive labels",
}
MARKERS = FAMILY_MARKERS | {
    group: f"ImageNet-C {group} corruptions ({', '.join(n for n, c in CORRUPTIONS.items() if c.group == group)})"
    for group in GROUPS
}

RUN = pytest.StashKey["Run"]()
RESULT = pytest.StashKey[CellResult]()
MODEL = pytest.StashKey[ModelUnderTest]()
FINDING = pytest.StashKey[Finding]()
DIAGNOSIS = pytest.StashKey[Diagnosis]()


class Run:
    """What one process knows about the run: options, thresholds, and the cells it has evaluated."""

    def __init__(self, options: RunOptions, thresholds: gate.Thresholds, baseline: Baseline | None,
                 real_datasets: RealDatasets | None = None) -> None:  # fmt: skip
        self.options = options
        self.thresholds = thresholds
        self.baseline = baseline
        self.real_datasets = real_datasets  # what --data-root holds, listed once per process
        self.results: dict[str, CellResult] = {}
        self.cell_tests = 1  # the selected tests that gate a cell (set after collection): they share the cell budget
        self.agreement_tests = 1  # the selected invariance and option-order tests: they share AGREEMENT_ALPHA

    @property
    def budget(self) -> Budget:
        return Budget(self.options.alpha, self.cell_tests)

    def evaluate(self, cell: Cell, model: ModelUnderTest, module: Path) -> CellResult:
        """The cell's result; a cell is evaluated once per process, also when other cells use it as reference.
        `module` is the file that defines the cell (its code is part of the cell's cache key)."""
        if cell.id not in self.results:
            reference = self.evaluate(cell.reference, model, module).accuracy.value if cell.reference else None
            samples, examples = model.answers(cell, self.options.seed, self.options.samples, module)
            gating = Gating(
                self.thresholds.limits_for(cell.id, self.options.model),
                self.baseline, self.options.tolerance, self.options.strict, self.budget.cell_level,
            )  # fmt: skip
            self.results[cell.id] = evaluation.score(cell, samples, examples, reference, gating)
        return self.results[cell.id]

    def limits(self, gated_id: str) -> dict[str, float]:
        """The thresholds file's limits for a cell, diagnosis row or property id under this run's model."""
        return self.thresholds.limits_for(gated_id, self.options.model)

    def diagnose(self, cell: Cell, model: ModelUnderTest, module: Path) -> Diagnosis:
        """The diagnosis row of a target cell, on its first SAMPLES_PER_SAMPLE_COUNT x --samples images."""
        count = diagnosis.SAMPLES_PER_SAMPLE_COUNT * self.options.samples
        measurement = model.diagnosis(cell, self.options.seed, count, module)
        limits = self.thresholds.limits_for(diagnosis.diagnosis_id(cell), self.options.model)
        return diagnosis.decide(cell, measurement, limits)

    def summary(self) -> dict[str, Any]:
        return {
            "model_spec": self.options.model,
            "seed": self.options.seed,
            "samples_per_cell": self.options.samples,
            "severity_table": SEVERITY_TABLE_VERSION,
            "thresholds": str(self.options.thresholds),
            # False: no thresholds entry names this model, so its cells are gated against the baseline alone
            "thresholds_cover_model": self.thresholds.covers(self.options.model),
            "baseline": str(self.options.baseline) if self.baseline else None,
            "regression_tolerance": self.options.tolerance,
            "gate_alpha": self.options.alpha,
            "strict": self.options.strict,
        }


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)  # before junitxml and pytest-html read their output paths
def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    if config.getoption("help", False):
        return
    _hypothesis_profiles(config)
    options = read_options(config)
    try:
        thresholds = gate.load(options.thresholds)
        adapters.check(options.model, settings_of(options))
        baseline = _load_baseline(options)
        # a wrong layout is one error here, not one per test
        real = open_root(options.data_root, options.samples) if options.data_root is not None else None
    except (gate.ThresholdsError, SpecError, BaselineError, DatasetError) as error:
        raise pytest.UsageError(str(error)) from None
    run = Run(options, thresholds, baseline, real)
    config.stash[RUN] = run

    if hasattr(config, "workerinput"):
        return  # reports are written by the controller
    _share_cores(config)
    _default_report_paths(config, options)
    collector = ResultsCollector(
        options.report_dir / "results.json", run.summary(),
        baseline=baseline.document if baseline else None,
        copy_to=options.baseline if options.update_baseline else None,
    )  # fmt: skip
    config.pluginmanager.register(collector, "ood-results")
    if baseline is not None:
        from ood_fixtures.release_plugin import ReleaseGatePlugin

        config.pluginmanager.register(ReleaseGatePlugin(collector, options), "ood-release-gate")
    if config.pluginmanager.hasplugin("html"):
        from ood_fixtures.html import HtmlSummary

        config.pluginmanager.register(HtmlSummary(collector), "ood-html")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Count the tests that share an error budget: the cell tests (they use `evaluate`; with a baseline each fails
    only below its share of the run's error rate) and the agreement properties (they use `agreement_level`).
    Every xdist worker collects and selects the same items, so all agree on the counts."""
    run = session.config.stash.get(RUN, None)
    if run is not None:
        uses = [getattr(item, "fixturenames", ()) for item in session.items]
        run.cell_tests = max(1, sum("evaluate" in names for names in uses))
        run.agreement_tests = max(1, sum("agreement_level" in names for names in uses))


# Thread pools that size themselves to every core: BLAS under numpy, scipy and scikit-learn, OpenMP under torch,
# OpenCV's. In every xdist worker each would take all cores, and oversubscribed pools spin against each other
# (the main job at -n 2 took 65 s with them, 54 s without).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM")


def _share_cores(config: pytest.Config) -> None:
    """Each xdist worker gets its share of the cores. Set on the controller before the workers start, so that
    every library reads it when a worker imports it; a value the user set is kept."""
    workers = getattr(config.option, "numprocesses", None)
    if not isinstance(workers, int) or workers < 1:
        return
    share = str(max(1, len(os.sched_getaffinity(0)) // workers))
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, share)


def real_datasets(config: pytest.Config) -> RealDatasets | None:
    """The (dataset, domain) sources under --data-root and a line per absent dataset; None without --data-root."""
    return config.stash[RUN].real_datasets


def _hypothesis_profiles(config: pytest.Config) -> None:
    """The property tests' hypothesis profiles; `ci` unless --hypothesis-profile names another.

    All are derandomized (examples depend on the test alone, images on --seed: a run is reproducible) and keep no
    example database (a rerun must not depend on an earlier one). The fixtures the property tests use record
    the last falsifying example, which hypothesis replays last: that is the shrunk one the report shows.
    """
    from hypothesis import HealthCheck, settings

    common = dict(derandomize=True, database=None, deadline=None, print_blob=False,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
    settings.register_profile("ci", max_examples=10, **common)
    settings.register_profile("dev", max_examples=25, **common)
    settings.register_profile("nightly", max_examples=200, **common)
    if not config.getoption("--hypothesis-profile", None):
        settings.load_profile("ci")


def settings_of(options: RunOptions) -> Settings:
    return Settings(
        device=options.device, batch_size=options.batch_size, model_args=options.model_args,
        trust_remote_code=options.trust_remote_code, answer_mode=options.answer_mode,
    )  # fmt: skip


def _load_baseline(options: RunOptions) -> Baseline | None:
    if options.baseline is None or (options.update_baseline and not options.baseline.exists()):
        return None
    return Baseline.load(options.baseline, options.seed, options.samples, SEVERITY_TABLE_VERSION)


def _default_report_paths(config: pytest.Config, options: RunOptions) -> None:
    if not config.option.xmlpath:
        config.option.xmlpath = str(options.report_dir / "junit.xml")
    if config.pluginmanager.hasplugin("html") and not config.option.htmlpath:
        config.option.htmlpath = str(options.report_dir / "report.html")
        config.option.self_contained_html = True


@pytest.fixture(scope="session")
def ood_run(pytestconfig: pytest.Config) -> Run:
    return pytestconfig.stash[RUN]


@pytest.fixture(scope="session")
def model(ood_run: Run) -> ModelUnderTest:
    """The model under test; loaded on first need (see `ood_fixtures.model`), once per process."""
    options = ood_run.options
    cache = None
    if options.cache_dir is not None:
        from ood_fixtures.cache import PredictionCache

        cache = PredictionCache(options.cache_dir / "predictions.sqlite")
    return ModelUnderTest(options.model, settings_of(options), cache)


@pytest.fixture(scope="session")
def agreement_level(ood_run: Run) -> float:
    """The p-value below which an invariance or option-order check fails (ood_fixtures.properties.check_level):
    the run's AGREEMENT_ALPHA over every example the profile lets hypothesis draw in every selected such test."""
    from hypothesis import settings

    return properties.check_level(ood_run.agreement_tests, settings.default.max_examples)


@pytest.fixture
def record_finding(request: pytest.FixtureRequest) -> Callable[[Finding], None]:
    """A property test's outcome for results.json and the report; the last one recorded is kept."""

    def record(finding: Finding) -> None:
        # A failing finding replaces any other: hypothesis replays the shrunk example last. A passing one
        # replaces only a passing one with more agreement, so the report shows the closest call.
        kept = request.node.stash.get(FINDING, None)
        closer = kept is None or (kept.passed and finding.values.get("agreement", 1) <= kept.values.get("agreement", 1))
        if not finding.passed or closer:
            request.node.stash[FINDING] = finding

    return record


def assert_gate(result: CellResult | Diagnosis) -> None:
    """The assertion of a cell (or diagnosis) test: fails with the gate's reasons alone, without a traceback."""
    if not result.verdict.passed:
        pytest.fail(f"{result.id}: " + "; ".join(result.verdict.reasons), pytrace=False)


def _measured(request: pytest.FixtureRequest, run: Callable[[], Any]) -> Any:
    """Run a measurement for a test. A model that fails to load stops the run: one failure per process, not one
    per test (pytest.exit would crash xdist workers; shouldstop is how a worker asks the controller to stop). A
    model that lacks what the test needs skips it, saying what is missing."""
    try:
        return run()
    except ModelLoadError as error:
        request.session.shouldstop = str(error)
        pytest.fail(str(error), pytrace=False)
    except Unsupported as error:
        pytest.skip(str(error))


@pytest.fixture
def diagnose(ood_run: Run, model: ModelUnderTest, request: pytest.FixtureRequest) -> Callable[[Cell], Diagnosis]:
    """Diagnose a target cell (`ood_fixtures.diagnosis`), record the row on this test, and return it; the test
    then calls `assert_gate(row)`."""

    def run_row(cell: Cell) -> Diagnosis:
        row = _measured(request, lambda: ood_run.diagnose(cell, model, request.node.path))
        request.node.stash[MODEL] = model
        request.node.stash[DIAGNOSIS] = row
        request.node.user_properties.extend(
            [("zero_shot", f"{row.zero_shot:.4f}"), ("probe", f"{row.probe:.4f}"), ("mapping_gap", f"{row.gap:+.4f}"),
             ("verdict", row.explanation), ("gate", row.verdict.outcome)]
        )  # fmt: skip
        return row

    return run_row


@pytest.fixture
def evaluate(
    ood_run: Run, model: ModelUnderTest, request: pytest.FixtureRequest
) -> Callable[[Cell], CellResult]:
    """Evaluate a cell, record it on this test, and return it; the test then calls `assert_gate(result)`."""

    def run_cell(cell: Cell) -> CellResult:
        result = _measured(request, lambda: ood_run.evaluate(cell, model, request.node.path))
        request.node.stash[MODEL] = model
        request.node.stash[RESULT] = result
        request.node.user_properties.extend(
            [("accuracy", f"{result.accuracy.value:.4f}"), ("n", result.accuracy.n),
             ("ci_low", f"{result.accuracy.ci_low:.4f}"), ("ci_high", f"{result.accuracy.ci_high:.4f}"),
             ("retained", "" if result.retained is None else f"{result.retained:.4f}"),
             ("unparsed", result.unparsed), ("gate", result.verdict.outcome)]
        )  # fmt: skip
        comparison = result.verdict.comparison
        if comparison is not None:
            request.node.user_properties.extend(
                [("baseline_accuracy", f"{comparison.baseline_accuracy:.4f}"),
                 ("baseline_delta", f"{comparison.delta:+.4f}"), ("p_value", f"{comparison.p_value:.4g}")]
            )  # fmt: skip
        return result

    return run_cell


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    finding = item.stash.get(FINDING, None)
    if finding is not None and report.when == "call":
        report.ood_property = finding.to_dict()
        if item.config.pluginmanager.hasplugin("html"):
            from pytest_html import extras

            from ood_fixtures.html import finding_html

            report.ood_finding_html = finding_html(finding)
            report.extras = [*getattr(report, "extras", []), extras.html(report.ood_finding_html)]
    row = item.stash.get(DIAGNOSIS, None)
    if row is not None and report.when == "call":
        report.ood_diagnosis = row.to_dict()
        report.ood_model = item.stash[MODEL].description()
    result = item.stash.get(RESULT, None)
    if result is not None and report.when == "call":
        report.ood_cell = result.to_dict()
        report.ood_model = item.stash[MODEL].description()
        if item.config.pluginmanager.hasplugin("html"):
            from pytest_html import extras

            from ood_fixtures.html import examples_html

            report.ood_examples = examples_html(result)  # also gathered into the summary's gallery
            report.extras = [*getattr(report, "extras", []), extras.html(report.ood_examples)]
    return report
