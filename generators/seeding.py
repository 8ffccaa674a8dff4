"""Seeds derived from names, so that every generated image depends on (global seed, scenario, index) alone.

A hash rather than `seed + index` arithmetic: neighbouring scenarios must not share streams, and the result must
not depend on which xdist worker asks, or in which order.
"""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(*parts: object) -> int:
    """A 32-bit seed from any sequence of names and numbers (stable across processes and Python versions)."""
    key = "\x1f".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "little")


def rng_for(*parts: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(*parts))
