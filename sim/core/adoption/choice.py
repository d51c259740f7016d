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
from sim.core.indexing import block_t
from sim.core.sampling import gumbel

NO_CHOICE = -1
# Plain ints for numpy operations: numpy probes an IntEnum member for its array protocols on every use.
_BRANCH, _REFERRAL, _LIVE_STREAM = int(Channel.BRANCH), int(Channel.REFERRAL), int(Channel.LIVE_STREAM)


def utilities(customers: np.ndarray, offers: np.ndarray, channels: np.ndarray, affinity: np.ndarray,
              trust: np.ndarray, catalog) -> np.ndarray:
    """Deterministic utilities, shape (len(customers), len(offers)).

    ``channels`` is (len(customers), len(offers)): the channel each customer
    met each offer through (-1 if unaware; those entries are masked by the caller).

    The terms are added offer by offer over all customers (the arrays are
    built as (offers, customers) and the result is their transpose, a
    column-major view): numpy's loops then run over the customers, not over
    a few offers at a time.  Pass ``channels`` column-major (the transpose
    of a C-contiguous (offers, customers) array, see
    :func:`sim.core.indexing.block_t`) for the fastest reads.
    """
    inst = catalog.offer_institution[offers]
    by_offer = channels.T
    # Summed in the order of the formula; a term whose weight is 0 adds exactly 0.0 and is skipped,
    # so the utilities are the same numbers as with every term.
    value = np.zeros(by_offer.shape)
    if catalog.choice_price:
        value += catalog.choice_price * catalog.price[offers][:, None]
    if catalog.choice_loan_rate:
        rate = np.where(catalog.risk.is_credit[catalog.offer_product[offers]], catalog.risk.offer_rate[offers], 0.0)
        value += catalog.choice_loan_rate * rate[:, None]
    if catalog.choice_convenience:
        aff = affinity[customers][None, :]
        value += catalog.choice_convenience * np.where(by_offer == _BRANCH, 1.0 - aff,
                                                       np.where(by_offer == NO_CHANNEL, 0.5, aff))
    if catalog.choice_trust:
        value += catalog.choice_trust * block_t(trust, customers, inst)
    value += catalog.brand[offers][:, None]
    # No welcome packet on these offers: the incentive term is (finite) x 0.0, and value + 0.0 is value
    # (value is never -0.0: it starts at +0.0 and IEEE sums of zeros of both signs are +0.0).
    if catalog.choice_incentive and (not np.isfinite(catalog.choice_incentive) or catalog.referral_welcome[inst].any()):
        welcome = catalog.referral_welcome[inst][:, None] / 100.0
        value += catalog.choice_incentive * welcome * (by_offer == _REFERRAL)
    if catalog.choice_live:
        value += catalog.choice_live * (by_offer == _LIVE_STREAM)
    return value.T


#: Up to this many offers, :func:`choose` compares them offer by offer instead of calling ``np.argmax`` by row.
FEW_OFFERS = 8


def choose(value: np.ndarray, available: np.ndarray, outside_utility: float | None,
           rng: np.random.Generator) -> np.ndarray:
    """Column of the chosen offer per row, or ``NO_CHOICE`` (outside option or nothing available)."""
    rows, cols = value.shape
    if rows == 0:
        return np.zeros(0, dtype=np.int64)
    noise = gumbel((rows, cols), rng)
    if cols <= FEW_OFFERS:
        best, best_value = _best_of_few(value.T, available.T, np.ascontiguousarray(noise.T))
    else:
        noisy = np.where(available, value + noise, -np.inf)
        best = np.argmax(noisy, axis=1)
        best_value = noisy[np.arange(rows), best]
    chosen = np.where(np.isfinite(best_value), best, NO_CHOICE)
    if outside_utility is not None:
        outside = outside_utility + gumbel(rows, rng)
        chosen = np.where(best_value > outside, chosen, NO_CHOICE)
    return chosen


def _best_of_few(value: np.ndarray, available: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.argmax`` over the offers (rows here) of the noisy utilities, and the maximum, offer by offer.

    Arrays are (offers, customers).  As ``np.argmax``: the first maximum
    wins, and a NaN counts as larger than any number (the first NaN wins).
    """
    best = np.zeros(value.shape[1], dtype=np.int64)
    best_value = np.where(available[0], value[0] + noise[0], -np.inf)
    # Finite utilities plus Gumbel noise (finite, or -inf for a draw of exactly 0) are never NaN.
    maybe_nan = value.shape[0] > 1 and not np.isfinite(value).all()
    for j in range(1, value.shape[0]):
        candidate = np.where(available[j], value[j] + noise[j], -np.inf)
        better = candidate > best_value
        if maybe_nan:
            better |= np.isnan(candidate) & ~np.isnan(best_value)
        best[better] = j
        best_value = np.where(better, candidate, best_value)
    return best, best_value


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
