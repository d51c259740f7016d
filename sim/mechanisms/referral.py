"""Mechanism 2, referral spread: promoters make their neighbours aware.

Fixed semantics (model.md): a customer who became active with a provider is a
promoter for a window of ``W`` steps.  Each step each promoter gives each
neighbour who is not yet a customer of that provider an independent chance
``r``; a customer with ``m`` promoter neighbours for an offer is reached with
probability ``1 - (1 - r)^m``.  Employee self-media (SF3) uses the same kernel
with employees as permanent sharers.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sim.mechanisms.touches import Touches


def promoter_mask(since: np.ndarray, step: int, window: np.ndarray) -> np.ndarray:
    """Bool (n, K): the relationship began within the last ``window`` steps (before ``step``).

    ``since`` is the step each relationship began (0 for relationships held
    before the run, -1 for none) and ``window`` the promoter window of the
    relationship's provider, per entry.  Relationships held before the run
    are not promoters: only new customers are.
    """
    age = step - since
    return (since >= 1) & (age >= 1) & (age <= window)


def neighbour_counts(adjacency: sp.csr_array, sources: np.ndarray) -> np.ndarray:
    """For every customer, how many of its neighbours are in ``sources`` (with repeats)."""
    n = adjacency.shape[0]
    if sources.size == 0:
        return np.zeros(n, dtype=np.int64)
    indptr, indices = adjacency.indptr, adjacency.indices
    starts, ends = indptr[sources], indptr[sources + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(n, dtype=np.int64)
    # Gather all neighbour lists of the sources without a Python loop.
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    neighbours = indices[np.arange(total) + offsets]
    return np.bincount(neighbours, minlength=n)


def spread(adjacency: sp.csr_array, sources: np.ndarray, offer: int, channel: int, rate: float,
           eligible: np.ndarray, rng: np.random.Generator) -> tuple[Touches, np.ndarray]:
    """Touches by sharers of one offer to their eligible neighbours.

    Parameters
    ----------
    adjacency : CSR adjacency of the social network.
    sources : int array
        Promoters (or employees) sharing the offer this step.
    offer, channel : int
        Recorded on the touches (``referral`` or ``employee``).
    rate : float
        ``r``, the per-neighbour chance of each sharer.
    eligible : bool array (n,)
        Customers who may be touched (not yet customers of the provider).
    rng : numpy.random.Generator

    Returns
    -------
    touches : Touches
    exposures : int array
        ``m`` (number of sharing neighbours) of each touched customer.
    """
    if rate <= 0.0 or sources.size == 0:
        return Touches.empty(), np.zeros(0, dtype=np.int64)
    counts = neighbour_counts(adjacency, sources)
    candidates = np.flatnonzero((counts > 0) & eligible)
    m = counts[candidates]
    reach_probability = 1.0 - (1.0 - rate) ** m
    reached = rng.random(candidates.size) < reach_probability
    return Touches.of(candidates[reached], offer, channel), m[reached]
