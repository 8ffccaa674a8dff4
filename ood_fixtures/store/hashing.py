"""What cache keys are made of: the contents of source files, the versions of installed libraries, and the
identity of a model before it is loaded. Key changes are what keep a cache honest: anything an answer or an image
depends on must be in its key."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Iterable, Sequence

from ood_fixtures import adapters
from ood_fixtures.adapters import Settings

PACKAGE = Path(__file__).resolve().parents[1]  # ood_fixtures/


def source_digest(paths: Sequence[str | Path]) -> str:
    """sha256 of source files' contents: a key that includes it changes whenever that code is edited."""
    digest = hashlib.sha256()
    for path in sorted({str(p) for p in paths}):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def package_files(*folders: Path) -> list[Path]:
    """Every Python file under the folders, subpackages included: a package boundary, not a hand-kept list, so a
    module added to one is in the key from the start."""
    return [path for folder in folders for path in sorted(folder.rglob("*.py"))]


def library_versions(*distributions: str) -> dict[str, str]:
    """The installed version of each distribution that is installed (read from metadata: nothing is imported)."""
    found = {}
    for name in distributions:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


# Every adapter's answers pass through these: the registry, the model interface, the checkpoint loader, the
# prompts and the answer parser (the family's own module is added per model).
SHARED_ADAPTER_CODE = ("__init__.py", "base.py", "hub.py", "parsing.py", "prompts.py")


def identity(spec: str, settings: Settings) -> str | None:
    """Everything a model's answers depend on that is known before loading it, or None if they cannot be cached:
    its fingerprint, the settings that change answers (not the batch size), and the code and libraries that
    turn its outputs into predictions. Two runs with one identity give the same answer to the same question.
    """
    factory, argument = adapters.resolve(spec)
    model = factory.fingerprint(argument, settings)
    if model is None:
        return None
    code = [sys.modules[type(factory).__module__].__file__, *_adapter_code(SHARED_ADAPTER_CODE)]
    return json.dumps({
        "spec": spec, "model": model, "device": settings.device_kind, "model_args": settings.model_args,
        "trust_remote_code": settings.trust_remote_code, "answer_mode": settings.answer_mode,
        "code": source_digest(code), "libraries": library_versions("torch", "transformers", "tokenizers"),
    }, sort_keys=True)  # fmt: skip


def _adapter_code(names: Iterable[str]) -> list[Path]:
    return [PACKAGE / "adapters" / name for name in names]
