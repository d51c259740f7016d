"""Mechanism 6, churn and switching.

Active customers leave their provider with a per-step hazard set by its
satisfaction, expressed as an annual retention rate (SF8: a good scenario
platform keeps 84.4% a year), converted to the step unit in the catalog.
Separately, each step a share ``switching`` of the remaining active customers
weigh the offers of the product they know (current one included) by the same
logit as the funnel; those who prefer another offer apply for it and, if
approved, move to it: better offers they see pull them away.
"""

from __future__ import annotations

import numpy as np

from sim.core.adoption.choice import NO_CHOICE, choose, utilities
from sim.core.adoption.funnel import Activations, ApproveFn, activate
from sim.core.codes import Stage
from sim.core.sampling import bernoulli_subset


def churn(product: int, state, catalog, rng: np.random.Generator,
          holders: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Customers who leave their provider of ``product`` this step, and the providers they leave.

    Their relationship is cleared from ``state``.  ``holders``, the sorted
    customers holding the product now, is found from ``state`` when not given.
    """
    k = product
    highest = float(catalog.churn.max()) if catalog.churn.size else 0.0
    if highest <= 0.0:
        return np.zeros(0, np.int64), np.zeros(0, np.int16)
    if holders is None:
        holders = (state.provider[:, k] >= 0).nonzero()[0]
    # Bernoulli(highest) then thinning by hazard/highest is Bernoulli(hazard), drawn in O(n·highest).
    candidates = bernoulli_subset(holders, highest, rng)
    providers = state.provider[candidates, k]
    leaving = rng.random(candidates.size) * highest < catalog.churn[providers]
    customers, left = candidates[leaving], providers[leaving]
    leave(state, customers, k)
    return customers, left


def leave(state, customers: np.ndarray, product: int) -> None:
    """End the customers' relationships for ``product``."""
    state.stage[customers, product] = Stage.CHURNED
    state.end(customers, product)


def switch(product: int, state, population, catalog, step: int, approve_fn: ApproveFn,
           rng: np.random.Generator, holders: np.ndarray | None = None) -> tuple[Activations, np.ndarray]:
    """Active customers who move to a better offer they know.

    Returns the new relationships and the institutions the switchers left
    (aligned with ``activations.customer``).  ``holders``, the sorted
    customers holding the product now, is found from ``state`` when not given.
    """
    k = product
    offers_k = catalog.offers_of_product(k)
    if catalog.switching <= 0.0 or offers_k.size < 2:
        return Activations.concat([]), np.zeros(0, np.int16)
    if holders is None:
        holders = (state.provider[:, k] >= 0).nonzero()[0]
    weighing = bernoulli_subset(holders, catalog.switching, rng)
    current = catalog.offer_of[state.provider[weighing, k], k]
    known = state.aware[weighing][:, offers_k]
    value = utilities(weighing, offers_k, state.aware_channel[weighing][:, offers_k],
                      population.digital_affinity, state.trust, catalog)
    chosen_col = choose(value, known, None, rng)
    chosen = np.where(chosen_col != NO_CHOICE, offers_k[np.maximum(chosen_col, 0)], -1)
    moving = (chosen >= 0) & (chosen != current)
    moving &= rng.random(weighing.size) < catalog.apply[k]
    customers, offers = weighing[moving], chosen[moving]
    approved = approve_fn(customers, offers, rng)
    customers, offers = customers[approved], offers[approved]
    previous = state.provider[customers, k].copy()
    return activate(state, customers, offers, k, step, catalog), previous
