"""The main job end to end, run as a user runs it: `pytest benchmarks ...` in a subprocess."""

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBSET = ["-k", "clean or fog or gaussian_noise-5"]


def junit_cells(report_dir):
    tree = ET.parse(report_dir / "junit.xml")
    cells = {}
    for case in tree.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "accuracy" in props:  # diagnosis rows have their own properties
            cells[case.get("name")] = props
    return cells


def html_extras(path):
    """The extras' HTML as the browser inserts it: pytest-html keeps it in an escaped JSON attribute."""
    blob = re.search(r'data-jsonblob="([^"]*)"', path.read_text()).group(1)
    tests = json.loads(html.unescape(blob))["tests"]
    return [extra["content"] for runs in tests.values() for run in runs for extra in run["extras"]]


CELLS = 96 + 12 + 5 + 10 + 4 + 4 * 14  # corruption, synthetic, natural, medical, molecular, in-context (4 pairs)
PROPERTIES = 6 + 1 + 19  # invariance per perturbation, option order, a severity curve per corruption
DIAGNOSIS = 19 + 2 + 6 + 1 + 4 + 4 + 4 + 3  # corruptions at severity 3, then every target domain


def test_full_main_job_passes_on_the_reference_model_and_reports_agree(run_suite):
    run = run_suite("-n", "2")
    assert run.returncode == 0, run.output[-3000:]
    # skipped: the real datasets (no --data-root) and your own (no --dataset)
    assert re.search(rf"\b{CELLS + PROPERTIES + DIAGNOSIS} passed, 2 skipped\b", run.output), run.output[-500:]
    results = run.results()
    assert results["schema"] == 1 and results["model"]["spec"] == "reference" and results["seed"] == 0
    cells = results["cells"]
    outcomes = [c["gate"]["outcome"] for c in cells]
    # Cells where the reference is near chance have no limits (benchmarks/thresholds.toml) and report ungated.
    assert len(cells) == CELLS and set(outcomes) <= {"pass", "ungated"}
    from ood_fixtures.gating import thresholds as gate

    shipped = gate.load(ROOT / "benchmarks" / "thresholds.toml")
    named = {c["id"] for c in cells if shipped.limits_for(c["id"], "reference")}
    assert {c["id"] for c in cells if c["gate"]["outcome"] == "ungated"} == {c["id"] for c in cells} - named
    families = results["summary"]["families"]
    assert set(families) == {"corruption", "synthetic", "natural", "medical", "molecular", "icl"}
    assert len(results["diagnosis"]) == DIAGNOSIS and all(d["gate"]["outcome"] == "pass" for d in results["diagnosis"])
    assert results["summary"]["icl"]["method"].startswith("few-shot adaptation (Tip-Adapter, alpha and beta tuned")
    assert len(results["properties"]) == PROPERTIES
    assert set(results["summary"]["robustness_boundary"]) == {p["corruption"] for p in results["properties"]
                                                              if p["property"].startswith("severity-curve/")}
    assert all(c["n"] == len(c["samples"]) == 100 for c in cells)
    assert all(c["correct"] == sum(s["correct"] for s in c["samples"]) for c in cells)

    junit = junit_cells(run.report_dir)
    assert len(junit) == CELLS
    tree = ET.parse(run.report_dir / "junit.xml")
    rows = [{p.get("name"): p.get("value") for p in case.iter("property")} for case in tree.iter("testcase")
            if case.get("name").startswith("test_diagnosis")]  # fmt: skip
    assert len(rows) == DIAGNOSIS and all({"zero_shot", "probe", "mapping_gap", "verdict"} <= set(r) for r in rows)
    by_id = {c["id"]: c for c in cells}
    clean = by_id["corruption/shapes/clean/0"]
    assert float(junit["test_clean"]["accuracy"]) == pytest.approx(clean["accuracy"], abs=1e-4)
    fog = by_id["corruption/shapes/fog/5"]
    assert float(junit["test_corruption[fog-5]"]["ci_low"]) == pytest.approx(fog["ci_low"], abs=1e-4)
    assert float(junit["test_corruption[fog-5]"]["retained"]) == pytest.approx(fog["retained"], abs=1e-4)
    assert fog["retained"] == pytest.approx(fog["accuracy"] / clean["accuracy"])

    page = (run.report_dir / "report.html").read_text()
    assert "corruption/shapes/fog/5" in page
    extras = html_extras(run.report_dir / "report.html")
    assert sum(extra.count("data:image/png;base64") for extra in extras) == CELLS * 4
    gallery = page[page.index("Examples per domain") :]
    assert all(f"<code>{c['id']}</code>" in gallery for c in cells if c["family"] not in ("corruption", "icl"))
    assert "Diagnosis: why accuracy drops" in page and "In-context examples under shift" in page


