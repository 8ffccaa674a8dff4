"""Runs that outgrow one GPU or one machine (#18): GPUs shared among xdist workers, a run split with --shard and
put together with `ood-fixtures merge`, the progress lines and where the time went."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from ood_fixtures.plugin import options
from ood_fixtures.reports.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
TOY = "python:tests.models.toy:colour_only"  # clearly worse than the reference: the release gate fails
SELECTION = ["-k", "gaussian_noise or contrast or clean", "--samples", "40"]
PER_RUN = ("timing", "shard")  # what differs between one run and its merged parts by design


@pytest.fixture
def gpus(monkeypatch):
    def machine(count: int) -> None:
        monkeypatch.setattr(options, "cuda_devices", lambda: count)
        monkeypatch.setattr(options, "_cuda_possible", lambda: True)

    return machine


def test_workers_take_the_gpus_in_turn(gpus):
    gpus(2)
    assert [options._device("cuda", k) for k in range(4)] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    assert [options._device("auto", k) for k in range(3)] == ["cuda:0", "cuda:1", "cuda:0"]
    assert options._device("cuda") == "cuda:0"  # one process: the first
    gpus(4)
    assert [options._device("cuda:1,3", k) for k in range(3)] == ["cuda:1", "cuda:3", "cuda:1"]
    assert options._device("cuda:2", 5) == "cuda:2"


def test_one_gpu_keeps_the_device_as_given(gpus):
    gpus(1)
    assert options._device("cuda", 3) == "cuda" and options._device("auto", 3) == "cuda"
    assert options._device("cuda:0", 3) == "cuda:0"
    gpus(0)
    assert options._device("auto", 1) == "cpu"


@pytest.mark.parametrize("text", ["cuda:2", "cuda:0,5", "gpu", "cuda:", "cuda:1,"])
def test_devices_the_machine_lacks_are_one_usage_error(gpus, text):
    gpus(2)
    with pytest.raises(pytest.UsageError, match="--device"):
        options._device(text, 0)


def test_each_worker_records_its_device_and_the_results_do_not_depend_on_it(run_suite, tmp_path):
    """Three workers on the fake machine's GPUs 1 and 3; a `python:` model ignores the device, so the results
    must equal a CPU run's."""
    spread = run_suite("-n", "3", "-p", "tests.fake_gpus", "--device", "cuda:1,3", "--model", TOY, *SELECTION)
    assert spread.returncode in (0, 1), spread.output
    workers = spread.results()["timing"]["workers"]
    assert workers, spread.output
    for name, worker in workers.items():
        assert worker["device"] == ("cuda:1", "cuda:3")[int(name.removeprefix("gw")) % 2], workers
    on_cpu = run_suite("-n", "3", "--device", "cpu", "--model", TOY, *SELECTION, report_dir=tmp_path / "cpu")
    assert _comparable(spread.results(), drop_device=True) == _comparable(on_cpu.results(), drop_device=True)


def test_three_shards_merge_into_the_unsharded_run(run_suite, tmp_path):
    """A worse model gated against the reference's results: the unsharded run and its three merged parts agree on
    every record, the release gate and the reports' tests, and exit alike."""
    baseline = run_suite("-n", "2", *SELECTION, report_dir=tmp_path / "baseline")
    assert baseline.returncode == 0, baseline.output
    gated = [*SELECTION, "--model", TOY, "--baseline", str(baseline.report_dir / "results.json")]
    whole = run_suite("-n", "2", *gated, report_dir=tmp_path / "whole")
    parts = [run_suite("-n", "2", "--shard", f"{k}/3", *gated, report_dir=tmp_path / f"part{k}") for k in (1, 2, 3)]
    for part in parts:
        assert "release-gate::" not in part.output  # a part leaves the run's gate to the merge
    merged_dir = tmp_path / "merged"
    merged = subprocess.run([sys.executable, "-m", "ood_fixtures", "merge",
                             *(str(p.report_dir / "results.json") for p in parts), "--report-dir", str(merged_dir)],
                            cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert whole.returncode == merged.returncode == 1, whole.output + merged.stdout + merged.stderr

    document = json.loads((merged_dir / "results.json").read_text())
    assert _comparable(document) == _comparable(whole.results())
    assert document["summary"]["release_gate"]["outcome"] == "fail"
    assert set(document["timing"]["families"]) >= {"corruption", "property"}  # the toy model has no features
    assert _junit_tests(merged_dir / "junit.xml") == _junit_tests(whole.report_dir / "junit.xml")
    assert "release-gate::cells" in (merged_dir / "report.html").read_text()


def test_merge_needs_every_part_of_one_run(run_suite, tmp_path):
    few = ["-k", "test_clean", "--samples", "20"]  # one test: the second part runs none, and still writes its file
    parts = [run_suite("--shard", f"{k}/2", *few, report_dir=tmp_path / f"p{k}") for k in (1, 2)]
    other = run_suite("--shard", "2/2", *few, "--seed", "7", report_dir=tmp_path / "s7")
    files = [str(p.report_dir / "results.json") for p in (*parts, other)]
    for given, message in (([files[0]], "missing [2]"), ([files[0], files[0]], "given twice [1]"),
                           ([files[0], files[2]], "was run with seed 7")):  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "ood_fixtures", "merge", *given, "--report-dir",
                               str(tmp_path / "m")], cwd=ROOT, capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_progress_shows_each_workers_pace_and_the_time_left():
    config = SimpleNamespace(get_verbosity=lambda: 0, pluginmanager=SimpleNamespace(get_plugin=lambda name: None))
    progress = Progress(config, interval=0)
    progress.total = 4
    for worker, device in (("gw0", "cuda:0"), ("gw1", "cuda:1"), ("gw0", "cuda:0")):
        progress.pytest_runtest_logreport(SimpleNamespace(
            when="call", duration=2.0, ood_cell={"n": 100}, ood_worker=worker, ood_model={"device": device}))
    line = progress.line(progress.started + 30)
    assert line.startswith("progress: 3/4 tests, about 10 s left; ")
    assert "gw0 2 cells 50 img/s on cuda:0; gw1 1 cells 50 img/s on cuda:1" in line


def _comparable(document: dict, drop_device: bool = False) -> dict:
    kept = {k: v for k, v in document.items() if k not in PER_RUN}
    if drop_device:
        kept["model"] = {k: v for k, v in kept["model"].items() if k != "device"}
    return kept


def _junit_tests(path: Path) -> set[tuple[str, str, bool]]:
    """(class, name, failed) of every testcase that is not skipped."""
    cases = ET.parse(path).getroot().iter("testcase")
    return {(c.get("classname"), c.get("name"), c.find("failure") is not None) for c in cases
            if c.find("skipped") is None}  # fmt: skip
