"""Each property check can fail: on synthetic curves and answers here, and end to end on deliberately fragile
models (the property tests themselves run inside `pytest benchmarks`)."""

import json

import numpy as np
import pytest
from hypothesis import given, settings

from ood_fixtures.evaluation.predict import SampleResult
from ood_fixtures.evaluation.properties import boundary, rises
from ood_fixtures.catalog.strategies import fractions, permutations, strengths


def samples(correct: list[bool]) -> list[SampleResult]:
    return [SampleResult(str(i), "a", "a" if ok else "b", None, None) for i, ok in enumerate(correct)]


def test_a_significant_rise_is_found_and_noise_is_not():
    rng = np.random.default_rng(0)
    base = rng.random(100) < 0.5
    better = base | (rng.random(100) < 0.6)  # the same images, many more right
    assert [(r.lower, r.higher) for r in rises([(1, samples(base)), (2, samples(better))])] == [(1, 2)]
    slightly = base.copy()
    slightly[np.flatnonzero(~base)[:2]] = True  # two more right: chance
    assert rises([(1, samples(base)), (2, samples(slightly))]) == []
    assert rises([(1, samples(better)), (2, samples(base))]) == []  # falling is what severity should do


def test_the_boundary_is_bisected_between_the_bracketing_severities():
    def accuracy_at(severity):
        return 0.9 - 0.1 * severity  # falls below 0.8 x 0.9 = 0.72 after severity 1.8

    curve = {s: accuracy_at(s) for s in range(1, 6)}
    assert boundary(accuracy_at, 0.9, curve) == pytest.approx(1.8, abs=1 / 2**5)
    assert boundary(accuracy_at, 0.5, curve) is None  # never below 0.4
    assert boundary(accuracy_at, 2.0, curve) == 1.0  # below at severity 1 already


@given(strengths(0.1, signed=True))
def test_strengths_stay_in_range(strength):
    assert -0.1 <= strength <= 0.1


@given(permutations(24))
def test_permutations_are_permutations(order):
    assert sorted(order) == list(range(24))


def test_the_shrunk_ends_are_zero_and_the_identity():
    from hypothesis import find

    assert find(fractions(), lambda f: True) == 0.0
    assert find(permutations(5), lambda order: True) == [0, 1, 2, 3, 4]
    assert abs(find(strengths(0.1, signed=True), lambda s: abs(s) >= 0.03)) == 0.03


def test_a_brightness_fragile_model_breaks_invariance_with_a_small_shrunk_example(run_suite):
    run = run_suite("-m", "properties", "-k", "invariance and brightness", "--model",
                    "python:tests.models.toy:brightness_fragile")  # fmt: skip
    assert run.returncode == 1, run.output[-2000:]
    assert "invariance/brightness: at strength" in run.output
    finding = {p["property"]: p for p in run.results()["properties"]}["invariance/brightness"]
    assert finding["passed"] is False and finding["agreement"] < 0.9
    assert 0 < abs(finding["strength"]) <= 0.05  # shrunk well below the 5% that flips every answer
    assert finding["example"]["before"] != finding["example"]["after"]
    page = (run.report_dir / "report.html").read_text()
    properties = page[page.index("<h3>Properties</h3>") :]
    assert properties.count("data:image/png;base64") >= 2 and "invariance/brightness" in properties


def test_a_model_that_answers_by_position_breaks_option_order(run_suite):
    run = run_suite("-m", "properties", "-k", "option_order", "--model", "python:tests.models.toy:always_first")
    assert run.returncode == 1, run.output[-2000:]
    finding = run.results()["properties"][0]
    assert finding["property"] == "option-order" and finding["passed"] is False


def test_a_non_monotone_curve_fails_its_severity_property(run_suite):
    run = run_suite("-m", "properties", "-k", "severity_curve and gaussian_noise", "--samples", "60",
                    "--model", "python:tests.models.toy:noise_lover")  # fmt: skip
    assert run.returncode == 1, run.output[-2000:]
    finding = run.results()["properties"][0]
    assert finding["property"] == "severity-curve/gaussian_noise" and not finding["passed"] and finding["rises"]
    assert json.dumps(finding)  # serialisable as written
