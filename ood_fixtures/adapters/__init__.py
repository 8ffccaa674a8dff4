"""The adapter registry: a `--model` spec names an adapter by prefix (`clip:PATH`, `python:module:attr`) or by a
registered name (`reference`).

Adding a model family is adding one module to `ood_fixtures/adapters/families/` that calls `register` (and
`alias` for a shipped checkpoint): the registry imports every module of that package on first use. A package of
its own registers through the entry point group `ood_fixtures.adapters`: the entry's name is the spec prefix, its
object a factory (or a class whose no-argument instance is one), e.g. in the third party's pyproject.toml
`[project.entry-points."ood_fixtures.adapters"] mymodel = "mypackage.adapter:MyFactory"`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from typing import Protocol

from ood_fixtures.adapters.base import CAPABILITIES, Adapter, Episode, Prediction, Settings, SpecError, Unsupported

ENTRY_POINTS = "ood_fixtures.adapters"


class Factory(Protocol):
    def check(self, argument: str, settings: Settings) -> None:
        """Raise SpecError if the argument cannot name a usable model; cheap, loads no weights."""

    def create(self, argument: str, settings: Settings) -> Adapter:
        """Load the model."""

    def fingerprint(self, argument: str, settings: Settings) -> str | None:
        """The model's identity without loading it (a weights hash, an endpoint); None: answers cannot be cached
        (a Python callable can change without its name changing)."""

    # Optional: native_size(argument, settings) -> int | None, the image side the model takes (see `native_size`).


_FACTORIES: dict[str, Factory] = {}
_ALIASES: dict[str, str] = {}
_discovered = False


def register(prefix: str, factory: Factory) -> None:
    _FACTORIES[prefix] = factory


def alias(name: str, spec: str) -> None:
    """A bare name (`reference`) standing for a full spec."""
    _ALIASES[name] = spec


def known() -> list[str]:
    _discover()
    return sorted(_ALIASES) + [f"{prefix}:..." for prefix in sorted(_FACTORIES)]


def resolve(spec: str) -> tuple[Factory, str]:
    """The factory and its argument for a spec; SpecError for anything else."""
    _discover()
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


DEFAULT_SIZE = 224  # ImageNet-C's own size, for a model that states none (an endpoint, a callable)


def native_size(spec: str, settings: Settings | None = None) -> tuple[int, str]:
    """The image side `--image-size native` renders at, and where it came from: the model's own input size as
    its factory reads it without loading weights (a checkpoint's processor config), else DEFAULT_SIZE."""
    factory, argument = resolve(spec)
    read = getattr(factory, "native_size", None)
    size = read(argument, settings or Settings()) if read is not None else None
    return (size, "model") if size else (DEFAULT_SIZE, "default")


def create(spec: str, settings: Settings) -> Adapter:
    factory, argument = resolve(spec)
    adapter = factory.create(argument, settings)
    adapter.spec = spec
    return adapter


def _discover() -> None:
    """Import every built-in family module, then load the installed entry points; once per process. On first use,
    not at import: the families' modules are cheap (torch loads in `create`), but `pytest --help` needs none."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    from ood_fixtures.adapters import families

    for module in pkgutil.iter_modules(families.__path__, families.__name__ + "."):
        importlib.import_module(module.name)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINTS):
        try:
            loaded = entry.load()
        except Exception as error:  # a broken third-party package must not hide the built-in families
            raise SpecError(f"the adapter entry point {entry.name!r} ({entry.value}) does not load: "
                            f"{type(error).__name__}: {error}; reinstall or uninstall its package") from None
        register(entry.name, loaded() if isinstance(loaded, type) else loaded)


__all__ = ["CAPABILITIES", "Adapter", "Episode", "Prediction", "Settings", "SpecError", "Unsupported", "Factory",
           "register", "alias", "resolve", "check", "create", "known", "native_size", "DEFAULT_SIZE"]
