"""The types every generator shares: a `Sample` (one labelled image), a `Source` of samples, a `Shift` applied
to their images, and the `SampleError` of an image that cannot be drawn or read.

A source's images depend on (global seed, its name, sample index) alone, and a shift's randomness on (global seed,
the shift, index), so that any worker renders the same image for the same sample, in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol

import numpy as np


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # H x W x 3, uint8, RGB
    label: str
    sample_id: str


class Source(Protocol):
    name: str
    labels: list[str]

    def sample(self, seed: int, index: int) -> Sample: ...


class Shift(Protocol):
    def __call__(self, image: np.ndarray, seed: int, index: int | str) -> np.ndarray: ...


def check_domain(kind: str, domain: str, known: Iterable[str], size: int, smallest: int = 16) -> None:
    """The ValueError a source raises for a domain it does not draw, or a size too small to draw it at."""
    known = list(known)
    if domain not in known:
        raise ValueError(f"unknown {kind} domain {domain!r}; known: {', '.join(known)}")
    if size < smallest:
        raise ValueError(f"size must be at least {smallest} pixels, got {size}")


class SampleError(Exception):
    """One image that cannot be drawn or read (a corrupt file in a real dataset). The evaluation counts the
    sample as a wrong answer and reports `reason`; it is never dropped from the denominator.

    Args:
        sample_id: the sample's id.
        label: the sample's true label.
        reason: one line that names the file and what went wrong.
    """

    def __init__(self, sample_id: str, label: str, reason: str) -> None:
        super().__init__(sample_id, label, reason)  # all in args, so that the error survives pickling
        self.sample_id = sample_id
        self.label = label
        self.reason = reason

    def __str__(self) -> str:
        return f"sample {self.sample_id}: {self.reason}"
