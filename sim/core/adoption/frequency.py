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

from dataclasses import dataclass

import numpy as np

from sim.core.codes import Channel, Stage
from sim.core.indexing import KeyTable, flat, position, take
from sim.core.touches import Touches

#: The counter of earlier exposures saturates here (its dtype's largest value).
MAX_EXPOSURES = np.iinfo(np.uint8).max
# Plain ints for numpy operations: numpy probes an IntEnum member for its array protocols on every use.
_REFERRAL, _EMPLOYEE, _REJECTED = int(Channel.REFERRAL), int(Channel.EMPLOYEE), int(Stage.REJECTED)


def is_advertising(channel: np.ndarray) -> np.ndarray:
    """Bool per touch: the channel is paid advertising (not referral or employee word of mouth)."""
    return (channel != _REFERRAL) & (channel != _EMPLOYEE)


def may_enter(state, catalog, customers: np.ndarray, products: np.ndarray | int, step: int) -> np.ndarray:
    """Bool per (customer, product): holds no relationship for it and is past any rejection's cool-down.

    ``products`` is one product index or one per customer.  Only customers
    whose stage is ``rejected`` can be in a cool-down, so ``rejected_at`` is
    read for them alone, and the stage only when some product has one.
    """
    cooling_down = bool((catalog.reapply_after > 0).any())
    if np.ndim(products) == 0:
        k = int(products)
        free = state.provider[:, k][customers] < 0
        if not cooling_down:
            return free
        rejected = (state.stage[:, k][customers] == _REJECTED).nonzero()[0]
        if rejected.size:
            cooling = step - state.rejected_at[:, k][customers[rejected]] < catalog.reapply_after[k]
            free[rejected[cooling]] = False
        return free
    provider, stage = state.provider, state.stage
    same = provider.shape == stage.shape and (
        (provider.flags.f_contiguous and stage.flags.f_contiguous)
        or (provider.flags.c_contiguous and stage.flags.c_contiguous))
    if same:        # one position for both arrays (a single product's column is the customer index)
        at = customers if provider.shape[1] == 1 else position(provider, customers, products)
    else:
        at = None
    free = flat(provider)[at] < 0 if at is not None else take(provider, customers, products) < 0
    if not cooling_down:        # a rejection keeps nobody out: rejected_at <= step
        return free
    if at is not None:
        rejected = (flat(stage)[at] == _REJECTED).nonzero()[0]
    else:
        rejected = (take(stage, customers, products) == _REJECTED).nonzero()[0]
    if rejected.size:
        c, p = customers[rejected], products[rejected]
        cooling = step - take(state.rejected_at, c, p) < catalog.reapply_after[p]
        free[rejected[cooling]] = False
    return free


def pair_keys(touches: Touches, n_offers: int) -> np.ndarray:
    """One int64 key per touch identifying its (customer, offer) pair."""
    return touches.customer * n_offers + touches.offer


#: Keys spanning at most this many values are deduplicated with a scatter table instead of a sort.
SCATTER_SPAN = 1 << 21


def first_of_each(keys: np.ndarray, table: KeyTable | None = None, span: int | None = None) -> np.ndarray:
    """Positions of the first occurrence of each distinct non-negative key (in the order given), ascending.

    With a :class:`~sim.core.indexing.KeyTable` (kept between calls) the cost
    is O(len).  Without one: with a small key span, a table of the smallest
    position per key (``np.minimum.at``, exact whatever the order of repeated
    indices) costs O(span + len); otherwise a stable sort costs
    O(len log len).  All give the same positions.
    """
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    if table is not None:
        return table.first_of_each(keys, span)
    position = np.arange(keys.size)
    span = int(keys.max()) + 1
    if span <= max(4 * keys.size, SCATTER_SPAN):
        smallest = np.full(span, keys.size, dtype=np.int64)
        np.minimum.at(smallest, keys, position)
        return (smallest[keys] == position).nonzero()[0]
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.ones(keys.size, dtype=bool)
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    return np.sort(order[first])


@dataclass
class Counted:
    """The step's counting touches (:func:`count`) with what the funnel and attribution read of them.

    Attributes
    ----------
    touches : Touches
        The touches that count, in the step's random attribution order.
    entering : bool array
        Per touch: its customer may enter the funnel for the offer's product
        (:func:`may_enter` when the touches were counted).
    keys : int64 array
        Per touch: its (customer, offer) pair key (:func:`pair_keys`).
    """

    touches: Touches
    entering: np.ndarray
    keys: np.ndarray


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
    return count(touches, state, catalog, step, rng).touches


def count(touches: Touches, state, catalog, step: int, rng: np.random.Generator,
          table: KeyTable | None = None, distinct_ads: bool = False) -> Counted:
    """:func:`counting_touches`, keeping who may enter the funnel and the pair keys of the touches that count.

    The same draws and the same result as :func:`counting_touches`;
    ``table`` (kept between calls) makes the counters' update O(touches).
    ``distinct_ads``: the caller knows that no (customer, offer) pair has
    two advertising touches this step (e.g. each offer advertised through
    one channel), so the pairs need not be counted.
    """
    n_offers = state.exposures.shape[1]
    if len(touches) == 0:
        return Counted(touches, np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64))
    touches = touches.select(rng.permutation(len(touches)))
    product = catalog.offer_product[touches.offer]
    entering = may_enter(state, catalog, touches.customer, product, step)
    ad = (is_advertising(touches.channel) & entering).nonzero()[0]
    keys = pair_keys(touches, n_offers)
    ad_keys = keys[ad]
    exposures = flat(state.exposures) if state.exposures.flags.c_contiguous else None
    earlier = (exposures[ad_keys] if exposures is not None
               else state.exposures[touches.customer[ad], touches.offer[ad]])
    decay = catalog.repeat_decay[product[ad]]
    counts = rng.random(earlier.size) < decay ** earlier          # d^0 = 1: a first exposure always counts
    keep = np.ones(len(touches), dtype=bool)
    keep[ad] = counts
    # Counters: + number of this step's advertising exposures of the pair, saturating at MAX_EXPOSURES.
    if ad_keys.size:
        if distinct_ads:
            first, raised = ad_keys, np.minimum(earlier.astype(np.int64) + 1, MAX_EXPOSURES)
        else:
            table = table if table is not None else KeyTable()
            span = state.exposures.size
            seen = table.counts_at(ad_keys, None, span)
            if int(seen.max()) == 1:              # no pair exposed twice this step (the usual case): all are firsts
                first = ad_keys
            else:
                at = table.first_of_each(ad_keys, span)
                first, seen = ad_keys[at], seen[at]
                earlier = earlier[at]
            raised = np.minimum(earlier.astype(np.int64) + seen, MAX_EXPOSURES)
        if exposures is not None:
            exposures[first] = raised
        else:
            c, o = np.divmod(first, n_offers)
            state.exposures[c, o] = raised
    keep = keep.nonzero()[0]
    return Counted(touches.select(keep), entering[keep], keys[keep])


def credited(touches: Touches, n_offers: int, keys: np.ndarray | None = None,
             table: KeyTable | None = None) -> Touches:
    """One touch per (customer, offer) pair: its first in the (random) order of ``touches``.

    ``keys`` (the touches' :func:`pair_keys`, when already computed) and a
    ``table`` kept between calls save work, not change the result.
    """
    keys = pair_keys(touches, n_offers) if keys is None else keys
    return touches.select(first_of_each(keys, table))
