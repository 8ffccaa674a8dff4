"""hypothesis strategies for the property tests, built from booleans only.

hypothesis now and then replaces an integer or float draw with a constant it finds in the loaded modules of the
project (hypothesis.internal.conjecture.providers, "local constants"). Which modules are loaded differs between
xdist workers, and between a run that loads the model and a cached one that does not, so integer and float draws
would make the drawn examples depend on the worker. Booleans are never replaced: numbers made from them are the
same in every process, and they still shrink the right way (all False is the smallest example).
"""

from __future__ import annotations

from hypothesis import strategies as st


def _number(flags: list[bool]) -> int:
    return sum(int(flag) << k for k, flag in enumerate(reversed(flags)))  # the first flag is the high bit


def fractions(bits: int = 10) -> st.SearchStrategy[float]:
    """A number in [0, 1) on a grid of 2**bits steps; 0 is the shrunk end."""
    return st.lists(st.booleans(), min_size=bits, max_size=bits).map(lambda flags: _number(flags) / 2**bits)


def strengths(limit: float, signed: bool, bits: int = 10) -> st.SearchStrategy[float]:
    """A strength in [-limit, limit] (or [0, limit]), shrinking towards 0, rounded to 4 decimals for reports."""
    magnitude = fractions(bits).map(lambda f: f * limit)
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
