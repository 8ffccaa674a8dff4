"""The command-line options of the suite, and their validation into one `RunOptions` value. Imported in every
pytest session of an environment with the package (the plugin's options are added there), so it imports pytest
alone at module level."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pytest

if TYPE_CHECKING:
    from ood_fixtures.adapters.base import Settings

DEFAULT_SAMPLES = 100
SMALLEST_IMAGE = 16  # the generators' smallest size (a 16 px star still has five tips)


def _batch_size(text: str) -> int | None:
    return None if text == "auto" else _positive_int(text)


def _image_size(text: str) -> int | None:
    if text == "native":
        return None
    value = _positive_int(text)
    if value < SMALLEST_IMAGE:
        raise argparse.ArgumentTypeError(f"must be 'native' or at least {SMALLEST_IMAGE} pixels, got {value}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _number(text: str, what: str, accepts: Callable[[float], bool]) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if not accepts(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    return value


def _shard(text: str) -> tuple[int, int]:
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise argparse.ArgumentTypeError(f"write K/N with 1 <= K <= N, e.g. 2/3; got {text!r}")
    return int(k), int(n)


def _points(text: str) -> float:
    return _number(text, "accuracy points from 0 to 100", lambda value: 0 <= value <= 100)


def _rate(text: str) -> float:
    return _number(text, "a probability between 0 and 1 (exclusive)", lambda value: 0 < value < 1)


# each option's default by its dest, filled by add_options: `given` tells a session that sets one
DEFAULTS: dict[str, object] = {}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("ood", "OOD robustness benchmark (ood_fixtures)")

    def option(name: str, **kwargs: object) -> None:
        group.addoption(name, **kwargs)  # type: ignore[arg-type]
        DEFAULTS[name.lstrip("-").replace("-", "_")] = kwargs.get("default", False)  # no default: a store_true

    option("--model", default="reference", metavar="SPEC",
           help="model under test: 'reference' or 'reference-vlm' (shipped), 'clip:PATH_OR_HUB_ID', "
                "'vlm:PATH_OR_HUB_ID', 'openai:MODEL@BASE_URL', 'python:module:attribute' "
                "(default: reference)")
    option("--model-arg", action="append", default=[], metavar="KEY=VALUE",
           help="passed to the model's adapter (dtype, revision, attn_implementation, lettered, "
                "max_new_tokens, concurrency, timeout, ...); repeatable")
    option("--trust-remote-code", action="store_true",
           help="allow models whose checkpoints ship their own Python code (off: such models are refused)")
    option("--answer-mode", default="generate", choices=("generate", "score"),
           help="generative models: 'generate' parses the answer, 'score' ranks the options by "
                "log-likelihood (default: generate)")
    option("--cache-dir", default=None, metavar="DIR",
           help="where the prediction cache lives (default: REPORT_DIR/cache)")
    option("--no-cache", action="store_true", help="ask the model every time; read and write no cache")
    option("--samples", type=_positive_int, default=DEFAULT_SAMPLES, metavar="N",
           help=f"images per benchmark cell (default: {DEFAULT_SAMPLES})")
    option("--seed", type=int, default=0, metavar="INT",
           help="global seed; every image derives from (seed, scenario, index) (default: 0)")
    option("--device", default="auto", metavar="auto|cpu|cuda[:i[,j...]]",
           help="where the model runs; auto takes CUDA when present. With several GPUs (all of cuda or auto, or "
                "the list cuda:0,1) xdist worker k runs on the k mod n-th (default: auto)")
    option("--shard", type=_shard, default=None, metavar="K/N",
           help="run the K-th of N deterministic parts of the selected tests (gates keep the whole run's error "
                "budget); combine the parts' results.json with ood-fixtures merge")
    option("--batch-size", type=_batch_size, default=None, metavar="auto|N",
           help="images per model call; auto halves from 256 on CUDA until it fits, 64 on CPU "
                "(default: auto)")
    option("--image-size", type=_image_size, default=None, metavar="native|N",
           help="the side, in pixels, that images are generated and real images resized at; native: "
                "the model's own input size, read from its processor config (the reference models: "
                "64; a model that states none: 224) (default: native)")
    option("--dataset", action="append", default=[], metavar="CARD",
           help="your own dataset: a card (TOML) or a built-in name of the study's datasets (with "
                "--data-root); adds its domain, corruption, in-context and diagnosis cells and property "
                "checks; repeatable")
    option("--data-root", default=None, metavar="DIR",
           help="real datasets in the DomainBed layout DIR/<dataset>/<domain>/<class>/<image>; enables "
                "the real-dataset cells (default: none, those cells are skipped)")
    option("--report-dir", default="reports", metavar="DIR",
           help="where junit.xml, report.html and results.json go (default: reports/)")
    option("--thresholds", default=None, metavar="FILE",
           help="gate thresholds, TOML (default: benchmarks/thresholds.toml)")
    option("--baseline", default=None, metavar="FILE",
           help="an earlier results.json (same seed and samples): every cell, and aggregates over "
                "families, scenarios, corruption groups and domains, are also gated against it")
    option("--regression-tolerance", type=_points, default=2.0, metavar="POINTS",
           help="accuracy drop vs the baseline, in points, that is never a regression (default: 2)")
    option("--gate-alpha", type=_rate, default=0.05, metavar="P",
           help="the chance that a candidate no worse than the baseline fails any baseline gate of the "
                "run, shared by all cells and aggregates (default: 0.05)")
    option("--strict-gate", action="store_true",
           help="also fail cells whose baseline comparison is inconclusive (significant for the cell "
                "alone, not at the run's error rate); gives up the run-wide error control for them")
    option("--update-baseline", action="store_true",
           help="after the run, write its results.json to the --baseline file")  # fmt: skip


@dataclass(frozen=True)
class RunOptions:
    model: str
    samples: int
    seed: int
    device: str  # this process's: an xdist worker's share of several GPUs
    batch_size: int | None  # None: auto
    report_dir: Path
    thresholds: Path
    baseline: Path | None
    tolerance: float  # accuracy, not points: 0.02 for --regression-tolerance 2
    alpha: float  # the run's chance of a false baseline failure, --gate-alpha
    strict: bool
    update_baseline: bool
    model_args: dict[str, str]
    trust_remote_code: bool
    answer_mode: str
    cache_dir: Path | None  # None: no cache
    data_root: Path | None  # None: real-dataset cells are skipped
    image_size: int | None  # None: native, the model's own (hooks resolve it into Run.image_size)
    datasets: tuple[str, ...]  # --dataset, as given
    shard: tuple[int, int] | None = None  # --shard K/N

    def settings(self) -> Settings:
        """What the model's adapter is told about running it."""
        from ood_fixtures.adapters.base import Settings

        return Settings(device=self.device, batch_size=self.batch_size, model_args=self.model_args,
                        trust_remote_code=self.trust_remote_code, answer_mode=self.answer_mode)  # fmt: skip


