"""What a benchmark cell is: a source of labelled images, an optional shift applied to them, and the cell that
the shifted accuracy is compared with.

A cell's images depend on (global seed, source name, sample index) and the shift's own seed on (global seed,
shift, severity, index): a cell renders the same images on any worker, in any order, and every cell over one
source sees the same base images, so cells over one source are paired sample by sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from generators.sample import Sample, Shift, Source


@dataclass(frozen=True, eq=False)
class Context:
    """The in-context examples shown before each query of a cell (see `ood_fixtures.catalog.icl`).

    Args:
        pool: the cell whose images the examples are drawn from (the source or the target domain), at sample
            indices no query uses.
        shots: examples per query.
        selection: "balanced" (class counts differ by at most one) or "skewed" (all but one from one class).
        spurious: whether each example carries a border in its class's colour (a feature that predicts the
            label in the examples); the query's border colour is drawn independently of its label.
    """

    pool: Cell
    shots: int
    selection: str = "balanced"
    spurious: bool = False


@dataclass(frozen=True, eq=False)
class Cell:
    """One (scenario, shift, severity) cell: one test, one accuracy gate.

    `severity` is 0 for a clean or source cell and None for shifts without levels; for an in-context cell it is
    the number of examples per query, and `context` says how they are drawn.
    """

    family: str
    scenario: str
    shift: str
    severity: int | None
    source: Source
    transform: Shift | None = None
    reference: Cell | None = None
    context: Context | None = None

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


def domain_shift(
    family: str, scenario: str, source: str, targets: tuple[str, ...], make: Callable[[str], Source]
) -> list[Cell]:
    """The cells of a domain shift: the source domain's cell first, then one per target domain, each with the
    source cell as its reference. `make(domain)` builds a domain's image source."""
    reference = Cell(family, scenario, source, None, make(source))
    return [reference] + [Cell(family, scenario, target, None, make(target), reference=reference) for target in targets]
