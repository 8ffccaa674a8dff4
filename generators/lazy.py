"""Modules imported on first attribute access.

albumentations imports torch, which costs about two seconds per process. A pytest worker whose cells all come
from the cache never builds a transform, so it should not pay that; the severity table still names its
transforms at import time, which a deferred module allows.

Not importlib's LazyLoader: that puts a half-loaded module into sys.modules, and tools that scan sys.modules
(hypothesis's pytest plugin reads every module's attributes at collection) would trigger the import anyway.
"""

from __future__ import annotations

import importlib
from typing import Any


class Deferred:
    """Stands for the module `name`, importing it when an attribute is first read."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<deferred module {self._name!r}>"
