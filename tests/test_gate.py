import pytest

from ood_fixtures.gating import thresholds as gate, verdict
from ood_fixtures.gating.limits import LIMITS
from ood_fixtures.stats import metrics


def write(tmp_path, text):
    path = tmp_path / "thresholds.toml"
    path.write_text(text)
    return path


def test_wilson_interval_matches_known_values():
    # Wilson 95% interval for 8/10 and 0/20 (Newcombe 1998, Table I method 3).
    acc = metrics.accuracy(8, 10)
    assert acc.value == 0.8
    assert (round(acc.ci_low, 4), round(acc.ci_high, 4)) == (0.4902, 0.9433)
    none = metrics.accuracy(0, 20)
    assert none.ci_low == 0 and round(none.ci_high, 4) == 0.1611


def test_later_entries_override_earlier_ones_per_limit(tmp_path):
    thresholds = gate.load(write(tmp_path, """
version = 1
[[gate]]
cells = "*"
min_accuracy = 0.5
min_retained = 0.6
[[gate]]
cells = ["corruption/*/fog/*", "corruption/*/snow/5"]
min_accuracy = 0.1
"""))
    assert thresholds.limits_for("corruption/shapes/fog/3", "m") == {"min_accuracy": 0.1, "min_retained": 0.6}
    assert thresholds.limits_for("corruption/shapes/snow/4", "m") == {"min_accuracy": 0.5, "min_retained": 0.6}


def test_entries_apply_to_the_models_they_name(tmp_path):
    thresholds = gate.load(write(tmp_path, """
models = ["reference", "clip:*"]
[[gate]]
cells = "*"
min_accuracy = 0.5
[[gate]]
cells = "*"
models = "clip:big*"
min_accuracy = 0.9
"""))
    assert thresholds.limits_for("a/b/c", "reference") == {"min_accuracy": 0.5}
    assert thresholds.limits_for("a/b/c", "clip:bigger") == {"min_accuracy": 0.9}
    assert thresholds.limits_for("a/b/c", "python:x:y") == {}
    assert thresholds.covers("clip:small") and not thresholds.covers("python:x:y")


def decide(limits, acc, retained, unparsed, ece=None, comparison=None, strict=False):
    """A cell's verdict from its figures, as `ood_fixtures.evaluation.score` asks for it."""
    measures = {"accuracy": acc.value, "ci_low": acc.ci_low, "ci_high": acc.ci_high, "n": acc.n, "retained": retained,
                "unparsed": unparsed, "unparsed_share": unparsed / acc.n, "ece": ece}  # fmt: skip
    return verdict.decide("cell", limits, measures, comparison, strict)


def test_every_limit_is_one_row_the_file_accepts():
    for name, limit in LIMITS.items():
        assert limit.name == name and limit.direction in ("min", "max") and limit.top >= 1
        assert limit.judges in ("cell", "row", "property")
        assert limit.message or limit.judges == "property"  # what a failing limit says
    assert LIMITS["min_retained"].top > 1  # an in-context cell may be required to beat its zero-shot cell


def test_a_verdict_keeps_only_the_limits_that_judge_its_kind_and_reasons_in_table_order():
    limits = {"max_unparsed": 0.01, "min_probe_accuracy": 0.9, "min_accuracy": 0.95, "min_agreement": 0.9}
    cell = decide(limits, metrics.accuracy(50, 100), None, 5)
    assert cell.limits == {"max_unparsed": 0.01, "min_accuracy": 0.95}
    assert [r.split()[0] for r in cell.reasons] == ["accuracy", "5"]  # min_accuracy first, as in the table
    row = verdict.decide("row", limits, {"n": 10, "zero_shot": 0.2, "probe": 0.5, "probe_ci_low": 0.24,
                                         "probe_ci_high": 0.76, "mapping_gap": 0.3})  # fmt: skip
    assert row.limits == {"min_probe_accuracy": 0.9} and "linear probe 0.500" in row.reasons[0]
    assert verdict.decide("row", {"min_accuracy": 0.5}, {}).outcome == "ungated"


