"""Modules imported on first attribute access.

albumentations imports torch, which costs about two seconds per process. A pytest worker whose cells all come
from the result cache never builds a transform, so it should not pay that; the severity table still names its
transforms at import time, which a lazy module allows (the standard library's `importlib.util.LazyLoader`).
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """`name`, executed only when one of its attributes is first read (at once if it is already imported)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
