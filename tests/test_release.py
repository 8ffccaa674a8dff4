"""The run-level release gate (ood_fixtures/gating/release.py, aggregates.py): error control over many cells, power
where cells have none, and the statistics against library implementations."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from ood_fixtures.gating import aggregates, release

GROUPS = {"gaussian_noise": "noise", "shot_noise": "noise", "defocus_blur": "blur", "fog": "weather"}  # as in the table


def run(accuracy, seed, n=100, model_noise=0.0):
    """Per-cell outcomes of a model on images with a latent difficulty shared by cells (same base images).

    `accuracy` maps cell ids to that model's true accuracy; two runs with the same `seed` see the same images,
    and answer independently given each image's difficulty (how releases of equal quality differ)."""
    images = np.random.default_rng(seed).normal(size=n)  # difficulty of base image i, shared by every cell
    answers = np.random.default_rng([seed, 1 + int(model_noise * 1e6)])
    cells = {}
    for cell_id, acc in accuracy.items():
        threshold = stats.norm.ppf(acc) * np.sqrt(2)  # P(answer right) = acc averaged over difficulties
        cells[cell_id] = answers.normal(size=n) + threshold > images
    return cells


def cell_ids():
    ids = ["corruption/s/clean/0"]
    ids += [f"corruption/s/{shift}/{sev}" for shift in GROUPS for sev in range(1, 6)]
    ids += ["natural/o/photo"] + [f"natural/o/{d}" for d in ("sketch", "cartoon", "painting")]
    return ids


def document(outcomes, seed=0):
    cells = []
    for cell_id, ok in outcomes.items():
        family, scenario, shift, *severity = cell_id.split("/")
        reference = None if shift in ("clean", "photo") else (
            "corruption/s/clean/0" if family == "corruption" else "natural/o/photo")  # fmt: skip
        cells.append({"id": cell_id, "family": family, "scenario": scenario, "shift": shift,
                      "severity": int(severity[0]) if severity else None, "reference": reference, "n": len(ok),
                      "accuracy": float(np.mean(ok)), "gate": {"outcome": "ungated"},
                      "samples": [{"sample_id": str(i), "correct": bool(v)} for i, v in enumerate(ok)]})  # fmt: skip
    return {"schema": 1, "seed": seed, "samples_per_cell": len(ok), "severity_table": 1, "cells": cells}


def truth():
    rng = np.random.default_rng(7)
    return {cell_id: float(rng.uniform(0.45, 0.95)) for cell_id in cell_ids()}


def test_runs_of_many_cells_with_no_true_change_do_not_fail():
    accuracy = truth()
    outcomes = []
    for seed in range(20):
        old, new = document(run(accuracy, seed)), document(run(accuracy, seed, model_noise=0.5), seed)
        cells, gate = release.compare_documents(new, old, tolerance=0.02)
        outcomes.append(gate.outcome)
        changed = np.mean([c["gate"]["baseline"]["worse"] + c["gate"]["baseline"]["better"] for c in cells]) / 100
        assert 0.05 < changed < 0.4  # the two runs really answer differently
    assert outcomes.count("fail") <= 1


def test_a_real_drop_in_one_group_fails_its_aggregate():
    accuracy = truth()
    lowered = {k: v - 0.12 if "noise" in k else v for k, v in accuracy.items()}
    for seed in range(5):
        old, new = document(run(accuracy, seed)), document(run(lowered, seed, model_noise=0.5), seed)
        _, gate = release.compare_documents(new, old, tolerance=0.02)
        verdicts = {a.id: a.outcome for a in gate.aggregates}
        assert gate.outcome == "fail" and verdicts["group/noise"] == "fail"
        assert verdicts["group/blur"] == "pass" and verdicts["worst/natural/o"] == "pass"


def test_the_aggregates_of_a_run():
    old = document(run(truth(), 0))
    found = {a.id: a for a in aggregates.define(old["cells"])}
    assert set(found) == {"in-distribution", "family/corruption", "mce/corruption/s", "group/noise", "group/blur",
                          "group/weather", "family/natural", "worst/natural/o"}  # fmt: skip
    corruption = found["family/corruption"].cells
    assert len(corruption) == 20 and "corruption/s/clean/0" not in corruption
    assert found["in-distribution"].cells == ("corruption/s/clean/0", "natural/o/photo")


def test_bootstrap_standard_error_matches_scipy():
    """A mean aggregate's bootstrap error over base images equals scipy.stats.bootstrap's on the per-image mean
    differences (the same cluster bootstrap, resampled another way)."""
    accuracy = truth()
    old, new = run(accuracy, 3), run(accuracy, 3, model_noise=0.5)
    cells = [c for c in cell_ids() if "noise" in c]
    pairs = {c: ([str(i) for i in range(100)], list(old[c]), list(new[c])) for c in cells}
    data = aggregates.Resampled(pairs, seed=1, draws=4000)
    mean = aggregates.Aggregate("group/noise", "mean", tuple(cells), "")
    measured = aggregates.measure(mean, data, 0.02, {})
    per_image = np.mean([old[c].astype(float) - new[c] for c in cells], axis=0)
    expected = stats.bootstrap((per_image,), np.mean, n_resamples=4000, random_state=2).standard_error
    assert measured.standard_error == pytest.approx(expected, rel=0.08)
    assert measured.baseline - measured.value == pytest.approx(per_image.mean())


def test_mce_is_imagenet_cs_and_its_limit_a_uniform_drop_of_the_tolerance():
    from ood_fixtures.stats import metrics

    accuracy = truth()
    old, new = run(accuracy, 4), run(accuracy, 4, model_noise=0.5)
    cells = [c for c in cell_ids() if c.startswith("corruption/s/") and "clean" not in c]
    pairs = {c: ([str(i) for i in range(100)], list(old[c]), list(new[c])) for c in cells}
    shifts = {c: c.split("/")[2] for c in cells}
    measured = aggregates.measure(aggregates.Aggregate("mce", "mce", tuple(cells), ""),
                                  aggregates.Resampled(pairs, seed=0, draws=50), 0.02, shifts)  # fmt: skip
    errors = {s: ([1 - new[c].mean() for c in cells if shifts[c] == s], [1 - old[c].mean() for c in cells
                                                                         if shifts[c] == s]) for s in GROUPS}
    assert measured.value == pytest.approx(np.mean([metrics.corruption_error(*errors[s]) for s in GROUPS]))
    limit = np.mean([(sum(errors[s][1]) + 5 * 0.02) / sum(errors[s][1]) for s in GROUPS])
    assert measured.limit == pytest.approx(limit)


def test_holm_over_cells_is_statsmodels_and_any_rejection_matches_bonferroni():
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.uniform(0, 1, 50) ** rng.uniform(1, 8)
        rejected, _ = release._holm(list(p), 0.025)
        assert rejected == list(multipletests(p, 0.025, method="holm")[0])
        assert any(rejected) == bool((p < release.Budget(0.05, 50).cell_level).any())
        assert set(np.flatnonzero(p < 0.025 / 50)) <= set(np.flatnonzero(rejected))


def test_budget_halves_the_run_error_rate_between_cells_and_aggregates():
    budget = release.Budget(0.05, 125)
    assert budget.cell_alpha + budget.aggregate_alpha == pytest.approx(0.05)
    assert budget.cell_level == pytest.approx(0.025 / 125)
