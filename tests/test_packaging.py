"""The package as a model team installs it (#17): the wheel in a fresh virtual environment, `ood-fixtures run` from
an empty folder, a test file of their own written against `ood_fixtures.api` (docs/example), and the plugin, which
the package's entry point loads into every pytest session, inert in a project that does not use it."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "example"
WHEEL_LIMIT_MB = 20
TORCH = "torch==2.13.0"  # the README's first install step: the CPU build (a bare torch pulls the CUDA one)

# What the plugin must leave alone in a session that does not use it, checked from inside that session.
UNTOUCHED = """
import os, sys
import pytest

def test_plugin_inert(pytestconfig):
    from hypothesis import settings
    with open(os.environ["HYPOTHESIS_SEEN"], "w") as seen:  # compared with a session without the plugin
        seen.write(repr(settings.default))
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "generators", "numpy", "transformers")
                   or m.startswith(("ood_fixtures.plugin.build", "ood_fixtures.catalog", "ood_fixtures.adapters")))
    assert not heavy, heavy
    assert pytestconfig.pluginmanager.has_plugin("ood_fixtures.plugin")  # loaded, and inert
    assert "OMP_NUM_THREADS" not in os.environ
    assert not pytestconfig.option.xmlpath
"""


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_is_listed():
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for top in ("ood_fixtures", "generators")
             for p in (ROOT / top).rglob("__init__.py")}  # fmt: skip
    assert found | {"ood_fixtures.benchmarks"} <= listed, f"add to pyproject.toml's packages: {found - listed}"


def test_run_settings_match_the_clones():
    """`ood-fixtures run` reads benchmarks/ood-fixtures.ini; `pytest benchmarks` in the clone reads pyproject.toml."""
    ini = configparser.ConfigParser()
    ini.read(ROOT / "benchmarks" / "ood-fixtures.ini")
    clone = pyproject()["tool"]["pytest"]["ini_options"]
    assert ini["pytest"]["addopts"] == clone["addopts"]
    assert ini["pytest"]["junit_family"] == clone["junit_family"]
    assert ini["pytest"]["filterwarnings"].split() == " ".join(clone["filterwarnings"]).split()


@pytest.mark.parametrize("name", ["test_robustness.py", "ood-gate.yml"])
def test_readme_shows_the_example_files(name):
    assert (EXAMPLE / name).read_text().strip() in (ROOT / "README.md").read_text()


def test_workflow_installs_the_package_not_a_clone():
    import yaml

    steps = yaml.safe_load((EXAMPLE / "ood-gate.yml").read_text())["jobs"]["ood-gate"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    assert "pip install ood-fixtures" in commands and "ood-fixtures run" in commands
    assert "ood-fixtures compare" in commands and "gh pr comment" in commands and "gh release upload" in commands
    assert "make " not in commands and "git clone" not in commands
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_unrelated_project_is_untouched(tmp_path, workers):
    """Hypothesis's settings are compared with the same session without the plugin, not with its documented
    defaults: hypothesis loads its own `ci` profile (derandomize=True) where a CI variable is set."""
    (tmp_path / "test_unrelated.py").write_text(UNTOUCHED)
    seen = {}
    for plugin in ("with", "without"):
        off = ["-p", "no:ood_fixtures.plugin"] if plugin == "without" else []
        env = {**_clean_env(), "HYPOTHESIS_SEEN": str(tmp_path / f"hypothesis-{plugin}.txt")}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *off, *workers]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env)
        if plugin == "with":
            assert done.returncode == 0, done.stdout + done.stderr
            assert not (tmp_path / "reports").exists() and "OOD" not in done.stdout
        seen[plugin] = Path(env["HYPOTHESIS_SEEN"]).read_text()
    assert seen["with"] == seen["without"], "the plugin changed hypothesis's settings in a session that does not use it"


def test_example_passes_on_the_reference_and_fails_on_a_fragile_model(tmp_path):
    project = _example_project(tmp_path)
    _example_verdicts(project, [sys.executable, "-m", "pytest"])


def test_wheel_in_a_fresh_environment(tmp_path):
    """The done-when of #17, as a user meets it: build the wheel, install it (after torch, as the README says)
    into a new virtual environment, and from an empty folder run the standard benchmarks and the example."""
    wheel = _build_wheel(tmp_path / "dist")
    size_mb = wheel.stat().st_size / 2**20
    assert size_mb < WHEEL_LIMIT_MB, f"the wheel is {size_mb:.1f} MB"
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    for requirement in (TORCH, str(wheel)):
        _ok([python, "-m", "pip", "install", "--quiet", requirement], timeout=1800)

    empty = tmp_path / "empty"
    empty.mkdir()
    done = _ok([env_dir / "bin" / "ood-fixtures", "run", "-n", "2", "-k", "clean or gaussian_noise", "-q"], cwd=empty)
    reports = sorted(p.name for p in (empty / "reports").iterdir() if p.is_file())
    assert reports == ["junit.xml", "report.html", "results.json"], done
    assert re.search(r"\b\d+ passed\b", done) and " failed" not in done
    results = (empty / "reports" / "results.json").read_text()
    assert '"suite_version": "' in results and "corruption/shapes/gaussian_noise/3" in results
    assert not (empty / "benchmarks").exists()  # nothing of the clone needed

    _example_verdicts(_example_project(tmp_path), [python, "-m", "pytest"])


# ------------------------------------------------------------------------------------------------ helpers


def _clean_env() -> dict[str, str]:
    """The environment without what this test session set: the thread shares and the clone on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "PYTHONPATH")}
    return env


def _ok(command: list, cwd: Path | None = None, timeout: int = 1200) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=_clean_env())  # fmt: skip
    shown = " ".join(map(str, command))
    assert done.returncode == 0, f"{shown} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _build_wheel(out: Path) -> Path:
    # a copy of the sources, so that the build's own folders (build/, *.egg-info) never land in the checkout
    source = out.parent / "source"
    shutil.copytree(ROOT, source, ignore=_not_sources)
    _ok([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", out, source])
    (wheel,) = out.glob("ood_fixtures-*.whl")
    return wheel


def _not_sources(folder: str, names: list[str]) -> set[str]:
    """What the wheel's build needs no copy of: the clone's environments and outputs, and bytecode anywhere."""
    top = {".git", "reports", ".pytest_cache", ".hypothesis"} if Path(folder) == ROOT else set()
    return {n for n in names if n in top or n == "__pycache__" or (Path(folder) == ROOT and n.startswith(".venv"))
            or n.startswith(".bench-venv")}  # fmt: skip


def _example_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("test_robustness.py", "fragile.py"):
        shutil.copy(EXAMPLE / name, project / name)
    return project


def _example_verdicts(project: Path, pytest_command: list) -> None:
    """The example file passes on the shipped reference model and fails on the fragile one, where it should."""
    base = [*pytest_command, "-q", "-p", "no:cacheprovider", "test_robustness.py"]
    passed = _ok(base, cwd=project)
    assert "3 passed" in passed and (project / "reports" / "results.json").exists(), passed
    done = subprocess.run([str(c) for c in [*base, "--model", "python:fragile:answer"]], cwd=project,
                          capture_output=True, text=True, timeout=600, env=_clean_env())  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    for failing in ("test_vignette", "test_jpeg_keeps_answers"):
        assert f"FAILED test_robustness.py::{failing}" in out, out
    assert "1 passed" in out  # the clean cell: the fragile model reads unchanged images right
