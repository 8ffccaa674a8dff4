import json
import subprocess
import sys
from pathlib import Path

import pytest

from ood_fixtures import RESULTS_SCHEMA
from ood_fixtures.gating import baseline
from ood_fixtures.reports import compare
from ood_fixtures.stats import metrics
from ood_fixtures.gating.baseline import Baseline, BaselineError


LEVEL = 0.025 / 100  # a cell's share of the run's error rate in a run of 100 cell tests


def test_unchanged_outcomes_pass():
    outcomes = [True] * 70 + [False] * 30
    result = baseline.compare(outcomes, outcomes, tolerance=0.0, level=LEVEL)
    assert (result.outcome, result.delta, result.p_value, result.worse, result.better) == ("pass", 0, 1.0, 0, 0)


def test_a_drop_far_beyond_tolerance_fails_at_the_cells_share_of_the_run_error_rate():
    old = [True] * 80 + [False] * 20
    new = [False] * 25 + [True] * 55 + [False] * 20  # 25 lost, none gained
    result = baseline.compare(old, new, tolerance=0.02, level=LEVEL)
    assert result.outcome == "fail" and result.delta == pytest.approx(-0.25) and result.p_value < LEVEL
    assert result.ci_low < -0.25 < result.ci_high < -0.15


def test_a_drop_within_tolerance_passes_even_if_certain():
    old = [True] * 100
    new = [False] * 6 + [True] * 94
    assert baseline.compare(old, new, tolerance=0.10, level=LEVEL).outcome == "pass"


def test_a_drop_significant_for_the_cell_alone_is_inconclusive_and_says_how_many_samples_would_decide():
    old = [True] * 80 + [False] * 20
    new = [False] * 10 + [True] * 70 + [False] * 20  # 10 lost: p ~ 0.002 alone, not below 2.5e-4
    result = baseline.compare(old, new, tolerance=0.02, level=LEVEL)
    assert result.outcome == "inconclusive" and LEVEL < result.p_value < baseline.INCONCLUSIVE_ALPHA
    assert result.samples_to_decide is not None and 100 < result.samples_to_decide < 1000


def test_every_comparison_says_what_the_cell_can_detect():
    old = [True] * 80 + [False] * 20
    churn = [False] * 6 + [True] * 74 + [True] * 6 + [False] * 14  # 6 lost, 6 gained
    result = baseline.compare(old, churn, tolerance=0.02, level=LEVEL)
    assert result.outcome == "pass" and 0.2 < result.detectable_drop < 0.35
    assert result.underpowered and result.samples_to_detect > 100
    big = baseline.compare(old * 20, churn * 20, tolerance=0.02, level=LEVEL)
    assert big.detectable_drop < baseline.DETECTABLE and not big.underpowered and big.samples_to_detect is None
    near_chance = baseline.compare([True] * 5 + [False] * 95, [True] * 5 + [False] * 95, 0.02, LEVEL)
    assert not near_chance.underpowered  # a cell at 5% cannot lose 10 points: nothing to detect


def document(seed=0, samples=2, outcomes=(True, False), accuracy=0.5):
    cell = {"id": "c/s/x/1", "family": "c", "scenario": "s", "shift": "x", "severity": 1, "reference": None,
            "n": len(outcomes), "accuracy": accuracy, "gate": {"outcome": "ungated"},
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


def test_a_results_json_of_a_newer_schema_names_the_version_that_wrote_it(tmp_path):
    path = tmp_path / "base.json"
    path.write_text(json.dumps({**document(), "schema": RESULTS_SCHEMA + 1, "suite_version": "9.1.0"}))
    with pytest.raises(BaselineError, match=rf"written by ood-fixtures 9.1.0 \(results schema {RESULTS_SCHEMA + 1}\);"
                                            r".* pip install -U ood-fixtures"):  # fmt: skip
        Baseline.load(path, 0, 2, 1)
    path.write_text(json.dumps({"cells": []}))
    with pytest.raises(BaselineError, match="not a results.json of ood-fixtures"):
        Baseline.load(path, 0, 2, 1)
    path.write_text(json.dumps(document()))  # schema 1 from before 0.2.0: no suite_version, read as it is
    assert Baseline.load(path, 0, 2, 1).outcomes["c/s/x/1"] == {"0": True, "1": False}


def test_samples_are_paired_by_id():
    base = Baseline(None, document(outcomes=(True, False)))
    assert base.compare("c/s/x/1", [("1", False), ("0", True)], 0.0, LEVEL).outcome == "pass"
    assert base.compare("c/s/new/1", [("0", True)], 0.0, LEVEL) is None
    with pytest.raises(BaselineError, match="holds other samples"):
        base.compare("c/s/x/1", [("0", True), ("7", True)], 0.0, LEVEL)


def test_the_command_line_compares_as_the_module_does(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document(samples=40, outcomes=[True] * 40, accuracy=1.0)))
    for command in ([str(Path(sys.executable).parent / "ood-fixtures")], [sys.executable, "-m", "ood_fixtures"]):
        done = subprocess.run([*command, "compare", str(old), str(old)], capture_output=True, text=True)
        assert done.returncode == 0 and ": PASS**" in done.stdout, done.stderr
        usage = subprocess.run(command, capture_output=True, text=True)
        assert usage.returncode == 2 and "usage: ood-fixtures {run,compare,merge}" in usage.stderr


def test_compare_prints_the_gate_and_exits_1_on_regression(tmp_path, capsys):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(document(samples=40, outcomes=[True] * 40, accuracy=1.0)))
    new.write_text(json.dumps(document(samples=40, outcomes=[False] * 30 + [True] * 10, accuracy=0.25)))
    assert compare.main([str(old), str(new)]) == 1
    table = capsys.readouterr().out
    assert "release gate" in table and ": FAIL**" in table
    assert "| `c/s/x/1` | 1.000 | 0.250 | -75.0 (" in table and "| 30 / 0 |" in table and "| regressed |" in table
    assert compare.main([str(old), str(old)]) == 0
    assert ": PASS**" in capsys.readouterr().out


def test_calibration_and_confidence_metrics():
    assert metrics.expected_calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert metrics.expected_calibration_error([1.0] * 4, [True, True, False, False]) == pytest.approx(0.5)
    assert metrics.confidence_auroc([0.9, 0.8, 0.3, 0.2], [True, True, False, False]) == 1.0
    assert metrics.confidence_auroc([0.5, 0.5], [True, False]) == 0.5
    assert metrics.confidence_auroc([0.9], [True]) is None
    assert metrics.macro_accuracy(["a", "a", "a", "b"], [True, True, True, False]) == 0.5
    assert metrics.corruption_error([0.2, 0.4], [0.1, 0.2]) == pytest.approx(2.0)
    assert metrics.corruption_error([0.2], [0.0]) is None
