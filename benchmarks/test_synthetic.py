"""Synthetic shifts (Colored MNIST, Rotated MNIST and a compositional split), on generated digits and shapes.

- coloured digits: in the source domain a digit has its own colour 90% of the time (a spurious cue); the
  targets break the link (random colours) or reverse it (always another digit's colour).
- rotated digits: grey digits rotated by 0..180 degrees; the severity is the angle (6 and 9 swap at 180).
- compositional: pattern+shape classes; the source shows 12 combinations, the target the 4 held out of
  training (every pattern and every shape was seen, in other combinations).
Select with -m synthetic.
"""

import pytest

from ood_fixtures.plugin import assert_gate, cells


@pytest.mark.synthetic
@cells(lambda catalog: catalog.domain_shifts["synthetic", "coloured-digits"], ids=lambda cell: cell.shift)
def test_coloured_digits(cell, evaluate):
    assert_gate(evaluate(cell))


@pytest.mark.synthetic
@cells(lambda catalog: catalog.rotated, ids=lambda cell: f"{cell.severity}deg")
def test_rotated_digits(cell, evaluate):
    assert_gate(evaluate(cell))


@pytest.mark.synthetic
@cells(lambda catalog: catalog.domain_shifts["synthetic", "compositional"], ids=lambda cell: cell.shift)
def test_compositional(cell, evaluate):
    assert_gate(evaluate(cell))
