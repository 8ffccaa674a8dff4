"""Procedural image generators: every family of the suite's labelled images, by kind, domain and namespace.

A kind is a module of this package named after it that builds sources the same way: `domain(name, size,
namespace)`, with `NAMESPACE`, `SOURCE_DOMAIN`, `TARGET_DOMAINS` and `DOMAINS` beside it. Adding a kind is adding
its module; `source(kind, domain)` finds it by name. Modules are imported on first use, so that `import
generators` stays cheap (several pull in OpenCV, RDKit or fonts).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generators.sample import Source


def source(kind: str, domain: str, size: int = 64, namespace: str | None = None) -> Source:
    """The source of one domain of one kind, its images seeded by `namespace` (by default the kind's own, which
    every kind's module uses by default: equal to `kind`)."""
    module = _module(kind)
    if module is None:
        raise ValueError(f"unknown generator kind {kind!r}; known kinds: {', '.join(kinds())}")
    return module.domain(domain, size, namespace or kind)


def kinds() -> dict[str, ModuleType]:
    """Every kind, by name: the modules of this package that build sources (imports them all)."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = _module(info.name)
        if module is not None:
            found[info.name] = module
    return found


def _module(kind: str) -> ModuleType | None:
    if not kind.isidentifier() or not importlib.util.find_spec(f"{__name__}.{kind}"):
        return None
    module = importlib.import_module(f"{__name__}.{kind}")
    return module if callable(getattr(module, "domain", None)) and hasattr(module, "NAMESPACE") else None
