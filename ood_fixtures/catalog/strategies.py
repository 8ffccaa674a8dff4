"""hypothesis strategies for the property tests, drawn the same way in every process.

hypothesis now and then replaces an integer or float draw with a constant it finds in the loaded modules of the
project (hypothesis.internal.conjecture.providers, "local constants"). Which modules are loaded differs between
xdist workers, and between a run that loads the model and a cached one that does not, so plain integer and float
draws would make the drawn examples depend on the worker. Two ways around it:
- magnitudes are integers drawn from a range far from any constant a module holds (OFFSET and up), so that no
  constant can stand in, and which shrink like integers (towards the range's start: strength 0);
- permutations are built from booleans, which are never replaced (all False is the identity).
"""

from __future__ import annotations

from hypothesis import strategies as st


OFFSET = 7_919_000_000_000  # no module writes a constant in [OFFSET, OFFSET + steps]


def _number(flags: list[bool]) -> int:
    return sum(int(flag) << k for k, flag in enumerate(reversed(flags)))  # the first flag is the high bit


def fractions(steps: int = 1000) -> st.SearchStrategy[float]:
    """A number in [0, 1] on a grid of `steps`; 0 is the shrunk end."""
    return st.integers(OFFSET, OFFSET + steps).map(lambda n: (n - OFFSET) / steps)


def strengths(limit: float, signed: bool, steps: int = 1000) -> st.SearchStrategy[float]:
    """A strength in [-limit, limit] (or [0, limit]), shrinking towards 0, rounded to 4 decimals for reports."""
    magnitude = fractions(steps).map(lambda f: f * limit)
    if not signed:
        return magnitude.map(lambda s: round(s, 4))
    return st.tuples(st.booleans(), magnitude).map(lambda pair: round(-pair[1] if pair[0] else pair[1], 4))


def permutations(n: int) -> st.SearchStrategy[list[int]]:
    """A permutation of range(n) by Fisher-Yates; all flags False is the identity, where shrinking ends."""
    bits = max(1, (n - 1).bit_length())

    def shuffle(flags: list[bool]) -> list[int]:
        order = list(range(n))
        for i in range(n - 1, 0, -1):
            j = i - _number(flags[i * bits : (i + 1) * bits]) % (i + 1)
            order[i], order[j] = order[j], order[i]
        return order

    return st.lists(st.booleans(), min_size=n * bits, max_size=n * bits).map(shuffle)