def test_predictions_do_not_depend_on_worker_count_or_rerun(run_suite, tmp_path):
    one = run_suite(*SUBSET, "-n", "0", report_dir=tmp_path / "one")
    four = run_suite(*SUBSET, "-n", "4", report_dir=tmp_path / "four")
    again = run_suite(*SUBSET, "-n", "4", report_dir=tmp_path / "again")
    assert one.returncode == four.returncode == again.returncode == 0, one.output[-2000:] + four.output[-2000:]

    def predictions(run):
        return {c["id"]: [(s["sample_id"], s["prediction"]) for s in c["samples"]] for c in run.results()["cells"]}

    assert len(predictions(one)) == 7
    assert predictions(one) == predictions(four) == predictions(again)
    rows = [run.results()["diagnosis"] for run in (one, four, again)]  # the fog row's probe and answers too
    assert len(rows[0]) == 1 and rows[0] == rows[1] == rows[2]


def test_a_clearly_worse_model_fails_the_reference_gates(run_suite, tmp_path):
    # The shipped limits are the reference model's; held to them, a model that only reads colour fails.
    shipped = (ROOT / "benchmarks" / "thresholds.toml").read_text()
    for_any_model = tmp_path / "thresholds.toml"
    for_any_model.write_text(re.sub(r'^models = .*$', 'models = ["*"]', shipped.replace('models = "reference", ', ""),
                                    flags=re.M))  # fmt: skip
    run = run_suite("-k", "clean or gaussian_noise-1", "--model", "python:tests.models.toy:colour_only",
                    "--thresholds", str(for_any_model))
    assert run.returncode == 1, run.output[-2000:]
    cells = {c["id"]: c for c in run.results()["cells"]}
    assert cells["corruption/shapes/clean/0"]["gate"]["outcome"] == "fail"
    assert "below min_accuracy" in cells["corruption/shapes/clean/0"]["gate"]["reasons"][0]
    assert "2 failed" in run.output


def test_model_text_is_escaped_in_the_html_report(run_suite):
    run = run_suite("-k", "clean", "--samples", "8", "--model", "python:tests.models.toy:script_writer")
    cells = run.results()["cells"]
    assert cells[0]["unparsed"] == 8 and cells[0]["samples"][0]["text"].startswith("<script>")
    extras = html_extras(run.report_dir / "report.html")
    assert extras and all("<script>alert" not in extra for extra in extras)
    assert "&lt;script&gt;alert" in extras[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nonsense"], "unknown --model 'nonsense'"),
        (["--model", "clip:/no/such/folder"], "clip:/no/such/folder: no such folder"),
        (["--model", "python:tests.models.toy:missing"], "has no attribute 'missing'"),
        (["--thresholds", "/no/such/thresholds.toml"], "thresholds file /no/such/thresholds.toml not found"),
        (["--samples", "0"], "argument --samples: must be a positive integer, got 0"),
        (["--device", "tpu"], "--device 'tpu': use auto, cpu, cuda, cuda:INDEX or cuda:INDEX,INDEX,..."),
    ],
)
def test_bad_input_stops_the_run_with_one_clear_error(run_suite, args, message):
    run = run_suite("-n", "2", *args)
    assert run.returncode == 4, run.output[-2000:]
    assert message in run.output
    assert "Traceback" not in run.output and "passed" not in run.output and "error" in run.output.lower()


def test_malformed_thresholds_file_names_line_and_key(run_suite, tmp_path):
    bad = tmp_path / "thresholds.toml"
    bad.write_text('version = 1\n[[gate]]\ncells = "*"\nmin_accuracy = 2\n')
    run = run_suite("--thresholds", str(bad))
    assert run.returncode == 4
    assert f"{bad}:4: min_accuracy must be a number from 0 to 1, got 2" in run.output


def test_a_model_that_fails_to_load_stops_the_run_with_one_failure_per_worker(run_suite):
    # The model loads when a cell first needs it (cached cells need none), so its failure fails that cell's test.
    run = run_suite("-n", "2", "--model", "python:tests.models.toy:Unloadable")
    assert run.returncode != 0
    assert "cannot load --model python:tests.models.toy:Unloadable: OSError: weights file" in run.output
    assert re.search(r"\b[12] failed\b", run.output) and "passed" not in run.output, run.output[-1500:]


