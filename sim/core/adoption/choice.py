"""Comparison and choice: a multinomial logit over the offers a customer knows (SF6).

Utility of offer ``o`` (institution ``i``) for customer ``c``::

    V = price·price_o + loan_rate·rate_o [credit offers] + convenience·conv(c, channel) + trust·trust_ci + brand_o
        + incentive·welcome_i/100 [offer met through a referral]
        + live_stream [offer met through live streaming]  + Gumbel noise

``price_o`` is the offer's fee in yuan per step and ``rate_o`` the annual
loan rate of a credit offer (after a rate cap), weighed whether or not
credit is underwritten.  ``conv`` is the customer's digital affinity for digital channels and one
minus it for branches.  The customer picks the offer of highest utility among
those it is aware of (and an outside option, when configured): the argmax of
utility plus i.i.d. Gumbel noise is a draw from the logit choice
probabilities (McFadden, 1974).
"""

from __future__ import annotations

import numpy as np

from sim.core.codes import NO_CHANNEL, Channel
from sim.core.sampling import gumbel

NO_CHOICE = -1


def utilities(customers: np.ndarray, offers: np.ndarray, channels: np.ndarray, affinity: np.ndarray,
              trust: np.ndarray, catalog) -> np.ndarray:
    """Deterministic utilities, shape (len(customers), len(offers)).

    ``channels`` is (len(customers), len(offers)): the channel each customer
    met each offer through (-1 if unaware; those entries are masked by the caller).
    """
    inst = catalog.offer_institution[offers]
    # Summed in the order of the formula; a term whose weight is 0 adds exactly 0.0 and is skipped,
    # so the utilities are the same numbers as with every term.
    value = np.zeros(channels.shape)
    if catalog.choice_price:
        value += catalog.choice_price * catalog.price[offers][None, :]
    if catalog.choice_loan_rate:
        rate = np.where(catalog.risk.is_credit[catalog.offer_product[offers]], catalog.risk.offer_rate[offers], 0.0)
        value += catalog.choice_loan_rate * rate[None, :]
    if catalog.choice_convenience:
        aff = affinity[customers][:, None]
        value += catalog.choice_convenience * np.where(channels == Channel.BRANCH, 1.0 - aff,
                                                       np.where(channels == NO_CHANNEL, 0.5, aff))
    if catalog.choice_trust:
        value += catalog.choice_trust * trust[customers[:, None], inst[None, :]]
    value += catalog.brand[offers][None, :]
    if catalog.choice_incentive:
        welcome = catalog.referral_welcome[inst][None, :] / 100.0
        value += catalog.choice_incentive * welcome * (channels == Channel.REFERRAL)
    if catalog.choice_live:
        value += catalog.choice_live * (channels == Channel.LIVE_STREAM)
    return value


def choose(value: np.ndarray, available: np.ndarray, outside_utility: float | None,
           rng: np.random.Generator) -> np.ndarray:
    """Column of the chosen offer per row, or ``NO_CHOICE`` (outside option or nothing available)."""
    rows, cols = value.shape
    if rows == 0:
        return np.zeros(0, dtype=np.int64)
    noisy = np.where(available, value + gumbel((rows, cols), rng), -np.inf)
    best = np.argmax(noisy, axis=1)
    best_value = noisy[np.arange(rows), best]
    chosen = np.where(np.isfinite(best_value), best, NO_CHOICE)
    if outside_utility is not None:
        outside = outside_utility + gumbel(rows, rng)
        chosen = np.where(best_value > outside, chosen, NO_CHOICE)
    return chosen


def logit_probabilities(value: np.ndarray, available: np.ndarray, outside_utility: float | None = None) -> np.ndarray:
    """Analytic choice probabilities (rows sum to 1 minus the outside option's share)."""
    masked = np.where(available, value, -np.inf)
    top = np.max(masked, axis=1, keepdims=True)
    if outside_utility is not None:
        top = np.maximum(top, outside_utility)
    weights = np.where(available, np.exp(masked - top), 0.0)
    total = weights.sum(axis=1, keepdims=True)
    if outside_utility is not None:
        total = total + np.exp(outside_utility - top)
    return weights / total
