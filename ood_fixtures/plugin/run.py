"""What one process knows about the run: options, thresholds, the baseline, and the cells it has evaluated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generators.corruptions import SEVERITY_TABLE_VERSION
from ood_fixtures.catalog.cells import Cell
from ood_fixtures.catalog.datasets import RealDatasets
from ood_fixtures.catalog.scenarios import Catalog
from ood_fixtures.evaluation import diagnosis
from ood_fixtures.evaluation.diagnosis import Diagnosis
from ood_fixtures.evaluation.score import CellResult, Gating, score
from ood_fixtures.gating.baseline import Baseline
from ood_fixtures.gating.release import Budget
from ood_fixtures.gating.thresholds import Thresholds
from ood_fixtures.plugin.options import RunOptions
from ood_fixtures.store.model import ModelUnderTest


class Run:
    """One process's view of the run (every xdist worker has its own): options, thresholds, the baseline, the
    real datasets found, the cells evaluated so far, and the counts of tests that share an error budget."""

    def __init__(self, options: RunOptions, thresholds: Thresholds, baseline: Baseline | None,
                 real_datasets: RealDatasets | None, catalog: Catalog, image_size_from: str) -> None:  # fmt: skip
        self.options = options
        self.catalog = catalog  # every cell at the run's image size, your datasets' too
        self.image_size_from = image_size_from  # "option" (--image-size N), "model" or "default"
        self.thresholds = thresholds
        self.baseline = baseline
        self.real_datasets = real_datasets  # what --data-root holds, listed once per process
        self.results: dict[str, CellResult] = {}  # under the thresholds file's limits
        self._answers: dict[str, tuple[list, list, float | None]] = {}  # samples, examples, reference accuracy
        self.cell_tests = 1  # the selected tests that gate a cell (set after collection): they share the cell budget
        self.agreement_tests = 1  # the selected invariance and option-order tests: they share AGREEMENT_ALPHA
        self.model: ModelUnderTest | None = None  # made by `model_under_test`, on first need

    def model_under_test(self) -> ModelUnderTest:
        """The process's `--model` handle with its cache, made once (`ood_fixtures.store.model`)."""
        if self.model is None:
            cache = None
            if self.options.cache_dir is not None:
                from ood_fixtures.store.cache import PredictionCache

                cache = PredictionCache(self.options.cache_dir / "predictions.sqlite")
            self.model = ModelUnderTest(self.options.model, self.options.settings(), cache, self.image_size)
        return self.model

    @property
    def image_size(self) -> int:
        return self.catalog.size

    @property
    def budget(self) -> Budget:
        return Budget(self.options.alpha, self.cell_tests)

    def evaluate(self, cell: Cell, model: ModelUnderTest, module: Path,
                 declared: dict[str, float] | None = None) -> CellResult:  # fmt: skip
        """The cell's result; a cell is answered once per process, also when other cells use it as reference.
        `module` is the file that defines the cell (its code is part of the cell's cache key); `declared`, the
        limits a test declares (`ood_fixtures.api.gate`), added to the thresholds file's and winning over them."""
        if declared is None and cell.id in self.results:
            return self.results[cell.id]
        if cell.id not in self._answers:
            reference = self.evaluate(cell.reference, model, module).accuracy.value if cell.reference else None
            samples, examples = model.answers(cell, self.options.seed, self.options.samples, module)
            self._answers[cell.id] = (samples, examples, reference)
        samples, examples, reference = self._answers[cell.id]
        gating = Gating({**self.limits(cell.id), **(declared or {})}, self.baseline, self.options.tolerance,
                        self.options.strict, self.budget.cell_level)  # fmt: skip
        result = score(cell, samples, examples, reference, gating)
        if declared is None:
            self.results[cell.id] = result
        return result

    def limits(self, gated_id: str) -> dict[str, float]:
        """The thresholds file's limits for a cell, diagnosis row or property id under this run's model."""
        return self.thresholds.limits_for(gated_id, self.options.model)

    def diagnose(self, cell: Cell, model: ModelUnderTest, module: Path) -> Diagnosis:
        """The diagnosis row of a target cell, on its first SAMPLES_PER_SAMPLE_COUNT x --samples images."""
        count = diagnosis.SAMPLES_PER_SAMPLE_COUNT * self.options.samples
        measurement = model.diagnosis(cell, self.options.seed, count, module)
        return diagnosis.decide(cell, measurement, self.limits(diagnosis.diagnosis_id(cell)))

    def summary(self) -> dict[str, Any]:
        """The run's settings, as results.json records them."""
        return {
            "model_spec": self.options.model,
            "seed": self.options.seed,
            "samples_per_cell": self.options.samples,
            "image_size": self.image_size,
            "image_size_from": self.image_size_from,
            "datasets": [d.name for d in self.catalog.datasets],
            "severity_table": SEVERITY_TABLE_VERSION,
            "thresholds": str(self.options.thresholds),
            # False: no thresholds entry names this model, so its cells are gated against the baseline alone
            "thresholds_cover_model": self.thresholds.covers(self.options.model),
            "baseline": str(self.options.baseline) if self.baseline else None,
            "regression_tolerance": self.options.tolerance,
            "gate_alpha": self.options.alpha,
            "strict": self.options.strict,
            "shard": list(self.options.shard) if self.options.shard else None,  # [K, N]: one part of a run
        }
