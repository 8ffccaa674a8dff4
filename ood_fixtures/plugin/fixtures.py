"""The fixtures benchmark modules use, and their assertion: `evaluate` (a cell), `diagnose` (a diagnosis row),
`record_finding` (a property's outcome), `model`, `ood_run`, `agreement_level`, and `assert_gate`.

Each fixture stashes what it measured on the test item; `ood_fixtures.plugin.reporting` puts it on the test report,
which carries it to the controller's reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

from ood_fixtures.plugin.hooks import RUN, activate

if TYPE_CHECKING:  # the fixtures import what they use when first used: the plugin is imported in every session
    from ood_fixtures.catalog.cells import Cell
    from ood_fixtures.catalog.datasets import RealDatasets
    from ood_fixtures.catalog.scenarios import Catalog
    from ood_fixtures.evaluation.diagnosis import Diagnosis
    from ood_fixtures.evaluation.properties import Agreement, Finding
    from ood_fixtures.evaluation.score import CellResult
    from ood_fixtures.plugin.run import Run
    from ood_fixtures.store.model import ModelUnderTest

RESULT = pytest.StashKey["CellResult"]()
DIAGNOSIS = pytest.StashKey["Diagnosis"]()
FINDING = pytest.StashKey["Finding"]()
MODEL = pytest.StashKey["ModelUnderTest"]()
GATE = "ood_gate"  # the marker of a gate declared in the test (`ood_fixtures.api.gate`)
NEXT = pytest.StashKey[Any]()  # on a test: the test pytest runs after it in this process


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{GATE}(**limits): the gate of the test's cells (ood_fixtures.api.gate)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    item.stash[NEXT] = nextitem


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """While this test runs, draw the first images of the next test's cell (`ModelUnderTest.prefetch`): rendering
    then overlaps this test's model calls instead of following them."""
    run, nextitem = item.config.stash.get(RUN, None), item.stash.get(NEXT, None)
    cell = getattr(getattr(nextitem, "callspec", None), "params", {}).get("cell")
    if run is None or run.model is None or not hasattr(cell, "render"):
        return
    if "evaluate" in nextitem.fixturenames:
        run.model.prefetch(cell, run.options.seed, run.options.samples, nextitem.path)


def real_datasets(config: pytest.Config) -> RealDatasets | None:
    """The (dataset, domain) sources under --data-root and a line per absent dataset; None without --data-root."""
    return activate(config).real_datasets


def assert_gate(result: CellResult | Diagnosis) -> None:
    """The assertion of a cell (or diagnosis) test: fails with the gate's reasons alone, without a traceback."""
    if not result.verdict.passed:
        pytest.fail(f"{result.id}: " + "; ".join(result.verdict.reasons), pytrace=False)


@pytest.fixture(scope="session")
def ood_run(pytestconfig: pytest.Config) -> Run:
    """The run: its options, thresholds, baseline and catalog (`ood_fixtures.plugin.run`)."""
    return activate(pytestconfig)


@pytest.fixture(scope="session")
def catalog(ood_run: Run) -> Catalog:
    """Every cell of the run, at its image size (`ood_fixtures.catalog.scenarios`)."""
    return ood_run.catalog


@pytest.fixture(scope="session")
def model(ood_run: Run) -> ModelUnderTest:
    """The model under test; loaded on first need (see `ood_fixtures.store.model`), once per process."""
    return ood_run.model_under_test()


@pytest.fixture(scope="session")
def agreement_level(ood_run: Run) -> float:
    """The p-value below which an invariance or option-order check fails (`properties.check_level`): the run's
    AGREEMENT_ALPHA over every example the profile lets hypothesis draw in every selected such test."""
    from hypothesis import settings

    from ood_fixtures.evaluation import properties

    return properties.check_level(ood_run.agreement_tests, settings.default.max_examples)


