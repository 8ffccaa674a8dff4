#!/usr/bin/env bash
# Creates the virtual environment the suite runs in: torch first (the CPU build, unless one is installed),
# then the suite itself, editable. Idempotent; `make` calls it when pyproject.toml changes.
#
#   scripts/setup.sh [--vlm] [VENV]
#
# --vlm: also what the processors of most vision-language families need in transformers 5 (Qwen-VL, SmolVLM,
# InternVL, LLaVA-OneVision, Pixtral): torchvision and num2words. The registry's torchvision wheels match only
# torch's CUDA build (beside the CPU build they fail at import), so this installs that pair: the CUDA build runs on
# a CPU too, and the environment grows to about 5.6 GB.
set -euo pipefail
extras=""
if [ "${1:-}" = "--vlm" ]; then
    extras="[vlm]"
    shift
fi
venv=${1:-.venv}
python=${PYTHON:-python3}
torch_version=${TORCH_VERSION:-2.13.0}
torchvision_version=${TORCHVISION_VERSION:-0.28.0}

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
if [ -n "$extras" ]; then
    # Both at once, so that pip replaces a CPU build with the CUDA build torchvision is built against.
    "$venv/bin/python" -c "import torchvision" 2>/dev/null ||
        "$venv/bin/python" -m pip install --quiet "torch==$torch_version,!=$torch_version+cpu" \
            "torchvision==$torchvision_version"
else
    # A bare `torch` requirement would pull a multi-GB CUDA build where no torch is installed; pin the build first.
    "$venv/bin/python" -c "import torch" 2>/dev/null || "$venv/bin/python" -m pip install --quiet "torch==$torch_version"
fi
"$venv/bin/python" -m pip install --quiet -e ".$extras"
