"""What a benchmark cell is: a source of labelled images, an optional shift applied to them, and the cell that
the shifted accuracy is compared with.

A cell's images depend on (global seed, source name, sample index) and the shift's own seed on (global seed,
shift, severity, index): a cell renders the same images on any worker, in any order, and every cell over one
source sees the same base images, so cells over one source are paired sample by sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from generators.shapes import Sample


class Source(Protocol):
    name: str
    labels: list[str]

    def sample(self, seed: int, index: int) -> Sample: ...


class Shift(Protocol):
    def __call__(self, image: np.ndarray, seed: int, index: int | str) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class Cell:
    """One (scenario, shift, severity) cell: one test, one accuracy gate.

    `severity` is 0 for a clean or source cell and None for shifts without levels.
    """

    family: str
    scenario: str
    shift: str
    severity: int | None
    source: Source
    transform: Shift | None = None
    reference: Cell | None = None

    @property
    def id(self) -> str:
        parts = [self.family, self.scenario, self.shift]
        return "/".join(parts + ([str(self.severity)] if self.severity is not None else []))

    @property
    def labels(self) -> list[str]:
        return self.source.labels

    def render(self, seed: int, index: int) -> Sample:
        sample = self.source.sample(seed, index)
        if self.transform is None:
            return sample
        return Sample(self.transform(sample.image, seed, index), sample.label, sample.sample_id)
