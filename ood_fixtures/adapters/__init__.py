"""The adapter registry: a `--model` spec names an adapter by prefix (`clip:PATH`, `python:module:attr`) or by a
registered name (`reference`). Adding a model family is adding one module that calls `register`.
"""

from __future__ import annotations

import json
import sys
from typing import Protocol

from ood_fixtures.adapters.base import Adapter, Episode, Prediction, Settings, SpecError, Unsupported


class Factory(Protocol):
    def check(self, argument: str, settings: Settings) -> None:
        """Raise SpecError if the argument cannot name a usable model; cheap, loads no weights."""

    def create(self, argument: str, settings: Settings) -> Adapter:
        """Load the model."""

    def fingerprint(self, argument: str, settings: Settings) -> str | None:
        """The model's identity without loading it (a weights hash, an endpoint); None: answers cannot be cached
        (a Python callable can change without its name changing)."""


_FACTORIES: dict[str, Factory] = {}
_ALIASES: dict[str, str] = {}


def register(prefix: str, factory: Factory) -> None:
    _FACTORIES[prefix] = factory


def alias(name: str, spec: str) -> None:
    """A bare name (`reference`) standing for a full spec."""
    _ALIASES[name] = spec


def known() -> list[str]:
    return sorted(_ALIASES) + [f"{prefix}:..." for prefix in sorted(_FACTORIES)]


def resolve(spec: str) -> tuple[Factory, str]:
    """The factory and its argument for a spec; SpecError for anything else."""
    _load_builtin_adapters()
    full = _ALIASES.get(spec, spec)
    prefix, sep, argument = full.partition(":")
    if not sep or prefix not in _FACTORIES:
        raise SpecError(f"unknown --model {spec!r}: use one of {', '.join(known())}")
    if not argument:
        raise SpecError(f"--model {spec!r} names no model after '{prefix}:'")
    return _FACTORIES[prefix], argument


def check(spec: str, settings: Settings | None = None) -> None:
    factory, argument = resolve(spec)
    factory.check(argument, settings or Settings())


def create(spec: str, settings: Settings) -> Adapter:
    factory, argument = resolve(spec)
    adapter = factory.create(argument, settings)
    adapter.spec = spec
    return adapter


def identity(spec: str, settings: Settings) -> str | None:
    """Everything a model's answers depend on that is known before loading it, or None if they cannot be cached:
    its fingerprint, the settings that change answers (not the batch size), and the code and libraries that
    turn its outputs into predictions. Two runs with one identity give the same answer to the same question.
    """
    from ood_fixtures.cache import library_versions, source_digest

    factory, argument = resolve(spec)
    model = factory.fingerprint(argument, settings)
    if model is None:
        return None
    code = [sys.modules[type(factory).__module__].__file__, *_shared_code()]
    return json.dumps({
        "spec": spec, "model": model, "device": settings.device, "model_args": settings.model_args,
        "trust_remote_code": settings.trust_remote_code, "answer_mode": settings.answer_mode,
        "code": source_digest(code), "libraries": library_versions("torch", "transformers", "tokenizers"),
    }, sort_keys=True)  # fmt: skip


def _shared_code() -> list[str]:
    """The source files every adapter's answers pass through."""
    from ood_fixtures import parsing, prompts
    from ood_fixtures.adapters import base, hub

    return [__file__, *(module.__file__ for module in (base, hub, parsing, prompts))]


def _load_builtin_adapters() -> None:
    # Imported on first use: the clip module imports torch and transformers, which `pytest --help` need not pay.
    from ood_fixtures.adapters import clip, openai, python, vlm  # noqa: F401


__all__ = ["Adapter", "Episode", "Prediction", "Settings", "SpecError", "Unsupported", "register", "alias", "check", "create", "identity", "known"]
