"""Why a model fails on a target domain: the study's three explanations, each measured on the same images.

- semantic probe: accuracy when each option carries a description of its class ("red circle (a round shape with
  no corners, coloured red)") minus accuracy with plain names. A large gain: the model misread what the labels mean.
- feature probe: a logistic-regression linear probe (scikit-learn; stratified k-fold cross-validation, seeded)
  on the model's own frozen image features of the target images. A probe near chance: the vision features are too
  weak to tell the classes apart.
- mapping gap: probe accuracy minus zero-shot accuracy. A large gap with a good probe: the features hold the
  answer but the model cannot map them to the right label (the study's main finding).

A row's verdict applies the thresholds below; its gate, the limits `min_probe_accuracy` and `max_mapping_gap` of
the thresholds file. All three measures are stored per sample in the row's record, so a rerun recomputes the row
without the model.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ood_fixtures.gating.verdict import UNGATED, Verdict, decide as decide_verdict
from ood_fixtures.stats import metrics
from ood_fixtures.adapters.base import Adapter, Prediction, Unsupported
from ood_fixtures.catalog.descriptions import DESCRIPTIONS, described
from ood_fixtures.catalog.cells import Cell
from ood_fixtures.evaluation import predict

SAMPLES_PER_SAMPLE_COUNT = 3  # a row probes 3 x --samples images: a probe needs more than a cell's accuracy does
FOLDS = 5
SEMANTIC_GAIN = 0.10  # accuracy points gained with descriptions that point at the labels' meaning
GOOD_PROBE = 0.5  # a probe counts as good above halfway from chance to perfect
MAPPING_GAP = 0.15  # accuracy points the probe must beat zero-shot by to call the mapping deficient
GENERALISES = 0.8  # zero-shot accuracy at which no explanation is needed


@dataclass(frozen=True)
class Measurement:
    """Per sample: the true label, the zero-shot answer, the answer with described options (None: no
    descriptions for these labels) and whether the linear probe's cross-validated prediction was right."""

    labels: list[str]
    truth: list[str]
    plain: list[str | None]
    described: list[str | None] | None
    probe: list[bool]

    def encode(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def decode(cls, value: str) -> Measurement:
        return cls(**json.loads(value))


def measure(cell: Cell, adapter: Adapter, seed: int, count: int, batch: int = predict.BATCH) -> Measurement:
    """Render the cell's first `count` images once, `batch` at a time (streamed as `predict` streams a cell: the
    probe needs only their features), and ask the model three ways about each batch. Raises Unsupported for a
    model without image features (nothing to probe), at the first batch, and for too few images of a class, once
    every label is known (after the model's answers)."""
    table = getattr(cell.source, "descriptions", None) or DESCRIPTIONS  # a --dataset card's, else the generators'
    options = [described(label, table) for label in cell.labels] if all(l in table for l in cell.labels) else None
    truth: list[str] = []
    features: list[np.ndarray] = []
    plain: list[str | None] = []
    answers: list[str | None] | None = None if options is None else []
    for samples in predict.stream(lambda index: cell.render(seed, index), predict.available(cell, count), batch):
        images = [s.image for s in samples]
        truth += [s.label for s in samples]
        features.append(adapter.features(images))  # first: a model without features is skipped at the first batch
        plain += [p.label for p in adapter.classify(images, cell.labels)]
        if answers is not None:
            answers += [_described_answer(p, options, cell.labels) for p in adapter.classify(images, options)]
    _enough_per_class(cell, truth, count)
    probe = probe_correct(np.concatenate(features), truth, seed)
    return Measurement(list(cell.labels), truth, plain, answers, probe.tolist())


MIN_PER_CLASS = 2  # a cross-validated probe needs each class in two folds at least


def _enough_per_class(cell: Cell, truth: Sequence[str], count: int) -> None:
    """Unsupported (the row is skipped, saying what it needs) when a class the row's images show has fewer than
    MIN_PER_CLASS of them: no probe can be cross-validated on it. A label the cell never shows (a held-out
    combination) is no class of the probe."""
    counts = Counter(truth)
    rarest, fewest = min(counts.items(), key=lambda item: item[1])
    if fewest < MIN_PER_CLASS:
        needed = -(-MIN_PER_CLASS * len(counts) // SAMPLES_PER_SAMPLE_COUNT)  # if the classes come evenly
        raise Unsupported(f"diagnosis needs >= {MIN_PER_CLASS} images per class for a cross-validated probe; "
                          f"{cell.id} has {fewest} of '{rarest}' among its {count} images "
                          f"({SAMPLES_PER_SAMPLE_COUNT} x --samples): raise --samples to {needed} or more")


def _described_answer(prediction: Prediction, options: list[str], labels: list[str]) -> str | None:
    """The label a described option stands for. A generative model may answer with the plain name alone
    ("red circle" for "red circle (a round shape ...)"): that names one option, so it is read as that one."""
    if prediction.label is not None:
        return labels[options.index(prediction.label)]
    if prediction.text is None:
        return None
    from ood_fixtures.adapters.parsing import parse_answer

    return parse_answer(prediction.text, labels)


def probe_correct(features: np.ndarray, truth: Sequence[str], seed: int, folds: int = FOLDS) -> np.ndarray:
    """Whether each sample's label is predicted right by a linear probe trained on the other folds.

    Standardised features, L2-regularised logistic regression (C=1), stratified folds shuffled by `seed`. Folds
    shrink to the rarest class's count (at least 2); a single class is predicted trivially.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    truth = np.asarray(truth)
    classes, counts = np.unique(truth, return_counts=True)
    if len(classes) < 2:
        return np.ones(len(truth), dtype=bool)
    splits = StratifiedKFold(n_splits=max(2, min(folds, int(counts.min()))), shuffle=True, random_state=seed)
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    predicted = cross_val_predict(probe, np.asarray(features, dtype=np.float64), truth, cv=splits)
    return predicted == truth


@dataclass(frozen=True)
class Diagnosis:
    cell: Cell
    measurement: Measurement
    verdict: Verdict

    @property
    def id(self) -> str:
        return diagnosis_id(self.cell)

    @property
    def n(self) -> int:
        return len(self.measurement.truth)

    def _share(self, answers: Sequence[Any]) -> float:
        return float(np.mean([a == t for a, t in zip(answers, self.measurement.truth)]))

    @property
    def zero_shot(self) -> float:
        return self._share(self.measurement.plain)

    @property
    def probe(self) -> float:
        return float(np.mean(self.measurement.probe))

    @property
    def gap(self) -> float:
        return self.probe - self.zero_shot

    @property
    def semantic_gain(self) -> float | None:
        described_answers = self.measurement.described
        return None if described_answers is None else self._share(described_answers) - self.zero_shot

    @property
    def causes(self) -> list[str]:
        return causes(self.zero_shot, self.probe, self.semantic_gain, len(self.measurement.labels))

    @property
    def explanation(self) -> str:
        return verdict_text(self.causes, self.zero_shot)

    def measures(self) -> dict[str, Any]:
        """What the gate's limits read (`ood_fixtures.gating.limits`)."""
        probe = metrics.accuracy(sum(self.measurement.probe), self.n)
        return {"n": self.n, "zero_shot": self.zero_shot, "probe": self.probe, "probe_ci_low": probe.ci_low,
                "probe_ci_high": probe.ci_high, "mapping_gap": self.gap}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The results.json form of a diagnosis row (see docs/architecture.md)."""
        c, m = self.cell, self.measurement
        probe = metrics.accuracy(sum(m.probe), self.n)
        gain = self.semantic_gain
        return {
            "id": self.id, "family": c.family, "scenario": c.scenario, "shift": c.shift,
            "severity": c.severity, "n": self.n, "classes": len(m.labels), "zero_shot": round(self.zero_shot, 4),
            "unparsed": sum(a is None for a in m.plain), "probe": round(self.probe, 4),
            "probe_ci_low": probe.ci_low, "probe_ci_high": probe.ci_high, "mapping_gap": round(self.gap, 4),
            "semantic_gain": None if gain is None else round(gain, 4),
            "described_unparsed": None if m.described is None else sum(a is None for a in m.described),
            "causes": self.causes, "verdict": self.explanation,
            "gate": self.verdict.to_dict(),
        }  # fmt: skip


def diagnosis_id(cell: Cell) -> str:
    return "diagnosis/" + cell.id


def causes(zero_shot: float, probe: float, semantic_gain: float | None, classes: int) -> list[str]:
    """The study's explanations that the figures support; none when the model generalises or none fits."""
    if zero_shot >= GENERALISES:
        return []
    found = []
    if semantic_gain is not None and semantic_gain >= SEMANTIC_GAIN:
        found.append("label semantics")
    chance = 1 / classes
    if (probe - chance) / (1 - chance) < GOOD_PROBE:
        found.append("weak features")
    elif probe - zero_shot >= MAPPING_GAP:
        found.append("mapping")
    return found


def verdict_text(found: list[str], zero_shot: float) -> str:
    if found:
        return " + ".join(found)
    return "generalises" if zero_shot >= GENERALISES else "unexplained"


def decide(cell: Cell, measurement: Measurement, limits: dict[str, float]) -> Diagnosis:
    """The row and its gate: the thresholds limits that judge rows (`min_probe_accuracy` on the probe accuracy's
    Wilson lower bound, `max_mapping_gap`), applied by the same verdict as a cell's."""
    row = Diagnosis(cell, measurement, UNGATED)
    return Diagnosis(cell, measurement, decide_verdict("row", limits, row.measures()))
