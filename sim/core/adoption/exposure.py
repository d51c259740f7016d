"""Mechanism 1, exposure: advertising makes reachable, unaware customers aware.

Fixed semantics (model.md): each step, a channel exposes each reachable
customer not yet aware of the offer with the channel's per-step probability
``p``.  Who is reachable depends on the channel: branches reach covered city
tiers, platform ads reach the platform's users, the own app and live streaming
reach the institution's private domain (its customers and followers).
"""

from __future__ import annotations

import numpy as np

from sim.core.sampling import bernoulli_subset
from sim.core.touches import Touches


def expose(reachable: np.ndarray, offers: np.ndarray, channel: int, exposure_rate: float,
           aware: np.ndarray, rng: np.random.Generator) -> Touches:
    """Touches from one channel advertising some offers to a reachable audience.

    Parameters
    ----------
    reachable : int array
        Customer indices the channel reaches.
    offers : int array
        Offers advertised (each drawn independently).
    channel : int
        Channel index recorded on the touches.
    exposure_rate : float
        ``p``, the per-step chance that a reachable customer is exposed.
    aware : bool array (n, O)
        Current awareness; customers already aware of an offer are not touched by it.
    rng : numpy.random.Generator
    """
    if exposure_rate <= 0.0 or reachable.size == 0 or len(offers) == 0:
        return Touches.empty()
    # One draw per offer (each offer's stream as before); the touches are assembled once.
    exposed = []
    for offer in offers:
        drawn = bernoulli_subset(reachable, exposure_rate, rng)
        exposed.append(drawn[~aware[drawn, offer]])
    sizes = [part.size for part in exposed]
    return Touches(np.concatenate(exposed).astype(np.int64, copy=False),
                   np.repeat(np.asarray(offers, dtype=np.int32), sizes),
                   np.full(sum(sizes), channel, dtype=np.int8))


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
