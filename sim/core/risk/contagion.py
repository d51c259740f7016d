"""Mechanism 5, default and contagion: who defaults this step, and why.

Each step a performing loan defaults with probability::

    p = min(1, h · m_t · s · (1 + beta · f) · g)

- ``h`` the borrower's latent hazard, ``m_t`` the macro multiplier of step t;
- ``s`` social collateral: ``credit.social_collateral`` for loans inside a
  sanctioning community (SF1), else 1;
- ``f`` the share of the borrower's neighbours in default, ``beta``
  ``credit.peer_effect`` (peer effect);
- ``g`` the strategic-default multiplier of borrowers whose P2P platform has
  failed (SF13), else 1.

A default is attributed to contagion when it would not have happened without
the peer and platform terms: one uniform ``u`` is drawn per loan, the loan
defaults when ``u < p`` and the default is contagion when
``u >= min(1, h · m_t · s)``.

Threshold (strategic default) mode: a borrower defaults once the share of
its neighbours in default reaches its threshold ``phi``.  Iterated to a fixed
point from seeded defaults, this is the cascade model of Watts (2002), "A
simple model of global cascades on random networks", PNAS 99(9) 5766–5771.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy import stats


def neighbour_list(adjacency: sp.csr_array, sources: np.ndarray) -> np.ndarray:
    """The concatenated neighbour lists of ``sources`` (with repeats), without a Python loop."""
    indptr, indices = adjacency.indptr, adjacency.indices
    starts = indptr[sources]
    lengths = indptr[sources + 1] - starts
    total = int(lengths.sum())
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return indices[np.arange(total) + offsets]


def defaulted_neighbours(adjacency: sp.csr_array, defaulted: np.ndarray) -> np.ndarray:
    """Number of each customer's neighbours in default.

    Gathers the neighbour lists of the defaulted customers only, so the cost
    is proportional to their edges (all edges once everyone has defaulted).
    """
    n = adjacency.shape[0]
    sources = np.flatnonzero(defaulted)
    if sources.size == 0:
        return np.zeros(n, dtype=np.int64)
    if sources.size > n // 4:
        return np.asarray(adjacency @ defaulted.astype(adjacency.dtype)).astype(np.int64)
    return np.bincount(neighbour_list(adjacency, sources), minlength=n)


def defaulted_share(adjacency: sp.csr_array, defaulted: np.ndarray) -> np.ndarray:
    """``f``: share of each customer's neighbours in default (0 for isolated customers)."""
    degree = np.diff(adjacency.indptr)
    counts = defaulted_neighbours(adjacency, defaulted)
    return np.divide(counts, degree, out=np.zeros(degree.size, dtype=np.float64), where=degree > 0)


def default_probability(hazard: np.ndarray, macro: float, collateral: np.ndarray | float = 1.0,
                        peer_effect: float = 0.0, share: np.ndarray | float | None = None,
                        strategic: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(baseline, total) per-step default probabilities of performing loans.

    ``baseline = h m s`` and ``total = h m s (1 + beta f) g`` (see the module
    docstring for the symbols).  Values are not clipped: anything at or
    above 1 is a certain default when drawn with :func:`draw_defaults`.
    Terms left at their neutral value cost nothing (``total`` is then the
    ``baseline`` array itself).
    """
    base = hazard * macro
    if not (np.isscalar(collateral) and collateral == 1.0):
        base = base * collateral
    total = base
    if share is not None and peer_effect > 0:
        total = base * (1.0 + peer_effect * share)
    if not (np.isscalar(strategic) and strategic == 1.0):
        total = total * strategic
    return base, total


def draw_defaults(baseline: np.ndarray, total: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(default, contagion) bool arrays: one uniform per loan, coupled across the two probabilities.

    A loan defaults when ``u < total``; the default is contagion when also
    ``u >= baseline`` (it would not have happened without contagion).
    """
    u = rng.random(total.size)
    default = u < total
    contagion = np.zeros(total.size, dtype=bool)
    if total is not baseline:
        drawn = np.flatnonzero(default)
        contagion[drawn] = u[drawn] >= baseline[drawn]
    return default, contagion


def threshold_defaults(share: np.ndarray, phi: np.ndarray, at_risk: np.ndarray) -> np.ndarray:
    """Bool: at-risk customers whose share of neighbours in default has reached their threshold ``phi``."""
    return at_risk & (share >= phi) & (share > 0)


def threshold_counts(phi: np.ndarray, degree: np.ndarray) -> np.ndarray:
    """Defaulted neighbours needed to tip each customer: the least integer m with m / degree >= phi.

    Comparing integer counts with these is exact where comparing shares in
    floating point may not be at ``m / degree == phi``; customers without
    neighbours are never tipped (their count is above their degree).
    """
    need = np.ceil(phi * degree - 1e-9).astype(np.int64)
    need = np.maximum(need, 1)
    return np.where(degree > 0, need, np.iinfo(np.int32).max)


def cascade(adjacency: sp.csr_array, seeds: np.ndarray, phi: np.ndarray | float,
            at_risk: np.ndarray | None = None, max_rounds: int | None = None) -> tuple[np.ndarray, int]:
    """Run threshold contagion from ``seeds`` to its fixed point (Watts 2002).

    Updates are synchronous rounds; since a customer never leaves default the
    process is monotone and ends in the same state whatever the update order.

    Parameters
    ----------
    adjacency : CSR adjacency of the network.
    seeds : int or bool array
        Customers in default at the start.
    phi : float or float array
        Threshold of each customer.
    at_risk : bool array, optional
        Customers who can default (borrowers); default everyone.
    max_rounds : int, optional
        Stop after this many rounds (default: until nothing changes).

    Returns
    -------
    defaulted : bool array
    rounds : int
        Rounds that changed something.
    """
    n = adjacency.shape[0]
    defaulted = np.zeros(n, dtype=bool)
    defaulted[seeds] = True
    at_risk = np.ones(n, dtype=bool) if at_risk is None else at_risk.copy()
    phi = np.broadcast_to(np.asarray(phi, dtype=float), (n,))
    rounds = 0
    while max_rounds is None or rounds < max_rounds:
        new = threshold_defaults(defaulted_share(adjacency, defaulted), phi, at_risk & ~defaulted)
        if not new.any():
            break
        defaulted |= new
        rounds += 1
    return defaulted, rounds


def watts_cascade_condition(mean_degree: float, phi: float, kmax: int | None = None) -> float:
    """``Σ_k k(k−1) rho_k p_k − z`` for a Poisson degree distribution with mean ``z``.

    ``rho_k = 1`` for ``k <= 1/phi`` (a vulnerable node, tipped by one
    defaulted neighbour) and 0 otherwise.  Global cascades from a single seed
    are possible where the value is positive (Watts 2002, eq. 5 with a
    uniform threshold).
    """
    z = float(mean_degree)
    k_vulnerable = math.floor(1.0 / phi + 1e-12)
    k = np.arange(0, k_vulnerable + 1 if kmax is None else min(kmax, k_vulnerable) + 1)
    p = stats.poisson.pmf(k, z)
    return float(np.sum(k * (k - 1) * p) - z)


def seeded(candidates: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct customers drawn uniformly from ``candidates`` (all of them if fewer)."""
    if candidates.size <= count:
        return candidates
    return rng.choice(candidates, size=count, replace=False)
