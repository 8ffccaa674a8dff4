import json

import pytest

from ood_fixtures import baseline, compare, metrics
from ood_fixtures.baseline import Baseline, BaselineError


def test_unchanged_outcomes_pass():
    outcomes = [True] * 70 + [False] * 30
    result = baseline.compare(outcomes, outcomes, tolerance=0.0)
    assert (result.outcome, result.delta, result.p_value, result.worse, result.better) == ("pass", 0, 1.0, 0, 0)


def test_a_significant_drop_beyond_tolerance_fails():
    old = [True] * 80 + [False] * 20
    new = [False] * 12 + [True] * 68 + [False] * 20  # 12 lost, none gained
    result = baseline.compare(old, new, tolerance=0.02)
    assert result.outcome == "fail" and result.delta == pytest.approx(-0.12)
    assert result.p_value == pytest.approx(0.5**12)


def test_a_drop_within_tolerance_passes_even_if_significant():
    old = [True] * 100
    new = [False] * 6 + [True] * 94
    assert baseline.compare(old, new, tolerance=0.10).outcome == "pass"


def test_a_small_sample_drop_is_inconclusive_and_says_how_many_samples_would_decide():
    old = [True] * 10
    new = [False] * 3 + [True] * 7  # 3 of 3 discordant pairs lost: p = 0.125
    result = baseline.compare(old, new, tolerance=0.02)
    assert result.outcome == "inconclusive" and result.p_value == pytest.approx(0.125)
    assert result.samples_to_decide is not None and 10 < result.samples_to_decide <= 20
    scaled = round(3 * result.samples_to_decide / 10)
    assert baseline.mcnemar_worse(scaled, 0) < baseline.ALPHA


def document(seed=0, samples=2, outcomes=(True, False), accuracy=0.5):
    cell = {"id": "c/s/x/1", "accuracy": accuracy,
            "samples": [{"sample_id": str(i), "correct": ok} for i, ok in enumerate(outcomes)]}  # fmt: skip
    return {"schema": 1, "seed": seed, "samples_per_cell": samples, "severity_table": 1, "cells": [cell]}


def test_baselines_from_another_seed_or_sample_count_are_refused(tmp_path):
    path = tmp_path / "base.json"
    path.write_text(json.dumps(document(seed=3)))
    with pytest.raises(BaselineError, match=r"made with seed 3 \(this run: 0\)"):
        Baseline.load(path, seed=0, samples=2, severity_table=1)
    with pytest.raises(BaselineError, match=r"samples per cell 2 \(this run: 5\)"):
        Baseline.load(path, seed=3, samples=5, severity_table=1)
    with pytest.raises(BaselineError, match="not found; make one with"):
        Baseline.load(tmp_path / "none.json", 0, 2, 1)
    path.write_text("{not json")
    with pytest.raises(BaselineError, match="not a readable results.json"):
        Baseline.load(path, 0, 2, 1)


def test_samples_are_paired_by_id():
    base = Baseline(None, document(outcomes=(True, False)))
    assert base.compare("c/s/x/1", [("1", False), ("0", True)], 0.0).outcome == "pass"
    assert base.compare("c/s/new/1", [("0", True)], 0.0) is None
    with pytest.raises(BaselineError, match="holds other samples"):
        base.compare("c/s/x/1", [("0", True), ("7", True)], 0.0)


def test_compare_prints_a_markdown_table_and_exits_1_on_regression(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    outcomes = [True] * 20
    old.write_text(json.dumps(document(samples=20, outcomes=outcomes, accuracy=1.0)))
    new.write_text(json.dumps(document(samples=20, outcomes=[False] * 8 + [True] * 12, accuracy=0.6)))
    assert compare.main([str(old), str(new)]) == 1
    table = capsys.readouterr().out
    assert "| `c/s/x/1` | 1.000 | 0.600 | -40.0 | 8 / 0 | 0.0039 | fail |" in table
    assert compare.main([str(old), str(old)]) == 0
    assert "No cell changed significantly." in capsys.readouterr().out


def test_calibration_and_confidence_metrics():
    assert metrics.expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert metrics.expected_calibration_error([1.0] * 4, [True, True, False, False]) == pytest.approx(0.5)
    assert metrics.confidence_auroc([0.9, 0.8, 0.3, 0.2], [True, True, False, False]) == 1.0
    assert metrics.confidence_auroc([0.5, 0.5], [True, False]) == 0.5
    assert metrics.confidence_auroc([0.9], [True]) is None
    assert metrics.macro_accuracy(["a", "a", "a", "b"], [True, True, True, False]) == 0.5
    assert metrics.corruption_error([0.2, 0.4], [0.1, 0.2]) == pytest.approx(2.0)
    assert metrics.corruption_error([0.2], [0.0]) is None
