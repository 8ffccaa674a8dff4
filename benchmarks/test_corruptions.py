"""ImageNet-C corruptions of the in-distribution shapes: 19 corruptions x 5 severities, and the clean cell.

Every corrupted cell is paired with the clean one (same base images), which is its reference for `retained`.
Select by group with -m (noise, blur, weather, digital, extra) or by name with -k (e.g. -k "fog and 5").
"""

import pytest

from generators.corruptions import CORRUPTIONS, SEVERITIES, Corrupter
from generators.shapes import ShapeGenerator
from ood_fixtures.plugin import assert_gate
from ood_fixtures.scenarios import Cell

IMAGE_SIZE = 64
SHAPES = ShapeGenerator(size=IMAGE_SIZE, name="shapes")

CLEAN = Cell("corruption", "shapes", "clean", 0, SHAPES)

CORRUPTED = [
    pytest.param(
        Cell("corruption", "shapes", name, severity, SHAPES, Corrupter(name, severity, IMAGE_SIZE), reference=CLEAN),
        id=f"{name}-{severity}",
        marks=getattr(pytest.mark, corruption.group),
    )
    for name, corruption in CORRUPTIONS.items()
    for severity in SEVERITIES
]


@pytest.mark.corruption
def test_clean(evaluate):
    assert_gate(evaluate(CLEAN))


@pytest.mark.corruption
@pytest.mark.parametrize("cell", CORRUPTED)
def test_corruption(cell, evaluate):
    assert_gate(evaluate(cell))