def test_an_interrupted_run_keeps_the_cells_it_finished(tmp_path):
    report_dir = tmp_path / "reports"
    command = [sys.executable, "-m", "pytest", "benchmarks", "-p", "no:cacheprovider", "-v", "-n", "0",
               "--report-dir", str(report_dir)]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # A shell's background job inherits SIGINT ignored, and Python then keeps ignoring it: restore the default
    # so that the run can be interrupted however this test was started.
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    finished = 0
    deadline = time.monotonic() + 300
    for line in proc.stdout:
        finished += " PASSED" in line
        if finished == 10 or time.monotonic() > deadline:
            proc.send_signal(signal.SIGINT)
            break
    output = proc.communicate(timeout=120)[0]
    # 2 is pytest's exit code for an interrupt; pytest on Python 3.11 sometimes fails to format the interrupt's
    # traceback (a frame without a line number) and exits 1: either way, what was finished must be on disk.
    assert proc.returncode in (1, 2), output[-1500:]
    cells = json.loads((report_dir / "results.json").read_text())["cells"]
    assert 10 <= len(cells) < CELLS


def test_a_model_without_thresholds_or_baseline_is_reported_ungated(run_suite):
    run = run_suite("-k", "clean", "--model", "python:tests.models.toy:always_first")
    assert run.returncode == 0, run.output[-1500:]
    results = run.results()
    assert results["thresholds_cover_model"] is False
    assert results["cells"][0]["gate"]["outcome"] == "ungated"
    assert "1 cells are ungated (no thresholds entry names --model python:tests.models.toy:always_first" in run.output


def test_baseline_round_trip_and_regression(run_suite, tmp_path):
    baseline = tmp_path / "baseline.json"
    selection = ("-k", "clean or gaussian_noise-1 or gaussian_noise-2 or test_domain")
    made = run_suite(*selection, "--baseline", str(baseline), "--update-baseline")
    assert made.returncode == 0 and baseline.exists(), made.output[-1500:]
    same = run_suite(*selection, "--baseline", str(baseline))
    assert same.returncode == 0, same.output[-1500:]
    assert all(c["gate"]["baseline"]["outcome"] == "pass" for c in same.results()["cells"])
    junit = junit_cells(same.report_dir)
    clean_accuracy = next(c["accuracy"] for c in same.results()["cells"] if c["shift"] == "clean")
    assert float(junit["test_clean"]["baseline_accuracy"]) == pytest.approx(clean_accuracy, abs=1e-4)
    assert junit["test_clean"]["p_value"] == "1"
    gate = same.results()["summary"]["release_gate"]
    assert gate["outcome"] == "pass" and gate["cells"]["compared"] == 8
    assert {a["id"] for a in gate["aggregates"]} >= {"family/corruption", "family/natural", "worst/natural/objects"}
    assert "release gate vs baseline: PASS" in same.output

    worse = run_suite(*selection, "--baseline", str(baseline), "--model", "python:tests.models.toy:colour_only")
    assert worse.returncode == 1
    clean = next(c for c in worse.results()["cells"] if c["shift"] == "clean")
    assert clean["gate"]["outcome"] == "fail" and clean["gate"]["reasons"][0].startswith("regression: ")
    assert "release gate vs baseline: FAIL" in worse.output
    cases = {case.get("name"): case for case in ET.parse(worse.report_dir / "junit.xml").iter("testcase")
             if case.get("classname") == "release-gate"}  # fmt: skip
    assert cases["family/corruption"].find("failure") is not None
    failure = cases["cells"].find("failure")
    assert failure is not None and "corruption/shapes/clean/0" in failure.get("message")
    assert "Release gate against the baseline: FAIL" in (worse.report_dir / "report.html").read_text()
    spread = run_suite(*selection, "--baseline", str(baseline), "--model", "python:tests.models.toy:colour_only",
                       "-n", "2", report_dir=tmp_path / "two-workers")  # fmt: skip
    assert spread.results()["summary"]["release_gate"] == worse.results()["summary"]["release_gate"]

    other_seed = run_suite("-k", "clean", "--baseline", str(baseline), "--seed", "5")
    assert other_seed.returncode == 4
    assert "was made with seed 0 (this run: 5)" in other_seed.output and "Traceback" not in other_seed.output


@pytest.mark.parametrize("prefix, family", [("clip", "siglip"), ("vlm", "llava"), ("vlm", "paligemma")])
def test_a_cell_runs_through_each_adapter_family(run_suite, tmp_path, prefix, family):
    from tests.models import families, tiny

    folder = (tiny.siglip if family == "siglip" else families.FAMILIES[family])(tmp_path / family)
    run = run_suite("-k", "clean or fog-5", "--samples", "6", "--model", f"{prefix}:{folder}", "-n", "0")
    assert run.returncode == 0, run.output[-2000:]  # ungated: random weights, no thresholds, no baseline
    cells = run.results()["cells"]
    assert [c["n"] for c in cells] == [6, 6] and all(c["gate"]["outcome"] == "ungated" for c in cells)
    assert run.results()["model"]["fingerprint"].startswith("sha256:")


