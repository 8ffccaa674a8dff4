"""Where a run's time went, for results.json's `timing`: seconds per family (setup, call and teardown of its tests,
summed over workers), per xdist worker (its device, tests and seconds), and the run's wall time."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

RECORDS = {"ood_cell": None, "ood_property": "property", "ood_diagnosis": "diagnosis"}  # family: the cell's own


class Timing:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.seconds: dict[str, float] = defaultdict(float)  # test id -> its phases' seconds
        self.family: dict[str, str] = {}  # test id -> the family of the record it left
        self.worker: dict[str, str] = {}  # test id -> the worker that ran it
        self.devices: dict[str, str] = {}  # worker -> the device its model ran on

    def add(self, report: Any) -> None:
        """A test report of any phase."""
        self.seconds[report.nodeid] += report.duration
        for attribute, family in RECORDS.items():
            record = getattr(report, attribute, None)
            if record is not None:
                self.family[report.nodeid] = family or record["family"]
                worker = getattr(report, "ood_worker", "main")
                self.worker[report.nodeid] = worker
                model = getattr(report, "ood_model", None)
                if model and "device" in model:
                    self.devices.setdefault(worker, model["device"])

    def to_dict(self) -> dict[str, Any]:
        families: dict[str, float] = defaultdict(float)
        workers: dict[str, dict[str, Any]] = {}
        for test, family in self.family.items():
            families[family] += self.seconds[test]
            worker = workers.setdefault(self.worker[test], {"device": self.devices.get(self.worker[test]),
                                                            "tests": 0, "seconds": 0.0})  # fmt: skip
            worker["tests"] += 1
            worker["seconds"] += self.seconds[test]
        return {"wall_seconds": round(time.monotonic() - self.started, 1),
                "families": {name: round(families[name], 1) for name in sorted(families)},
                "workers": {name: {**w, "seconds": round(w["seconds"], 1)} for name, w in sorted(workers.items())}}