def benchmarks_folder() -> Path:
    """The standard benchmark modules: inside the installed package (`ood_fixtures.benchmarks`), or beside the
    package in a clone (its benchmarks/, which an editable install maps to that name). Found from this file, so
    a clone used without installing (PYTHONPATH=.) and a second worktree each find their own."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package / "benchmarks", package.parent / "benchmarks"):
        if (folder / "ood-fixtures.ini").is_file():
            return folder
    raise pytest.UsageError(f"no benchmarks beside {package}: reinstall ood-fixtures")


def given(config: pytest.Config) -> list[str]:
    """The suite's options that differ from their defaults, as `--name`s: a session that sets one uses the suite."""
    return [f"--{dest.replace('_', '-')}" for dest, default in DEFAULTS.items() if config.getoption(dest) != default]


def read_options(config: pytest.Config) -> RunOptions:
    """The options as given, checked; pytest.UsageError (one line, exit 4) for anything unusable."""
    thresholds = config.getoption("thresholds")
    return RunOptions(
        model=config.getoption("model"),
        samples=config.getoption("samples"),
        seed=config.getoption("seed"),
        device=_device(config.getoption("device"), _worker_index(config)),
        batch_size=config.getoption("batch_size"),
        report_dir=Path(config.getoption("report_dir")),
        thresholds=Path(thresholds) if thresholds else benchmarks_folder() / "thresholds.toml",
        baseline=_baseline_path(config),
        tolerance=config.getoption("regression_tolerance") / 100,
        alpha=config.getoption("gate_alpha"),
        strict=config.getoption("strict_gate"),
        update_baseline=config.getoption("update_baseline"),
        model_args=_model_args(config.getoption("model_arg")),
        trust_remote_code=config.getoption("trust_remote_code"),
        answer_mode=config.getoption("answer_mode"),
        cache_dir=None if config.getoption("no_cache") else Path(
            config.getoption("cache_dir") or Path(config.getoption("report_dir")) / "cache"
        ),
        data_root=_data_root(config.getoption("data_root")),
        image_size=config.getoption("image_size"),
        datasets=tuple(config.getoption("dataset")),
        shard=config.getoption("shard"),
    )


