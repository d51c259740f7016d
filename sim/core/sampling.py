"""Vectorised random draws shared by the mechanisms."""

from __future__ import annotations

import math

import numpy as np

_GEOMETRIC_BELOW = 0.1


def bernoulli_subset(candidates: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """The candidates that succeed in independent Bernoulli(``p``) trials, one each."""
    return candidates[bernoulli_positions(candidates.size, p, rng)]


def bernoulli_positions(n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Positions ``0 <= j < n`` that succeed in ``n`` independent Bernoulli(``p``) trials.

    For small ``p`` the successes are found by geometric gaps (the positions of
    successes in an i.i.d. Bernoulli sequence are cumulative sums of
    Geometric(p) gaps), which costs O(n p) instead of O(n) random numbers.
    """
    if n == 0 or p <= 0.0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(n)
    if p >= _GEOMETRIC_BELOW:
        return (rng.random(n) < p).nonzero()[0]
    expected = n * p
    # math.sqrt and np.sqrt both round the square root correctly (IEEE 754): the same number, no numpy scalar.
    draws = int(expected + 6.0 * math.sqrt(expected) + 16)
    # A gap longer than n ends the search whatever its length: clipping gaps at n + 1 changes no position
    # below n, and keeps the cumulative sum from overflowing int64 when p is tiny (a spend of 1e-17 yuan).
    positions = _gaps(rng, p, draws, n)
    positions -= 1
    while positions[-1] < n:
        more = _gaps(rng, p, draws, n)
        more += positions[-1]
        positions = np.concatenate([positions, more])
    return positions[:np.searchsorted(positions, n)]        # increasing (gaps >= 1): those below n lead


def _gaps(rng: np.random.Generator, p: float, draws: int, n: int) -> np.ndarray:
    """Cumulative sums of ``draws`` Geometric(``p``) gaps, each clipped at ``n + 1``, in one array.

    The gaps are ``rng.geometric(p, size=draws)``'s, drawn by its own
    inversion with the logarithm taken once: for ``p < 1/3`` NumPy draws
    ``ceil(E / -log1p(-p))`` from one standard exponential ``E`` each, the
    draws ``rng.standard_exponential`` makes, in the same order. The numbers
    are the same and cost about half.
    """
    gaps = rng.standard_exponential(draws)
    gaps /= -math.log1p(-p)
    np.ceil(gaps, out=gaps)
    np.minimum(gaps, n + 1, out=gaps)
    gaps = gaps.astype(np.int64)
    return np.cumsum(gaps, out=gaps)


def gumbel(shape, rng: np.random.Generator) -> np.ndarray:
    """Standard Gumbel draws (the error term of a multinomial logit)."""
    draws = rng.random(shape)
    np.log(draws, out=draws)            # -log(-log(u)), computed in place
    np.negative(draws, out=draws)
    np.log(draws, out=draws)
    return np.negative(draws, out=draws)
