"""Mechanism 1, exposure: advertising spend buys exposures of the reachable audience.

Semantics (docs/ODD.md, "Exposure"): each step, a paid channel (branch, own
app, live stream, a platform's traffic) exposes each reachable customer to
each advertised offer independently with probability

    p = p_max x (1 - exp(-spend / s0)),

``spend`` the channel's spend in yuan per 1,000 reachable customers per step
and ``(p_max, s0)`` the market's response curve for the channel type.
Customers already aware of the offer are exposed again (frequency); whether
a repeat exposure counts is decided by :mod:`sim.core.adoption.frequency`.
Who is reachable depends on the channel: branches reach covered city tiers,
platform ads the platform's users, the own app and live streaming the
institution's private domain (its customers and followers).
"""

from __future__ import annotations

import numpy as np

from sim.core.sampling import bernoulli_positions
from sim.core.touches import Touches


def response(spend: np.ndarray | float, p_max: np.ndarray | float, s0: np.ndarray | float) -> np.ndarray:
    """Per-step exposure probability bought by ``spend`` yuan per 1,000 reachable: p_max (1 - exp(-spend/s0))."""
    return np.asarray(p_max) * -np.expm1(-np.asarray(spend, dtype=float) / np.asarray(s0))


def spend_for(p: np.ndarray | float, p_max: np.ndarray | float, s0: np.ndarray | float) -> np.ndarray:
    """The spend per 1,000 reachable that buys exposure probability ``p`` (the inverse of :func:`response`).

    ``p`` must be below ``p_max``; ``p = 0`` needs no spend.
    """
    return -np.asarray(s0) * np.log1p(-np.asarray(p, dtype=float) / np.asarray(p_max))


def per_reachable_spend(own: np.ndarray, budget: np.ndarray, share: np.ndarray, population: int,
                        reachable: np.ndarray) -> np.ndarray:
    """Spend per 1,000 reachable of each channel, from its own spend or its share of a budget.

    Parameters
    ----------
    own : float array
        The channel's own spend per 1,000 reachable (used where ``budget`` is NaN).
    budget : float array
        The institution's budget per step per 1,000 customers of the population (NaN: none).
    share : float array
        The channel's share of the budget.
    population : int
        Customers simulated (N).
    reachable : int array
        Customers the channel reaches now.

    Returns
    -------
    float array
        ``budget x share x N / reachable`` where a budget is set (0 where the
        channel reaches nobody), else ``own``; the channel's spend in yuan is
        this times ``reachable / 1000``, so with a budget it is
        ``budget x share x N / 1000`` whatever the reach.
    """
    reachable = np.asarray(reachable, dtype=float)
    from_budget = np.divide(budget * share * population, reachable, out=np.zeros(reachable.shape),
                            where=reachable > 0)
    return np.where(np.isnan(budget), own, from_budget)


def expose(reachable: np.ndarray, offers: np.ndarray, channel: int, exposure_rate: float,
           rng: np.random.Generator, everyone: bool = False) -> Touches:
    """Touches from one channel advertising some offers to a reachable audience, in one draw.

    Every (reachable customer, offer) pair is an independent Bernoulli(``p``)
    trial; the successes are drawn at once over the ``len(reachable) x
    len(offers)`` pairs (offer-major), at a cost proportional to the
    successes for small ``p``.

    Parameters
    ----------
    reachable : int array
        Customer indices the channel reaches.
    offers : int array
        Offers advertised.
    channel : int
        Channel index recorded on the touches.
    exposure_rate : float
        ``p``, the per-step chance that a reachable customer is exposed to an offer.
    rng : numpy.random.Generator
    everyone : bool
        ``reachable`` is ``arange(len(reachable))``, the whole population:
        a position is the customer (no lookup into ``reachable``).
    """
    offers = np.asarray(offers, dtype=np.int32)
    if exposure_rate <= 0.0 or reachable.size == 0 or offers.size == 0:
        return Touches.empty()
    hit = bernoulli_positions(reachable.size * offers.size, exposure_rate, rng)
    if offers.size == 1:
        position, offer = hit, np.full(hit.size, offers[0], dtype=np.int32)
    else:
        which, position = np.divmod(hit, reachable.size)
        offer = offers[which]
    customer = position if everyone else reachable[position].astype(np.int64, copy=False)
    return Touches(customer, offer, np.full(hit.size, int(channel), dtype=np.int8))


def branch_reach(city_tier: np.ndarray, coverage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bool per customer: lives in a city the branches cover (coverage is by tier, SF16)."""
    return rng.random(city_tier.size) < coverage[city_tier]


def platform_users(affinity: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Bool per customer: uses the platform.  ``share`` of customers, drawn with weight = digital affinity."""
    n = affinity.size
    count = int(round(share * n))
    users = np.zeros(n, dtype=bool)
    if count:
        users[rng.choice(n, size=count, replace=False, p=affinity / affinity.sum())] = True
    return users
