#!/usr/bin/env bash
# Creates the virtual environment the suite runs in: torch first (the CPU build, unless one is installed),
# then the suite itself, editable. Idempotent; `make` calls it when pyproject.toml changes.
set -euo pipefail
venv=${1:-.venv}
python=${PYTHON:-python3}
torch_version=${TORCH_VERSION:-2.13.0}

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# A bare `torch` requirement would pull a multi-GB CUDA build where no torch is installed; pin the build first.
"$venv/bin/python" -c "import torch" 2>/dev/null || "$venv/bin/python" -m pip install --quiet "torch==$torch_version"
"$venv/bin/python" -m pip install --quiet -e .