@pytest.fixture(scope="session")
def invariance(ood_run: Run, model: ModelUnderTest) -> Callable[..., Agreement]:
    """`invariance(clean, shift, at_least=0.9, samples=96, alpha=0.05) -> Agreement`: the share of the answers to
    `clean` (a cell without a shift) that `shift` leaves unchanged. Fails the test when an exact binomial test
    shows the share below `at_least` at level alpha / hypothesis's max_examples: a property test draws up to that
    many shifts, so a model that keeps `at_least` of its answers passes the whole test with probability
    1 - alpha. Session-scoped, so that a hypothesis test can take it."""
    from hypothesis import settings

    from ood_fixtures.catalog.cells import Cell
    from ood_fixtures.evaluation.properties import agreement

    def check(clean: Cell, shift: Any, at_least: float = 0.9, samples: int = 96, alpha: float = 0.05) -> Agreement:
        if clean.transform is not None:
            raise ValueError(f"invariance: {clean.id} has a shift of its own; give the cell without one")
        changed = Cell(clean.family, clean.scenario, shift.name, None, clean.source, shift)
        # the key of the cells' answers: this file's code, and the user's source and shift (their content keys)
        result = agreement(model, clean, changed, ood_run.options.seed, samples, Path(__file__))
        level = alpha / settings.default.max_examples
        p_value = result.p_value(at_least)
        if p_value < level:
            pytest.fail(f"{changed.id}: only {result.share:.1%} of {len(result.before)} answers stayed the same, "
                        f"fewer than {at_least:.0%} at p={p_value:.2g} (level {level:.2g})", pytrace=False)
        return result

    return check


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


@pytest.fixture
def diagnose(ood_run: Run, model: ModelUnderTest, request: pytest.FixtureRequest) -> Callable[[Cell], Diagnosis]:
    """Diagnose a target cell (`ood_fixtures.evaluation.diagnosis`), record the row on this test, and return it;
    the test then calls `assert_gate(row)`."""
    from ood_fixtures.reports.junit import row_properties

    return _recording(request, model, ood_run.diagnose, DIAGNOSIS, row_properties)


@pytest.fixture
def evaluate(ood_run: Run, model: ModelUnderTest, request: pytest.FixtureRequest) -> Callable[[Cell], CellResult]:
    """Evaluate a cell, record it on this test, and return it; the test then calls `assert_gate(result)`. A gate
    the test declares (`ood_fixtures.api.gate`) adds its limits to the thresholds file's, and wins over them."""
    from ood_fixtures.reports.junit import cell_properties

    marker = request.node.get_closest_marker(GATE)
    declared = dict(marker.kwargs) if marker else None

    def measure(cell: Cell, model: ModelUnderTest, module: Path) -> CellResult:
        return ood_run.evaluate(cell, model, module, declared)

    return _recording(request, model, measure, RESULT, cell_properties)


def _recording(request: pytest.FixtureRequest, model: ModelUnderTest, measure: Callable[..., Any],
               key: pytest.StashKey, properties: Callable[[Any], list]) -> Callable[[Cell], Any]:  # fmt: skip
    """A test's `measure(cell, model, module)`, stashed under `key` for its report, with its JUnit properties."""

    def run(cell: Cell) -> Any:
        record = _measured(request, lambda: measure(cell, model, request.node.path))
        request.node.stash[MODEL] = model
        request.node.stash[key] = record
        request.node.user_properties.extend(properties(record.to_dict()))
        return record

    return run


def _measured(request: pytest.FixtureRequest, run: Callable[[], Any]) -> Any:
    """Run a measurement for a test. A model that fails to load stops the run: one failure per process, not one
    per test (pytest.exit would crash xdist workers; shouldstop is how a worker asks the controller to stop). A
    model that lacks what the test needs skips it, saying what is missing."""
    from ood_fixtures.adapters import Unsupported
    from ood_fixtures.store.model import ModelLoadError

    try:
        return run()
    except ModelLoadError as error:
        request.session.shouldstop = str(error)
        pytest.fail(str(error), pytrace=False)
    except Unsupported as error:
        pytest.skip(str(error))
