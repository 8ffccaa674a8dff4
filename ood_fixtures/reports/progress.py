"""A long run's progress in the terminal, one line every INTERVAL seconds: tests done of all, the time left at
the pace so far, and per xdist worker its cells, images per second and device. Not under -q, where pytest itself
prints one character a test."""

from __future__ import annotations

import time
from typing import Any

import pytest

INTERVAL = 30.0  # seconds between lines: a 5-minute run shows ten, a run under half a minute none


class Progress:
    """On the controller (or the only process)."""

    def __init__(self, config: pytest.Config, interval: float = INTERVAL) -> None:
        self.config = config
        self.interval = interval
        self.started = self.shown = time.monotonic()
        self.total = 0
        self.done = 0
        self.workers: dict[str, dict[str, Any]] = {}  # worker -> cells, images, seconds, device

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.total = len(ids)  # every worker collects the same tests

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        self.done += 1
        cell = getattr(report, "ood_cell", None)
        if cell is not None:
            worker = self.workers.setdefault(getattr(report, "ood_worker", "main"),
                                             {"cells": 0, "images": 0, "seconds": 0.0, "device": None})  # fmt: skip
            worker["cells"] += 1
            worker["images"] += cell["n"]
            worker["seconds"] += report.duration
            worker["device"] = worker["device"] or (getattr(report, "ood_model", None) or {}).get("device")
        now = time.monotonic()
        if now - self.shown >= self.interval and self.config.get_verbosity() >= 0:
            self.shown = now
            terminal = self.config.pluginmanager.get_plugin("terminalreporter")
            if terminal is not None:
                # the reporter's ensure_newline knows only its own lines, not the dots xdist writes: its writer
                # (private) knows where the line is
                writer = getattr(terminal, "_tw", None)
                if writer is None or writer.width_of_current_line:
                    terminal.write("\n")
                terminal.write_line(self.line(now))

    def line(self, now: float) -> str:
        left = ""
        if self.total > self.done > 0:
            seconds = (now - self.started) / self.done * (self.total - self.done)
            left = f", about {seconds / 60:.0f} min left" if seconds >= 90 else f", about {seconds:.0f} s left"
        workers = "; ".join(
            f"{name} {w['cells']} cells {w['images'] / max(w['seconds'], 1e-9):.0f} img/s"
            + (f" on {w['device']}" if w["device"] else "")
            for name, w in sorted(self.workers.items())
        )
        return f"progress: {self.done}/{self.total} tests{left}" + (f"; {workers}" if workers else "")