def _data_root(text: str | None) -> Path | None:
    if text is None:
        return None
    root = Path(text).expanduser()
    if not root.is_dir():
        raise pytest.UsageError(f"--data-root {text}: no such folder; give the folder that holds "
                                f"<dataset>/<domain>/...")  # fmt: skip
    return root


def _model_args(pairs: list[str]) -> dict[str, str]:
    args = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"--model-arg {pair!r}: write KEY=VALUE, e.g. --model-arg dtype=bfloat16")
        args[key.strip()] = value.strip()
    return args


def _baseline_path(config: pytest.Config) -> Path | None:
    baseline = config.getoption("baseline")
    if config.getoption("update_baseline") and not baseline:
        raise pytest.UsageError("--update-baseline needs --baseline FILE: the file to write")
    return Path(baseline) if baseline else None


def _cuda_possible() -> bool:
    """False when CUDA certainly is not there, known without importing torch: CUDA hidden, a CPU-only torch
    build, or a Linux machine without GPU device files."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "":
        return False
    try:
        if importlib.metadata.version("torch").endswith("+cpu"):
            return False
    except importlib.metadata.PackageNotFoundError:
        return False
    return not sys.platform.startswith("linux") or any(Path(p).exists() for p in ("/dev/nvidiactl", "/dev/kfd"))


def cuda_devices() -> int:
    """How many CUDA devices this process sees (the suite's own tests replace it to fake a machine)."""
    import torch  # only here: importing it costs seconds in every worker, and a cached run needs no model

    return torch.cuda.device_count()


def _worker_index(config: pytest.Config) -> int | None:
    worker = getattr(config, "workerinput", None)
    return None if worker is None else int(worker["workerid"].removeprefix("gw"))


def _device(text: str, worker: int | None = None) -> str:
    """This process's device. With one GPU to use, the device as given ("cuda" stays "cuda"); with several, xdist
    worker k takes the (k mod n)-th of them, and a process outside xdist the first."""
    if not re.fullmatch(r"auto|cpu|cuda(:\d+(,\d+)*)?", text):
        raise pytest.UsageError(f"--device {text!r}: use auto, cpu, cuda, cuda:INDEX or cuda:INDEX,INDEX,...")
    if text == "cpu" or (text == "auto" and not _cuda_possible()):
        return "cpu"
    available = cuda_devices()
    if text == "auto" and not available:
        return "cpu"
    listed = text.partition(":")[2]
    indices = [int(i) for i in listed.split(",")] if listed else list(range(available))
    if not indices or any(i >= available for i in indices):
        raise pytest.UsageError(f"--device {text}: this machine has {available} CUDA device(s); "
                                f"use --device cpu or present indices")  # fmt: skip
    if len(indices) == 1:
        return "cuda" if text in ("auto", "cuda") else f"cuda:{indices[0]}"
    return f"cuda:{indices[(worker or 0) % len(indices)]}"