def test_decide_uses_the_lower_bound_and_retained():
    limits = {"min_accuracy": 0.5, "min_retained": 0.8}
    assert decide(limits, metrics.accuracy(90, 100), 0.95, 0).outcome == "pass"
    # 0.6 accuracy passes a 0.5 point threshold but its lower bound (0.50-) does not, at n=40
    low = decide(limits, metrics.accuracy(24, 40), 0.95, 0)
    assert low.outcome == "fail" and "lower bound" in low.reasons[0]
    lost = decide(limits, metrics.accuracy(90, 100), 0.7, 0)
    assert lost.outcome == "fail" and "retained 0.700" in lost.reasons[0]
    assert decide({"max_unparsed": 0.05}, metrics.accuracy(90, 100), None, 6).outcome == "fail"
    assert decide({}, metrics.accuracy(1, 100), None, 0).outcome == "ungated"
    assert decide({"max_ece": 0.1}, metrics.accuracy(90, 100), None, 0, ece=0.2).outcome == "fail"
    assert "gives no scores" in decide({"max_ece": 0.1}, metrics.accuracy(9, 10), None, 0).reasons[0]


def test_baseline_verdicts_combine_with_limits():
    from ood_fixtures.gating.baseline import compare

    acc = metrics.accuracy(90, 100)
    fell = compare([True] * 100, [False] * 30 + [True] * 70, 0.02, level=1e-4)
    unsure = compare([True] * 100, [False] * 8 + [True] * 92, 0.02, level=1e-4)
    assert decide({}, acc, None, 0, comparison=fell).outcome == "fail"
    assert decide({}, acc, None, 0, comparison=unsure).outcome == "inconclusive"
    assert decide({}, acc, None, 0, comparison=unsure, strict=True).outcome == "fail"
    assert decide({"min_accuracy": 0.95}, acc, None, 0, comparison=unsure).outcome == "fail"


@pytest.mark.parametrize(
    "text, message",
    [
        ("version = 1\n[[gate]]\ncells = \"*\"\nmin_acuracy = 0.5\n", r"thresholds.toml:4: unknown key 'min_acuracy'"),
        ("[[gate]]\ncells = \"*\"\n\n[[gate]]\ncells = \"x\"\nmin_accuracy = 1.5\n",
         r"thresholds.toml:6: min_accuracy must be a number from 0 to 1, got 1.5"),
        ("[[gate]]\nmin_accuracy = 0.5\n", r"thresholds.toml:1: 'cells' must be a glob"),
        ("[[gate]]\ncells = \"*\"\nmin_accuracy = \"high\"\n", r"thresholds.toml:3: min_accuracy must be a number"),
        ("version = 2\n[[gate]]\ncells = \"*\"\n", r"thresholds.toml:1: version must be 1"),
        ("[[gate]\ncells = 1\n", r"not valid TOML"),
        ("version = 1\n", r"no \[\[gate\]\] entries"),
        ("gates = []\n", r"thresholds.toml:1: unknown top-level key 'gates'"),
    ],
)
def test_malformed_files_name_line_and_key(tmp_path, text, message):
    with pytest.raises(gate.ThresholdsError, match=message):
        gate.load(write(tmp_path, text))


def test_inline_entries_are_located_by_line(tmp_path):
    text = 'version = 1\ngate = [\n  { cells = "*", min_accuracy = 0.5 },\n  { cells = "a/*", min_retained = -1 },\n]\n'
    with pytest.raises(gate.ThresholdsError, match=r"thresholds.toml:4: min_retained must be a number"):
        gate.load(write(tmp_path, text))


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(gate.ThresholdsError, match="not found; pass --thresholds FILE"):
        gate.load(tmp_path / "nope.toml")


def test_shipped_thresholds_load():
    from pathlib import Path

    from generators.corruptions import CORRUPTIONS, SEVERITIES

    shipped = gate.load(Path(__file__).resolve().parents[1] / "benchmarks" / "thresholds.toml")
    assert shipped.covers("reference") and not shipped.covers("clip:someone/else")
    assert shipped.limits_for("corruption/shapes/clean/0", "reference")["min_accuracy"] >= 0.75
    limited = [
        shipped.limits_for(f"corruption/shapes/{name}/{severity}", "reference")
        for name in CORRUPTIONS
        for severity in SEVERITIES
    ]
    assert sum(bool(limits) for limits in limited) >= 80  # near-chance cells (12 of 95) are left to the baseline
    assert all(value >= 0.05 for limits in limited for value in limits.values())