def test_a_killed_run_resumes_from_the_cache_with_identical_results(run_suite, tmp_path):
    selection = ["-k", "clean or noise or fog", "-n", "0"]
    whole = run_suite(*selection, "--no-cache", report_dir=tmp_path / "whole")
    assert whole.returncode == 0, whole.output[-1500:]

    report_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "pytest", "benchmarks", "-p", "no:cacheprovider", "-v", *selection,
               "--report-dir", str(report_dir)]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    passed = 0
    for line in proc.stdout:
        passed += " PASSED" in line
        if passed == 8:
            proc.kill()  # SIGKILL: no teardown, no report, only what the cache committed
            break
    proc.wait(timeout=60)
    assert not (report_dir / "results.json").exists()

    resumed = run_suite(*selection, report_dir=report_dir)
    assert resumed.returncode == 0, resumed.output[-1500:]
    assert resumed.results()["cells"] == whole.results()["cells"]


def test_real_datasets_from_disk_count_unreadable_images_and_skip_what_is_absent(run_suite, tmp_path):
    from tests.test_datasets import make_tree

    root = make_tree(tmp_path / "data")
    (root / "PACS" / "photo" / "dog" / "broken.png").write_bytes(b"\x89PNG truncated")
    run = run_suite("-m", "real", "-rs", "--data-root", str(root), "--samples", "28",
                    "--model", "python:tests.models.toy:always_first")  # fmt: skip
    assert run.returncode == 0, run.output[-2000:]
    assert "VLCS: not found, expected the folder" in run.output and "2 passed" in run.output
    cells = {cell["id"]: cell for cell in json.loads((run.report_dir / "results.json").read_text())["cells"]}
    assert set(cells) == {"real/PACS/photo", "real/PACS/sketch"}
    photo = cells["real/PACS/photo"]
    assert photo["n"] == 22 and photo["retained"] is None  # all there is: 3 images per class, and the broken one
    broken = [s for s in photo["samples"] if s["sample_id"] == "dog/broken.png"]
    assert broken and broken[0]["prediction"] is None and broken[0]["text"].startswith("unreadable: cannot read")
    assert photo["unparsed"] == 1


def test_without_a_data_root_the_real_datasets_are_one_skipped_test(run_suite):
    run = run_suite("-m", "real", "-rs")
    assert "no --data-root DIR given" in run.output and "1 skipped" in run.output


def test_a_wrong_data_root_layout_is_one_usage_error(run_suite, tmp_path):
    (tmp_path / "data" / "PACS" / "clipart").mkdir(parents=True)
    run = run_suite("-m", "real", "--data-root", str(tmp_path / "data"))
    assert run.returncode == 4 and "holds domain folders that PACS does not have: clipart" in run.output
    assert "Traceback" not in run.output


def test_in_context_cells_report_curves_and_effects_for_a_model_that_reads_examples(run_suite):
    run = run_suite("-m", "icl", "-k", "objects-sketch", "--samples", "20", "-n", "0",
                    "--model", "python:tests.models.toy:ExampleCopier")  # fmt: skip
    assert run.returncode == 0, run.output[-2000:]
    results = run.results()
    assert results["model"]["capabilities"] == ["classify_in_context", "features"]
    icl = results["summary"]["icl"]
    assert icl["method"] == "in-context examples"
    lines = icl["curves"]["objects-sketch"]
    assert set(lines) == {"target", "source", "skewed", "spurious"}
    assert [x for x, _ in lines["target"]] == [0, 2, 4, 8] and [x for x, _ in lines["spurious"]] == [0, 2, 4, 8]
    cells = {c["id"]: c for c in results["cells"]}
    assert lines["target"][0][1] == cells["icl/objects-sketch/none/0"]["accuracy"]
    assert lines["spurious"][0][1] == cells["icl/objects-sketch/spurious/0"]["accuracy"]
    assert set(icl["effects"]["objects-sketch"]) == {"target_gain", "source_gain", "skew_change", "spurious_change",
                                                         "spurious_gain"}
    assert "In-context examples under shift" in (run.report_dir / "report.html").read_text()


def test_a_model_without_examples_or_features_skips_those_tests_saying_why(run_suite):
    run = run_suite("-m", "icl or diagnosis", "-k", "objects", "--samples", "10", "-n", "0", "-rs",
                    "--model", "python:tests.models.toy:always_first")  # fmt: skip
    assert run.returncode == 0, run.output[-2000:]
    # zero-example cells are plain questions; every other in-context cell and every diagnosis row is skipped
    assert re.search(r"\b2 passed, 16 skipped\b", run.output), run.output[-1500:]
    assert "takes one image per question, not examples in context, and " in run.output
    assert "gives no image features" in run.output
    assert "no in-context cell can run" in run.output
