"""The families of shifts: each a pytest marker (`-m medical`) and the first part of its cells' ids; one marker
more per ImageNet-C group, from the severity table itself. Light on purpose (no generator is imported): every
process registers the markers at start-up, `pytest --help` too."""

from __future__ import annotations

from dataclasses import dataclass

from generators.corruptions import CORRUPTIONS, GROUPS

@dataclass(frozen=True)
class Family:
    """A family of shifts: a pytest marker (`-m medical`) and the first part of its cells' ids."""

    name: str
    description: str


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("corruption", "ImageNet-C corruption cells"),
    Family("synthetic", "coloured digits (spurious colour), rotated digits, compositional pattern+shape classes"),
    Family("natural", "objects in other styles: sketch, cartoon, painting, quickdraw"),
    Family("medical", "histology under other hospitals' stains, chest x-rays from other scanners"),
    Family("molecular", "molecule drawings under scaffold, size and drawing-style shifts"),
    Family("real", "the study's real datasets, from --data-root"),
    Family("dataset", "your own datasets (--dataset CARD): each domain against the card's source domain"),
    Family("properties", "property-based checks: invariance, option order, severity curves"),
    Family("icl", "in-context examples under shift: target vs source examples, skewed labels, a spurious feature"),
    Family("diagnosis", "why accuracy drops: linear probe on the model's features, mapping gap, descriptive labels"),
)}  # fmt: skip

# One marker per family, and one per ImageNet-C group from the severity table itself (a new group needs no edit).
MARKERS: dict[str, str] = {name: family.description for name, family in FAMILIES.items()} | {
    group: f"ImageNet-C {group} corruptions ({', '.join(n for n, c in CORRUPTIONS.items() if c.group == group)})"
    for group in GROUPS
}

