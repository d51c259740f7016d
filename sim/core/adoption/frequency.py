"""Frequency and attribution: which of a step's touches count, and which channel each is credited to.

Semantics (docs/ODD.md, "Exposure", "Frequency" and "Attribution"):

- Advertising reaches aware customers again.  An advertising touch (branch,
  own app, live stream, platform) of a customer who may enter the funnel for
  the offer's product and already had ``m`` earlier advertising exposures of
  that offer counts with probability ``repeat_decay ** m`` (``m`` kept per
  (customer, offer) in a saturating ``uint8`` counter, :data:`MAX_EXPOSURES`);
  word-of-mouth touches (referral, employee) always count.  A customer may
  enter the funnel when it does not hold the product and is not in a
  rejection's cool-down (``funnel.reapply_after`` steps).  The counter counts
  only exposures while the customer may enter, and is cleared for a
  product's offers when the customer becomes its customer, so a customer who
  later churns is won back as a fresh prospect.
- Attribution: the step's touches are put in one random order; the touch
  credited for a (customer, offer) pair is the pair's first counting touch
  in that order (uniform among them), and the funnel's trigger for a
  customer is its first counting touch for the product (uniform among its
  touches, and the credited touch of its own pair).  The relationship's
  channel, choice, the funnel table and CAC all read that one credit.
"""

from __future__ import annotations

import numpy as np

from sim.core.codes import Channel, Stage
from sim.core.touches import Touches

#: The counter of earlier exposures saturates here (its dtype's largest value).
MAX_EXPOSURES = np.iinfo(np.uint8).max


def is_advertising(channel: np.ndarray) -> np.ndarray:
    """Bool per touch: the channel is paid advertising (not referral or employee word of mouth)."""
    return (channel != Channel.REFERRAL) & (channel != Channel.EMPLOYEE)


def may_enter(state, catalog, customers: np.ndarray, products: np.ndarray, step: int) -> np.ndarray:
    """Bool per (customer, product): holds no relationship for it and is past any rejection's cool-down."""
    free = state.provider[customers, products] < 0
    cooling = (state.stage[customers, products] == Stage.REJECTED) & (
        step - state.rejected_at[customers, products] < catalog.reapply_after[products])
    return free & ~cooling


def pair_keys(touches: Touches, n_offers: int) -> np.ndarray:
    """One int64 key per touch identifying its (customer, offer) pair."""
    return touches.customer * n_offers + touches.offer


#: Keys spanning at most this many values are deduplicated with a scatter table instead of a sort.
SCATTER_SPAN = 1 << 21


def first_of_each(keys: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct non-negative key (in the order given), ascending.

    With a small key span, a table of the smallest position per key
    (``np.minimum.at``, exact whatever the order of repeated indices) costs
    O(span + len); otherwise a stable sort costs O(len log len).  Both give
    the same positions.
    """
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    position = np.arange(keys.size)
    span = int(keys.max()) + 1
    if span <= max(4 * keys.size, SCATTER_SPAN):
        smallest = np.full(span, keys.size, dtype=np.int64)
        np.minimum.at(smallest, keys, position)
        return np.flatnonzero(smallest[keys] == position)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.ones(keys.size, dtype=bool)
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    return np.sort(order[first])


def counting_touches(touches: Touches, state, catalog, step: int, rng: np.random.Generator) -> Touches:
    """The step's touches in a random order, keeping those that count, and the exposure counters updated.

    Parameters
    ----------
    touches : Touches
        Every touch of the step (advertising, referral, employee).
    state : CustomerState
        ``exposures`` is incremented (saturating) for the advertising
        touches of customers who may enter the funnel.
    catalog : Catalog
    step : int
    rng : numpy.random.Generator

    Returns
    -------
    Touches
        The touches that count, in the step's random attribution order.
    """
    if len(touches) == 0:
        return touches
    touches = touches.select(rng.permutation(len(touches)))
    product = catalog.offer_product[touches.offer]
    ad = is_advertising(touches.channel)
    ad &= may_enter(state, catalog, touches.customer, product, step)
    earlier = state.exposures[touches.customer[ad], touches.offer[ad]]
    decay = catalog.repeat_decay[product[ad]]
    counts = rng.random(earlier.size) < decay ** earlier          # d^0 = 1: a first exposure always counts
    keep = np.ones(len(touches), dtype=bool)
    keep[np.flatnonzero(ad)] = counts
    # Counters: + number of this step's advertising exposures of the pair, saturating at MAX_EXPOSURES.
    keys = pair_keys(touches.select(ad), state.exposures.shape[1])
    unique, seen = np.unique(keys, return_counts=True)
    c, o = np.divmod(unique, state.exposures.shape[1])
    state.exposures[c, o] = np.minimum(state.exposures[c, o].astype(np.int64) + seen, MAX_EXPOSURES)
    return touches.select(keep)


def credited(touches: Touches, n_offers: int) -> Touches:
    """One touch per (customer, offer) pair: its first in the (random) order of ``touches``."""
    return touches.select(first_of_each(pair_keys(touches, n_offers)))
