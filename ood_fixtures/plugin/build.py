"""The run's set-up, once the session uses the suite (`ood_fixtures.plugin.hooks` says when): markers, options and
everything they name checked (one usage error, exit 4), and on the controller the report plugins and their output
paths. Imported only then: it imports the generators, the adapters and the catalog."""

from __future__ import annotations

import pytest

from generators.corruptions import SEVERITY_TABLE_VERSION
from ood_fixtures import adapters
from ood_fixtures.adapters import SpecError
from ood_fixtures.catalog import scenarios
from ood_fixtures.catalog.datasets import DatasetError, open_root
from ood_fixtures.catalog.families import MARKERS
from ood_fixtures.gating import thresholds
from ood_fixtures.gating.baseline import Baseline, BaselineError
from ood_fixtures.plugin import environment
from ood_fixtures.plugin.options import RunOptions, read_options
from ood_fixtures.plugin.run import Run
from ood_fixtures.reports.results import ResultsCollector

def run(config: pytest.Config, mode: str) -> Run:
    """The run of this process, its options and everything they name checked (pytest.UsageError: one line,
    exit 4). `mode` is how the session uses the suite (`ood_fixtures.plugin.hooks`)."""
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    if mode == "benchmarks":
        environment.hypothesis_profiles(config)  # a user's own session keeps its own hypothesis settings
    options = read_options(config)
    try:
        limits = thresholds.load(options.thresholds)
        adapters.check(options.model, options.settings())
        size, size_from = _image_size(options)
        baseline = _load_baseline(options, size)
        # a wrong layout or card is one error here, not one per test
        real = open_root(options.data_root, options.samples) if options.data_root is not None else None
        generated = scenarios.at(size)
        catalog = generated.with_datasets(_datasets(options, size, {c.scenario for c in generated.cells()}))
    except (thresholds.ThresholdsError, SpecError, BaselineError, DatasetError) as error:
        raise pytest.UsageError(str(error)) from None
    return Run(options, limits, baseline, real, catalog, size_from)


def controller(config: pytest.Config, run: Run, mode: str) -> None:
    """The report plugins of the controller (or the only process): results.json always; the release gate with a
    baseline; the HTML summary where pytest-html runs. The standard benchmarks also default JUnit and HTML into
    --report-dir; a user's own session keeps its own report paths."""
    options = run.options
    if mode != "lazy":  # a lazy start comes after the xdist workers have started: too late to share the cores
        environment.share_cores(config)
    if mode == "benchmarks":
        _default_report_paths(config, options)
    collector = ResultsCollector(
        options.report_dir / "results.json", run.summary(),
        baseline=run.baseline.document if run.baseline else None,
        copy_to=options.baseline if options.update_baseline else None, run_gate=options.shard is None,
    )  # fmt: skip
    config.pluginmanager.register(collector, "ood-results")
    if mode != "lazy":  # a user's own few tests need no progress lines
        from ood_fixtures.reports.progress import Progress

        config.pluginmanager.register(Progress(config), "ood-progress")
    if run.baseline is not None and options.shard is None:  # a shard's gate is the merged whole's (merge)
        from ood_fixtures.reports.release import ReleaseGatePlugin

        config.pluginmanager.register(ReleaseGatePlugin(collector, options.samples), "ood-release-gate")
    if config.pluginmanager.hasplugin("html"):
        from ood_fixtures.reports.html import HtmlSummary

        config.pluginmanager.register(HtmlSummary(collector), "ood-html")


def _image_size(options: RunOptions) -> tuple[int, str]:
    """The run's image side and where it came from: --image-size N, else the model's own (`native_size`)."""
    if options.image_size is not None:
        return options.image_size, "option"
    return adapters.native_size(options.model, options.settings())


def _datasets(options: RunOptions, size: int, taken: set[str]) -> tuple[scenarios.DatasetCells, ...]:
    """Each --dataset's cells, its card and images checked now (`ood_fixtures.catalog.dataset_cards`). A dataset's name
    is its cells' scenario, so it must differ from the generated scenarios' (`taken`) and the other datasets'."""
    if not options.datasets:
        return ()
    from ood_fixtures.catalog import dataset_cards as cards  # only here: a run without --dataset reads no card

    built = {}
    for text in options.datasets:
        card = cards.resolve(text, options.data_root)
        if card.name in built or card.name in taken:
            other = "is given twice" if card.name in built else "is also a generated scenario's name"
            raise DatasetError(f"--dataset {text}: the name {card.name!r} {other}; give the card a name of its own "
                               f"(its cells' ids start with it)")  # fmt: skip
        sources = cards.open_card(card, options.samples, size)
        built[card.name] = scenarios.dataset_cells(card.name, sources, card.source, size)
    return tuple(built.values())


def _load_baseline(options: RunOptions, size: int) -> Baseline | None:
    if options.baseline is None or (options.update_baseline and not options.baseline.exists()):
        return None
    return Baseline.load(options.baseline, options.seed, options.samples, SEVERITY_TABLE_VERSION, size)


def _default_report_paths(config: pytest.Config, options: RunOptions) -> None:
    if not config.option.xmlpath:
        config.option.xmlpath = str(options.report_dir / "junit.xml")
    if config.pluginmanager.hasplugin("html") and not config.option.htmlpath:
        config.option.htmlpath = str(options.report_dir / "report.html")
        config.option.self_contained_html = True
