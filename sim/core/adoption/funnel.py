"""Mechanism 3, funnel conversion (SF6): aware → interested → comparing → applied → approved → active.

A customer who may enter the funnel for the product (no relationship for it,
no rejection in its cool-down) and has a counting touch this step enters the
funnel once; its trigger is its first counting touch in the step's random
order (:mod:`sim.core.adoption.frequency`), i.e. one drawn uniformly among
them: the institution and channel that brought it in.  Within the step it passes
each stage with that stage's probability and stops where it fails; the stage
it stopped at is kept as its state for the product:

- interested: ``interest × need[life stage] × (1 + targeting of the trigger's institution
  + data targeting of its channel)`` (the second term: a data-sharing partner's data, SF10);
- comparing: ``compare × (1 + live-stream uplift)`` if the trigger was a live stream;
- choice: a multinomial logit among all offers of the product it knows
  (:mod:`sim.core.adoption.choice`); the chosen offer may be a competitor's;
- applied: ``apply``;
- approved: ``approve`` for products that are not underwritten, or the
  lender's decision passed in as ``approve_fn``; a refusal leaves it rejected;
- active: provider, channel (the channel it met the chosen offer through) and
  start step are recorded.

The funnel counts credit the stages aware, interested and comparing to the
trigger's institution and channel, and the stages applied, approved and
active to the chosen offer's institution and the channel credited for it
(``aware_channel``, the relationship's channel): so the active count by
(institution, channel) equals the acquisitions by channel of the ledger.
A rejected applicant's step is kept (``rejected_at``) for its cool-down.

Every probability may be 1, so that exposure alone drives adoption.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.core.adoption.choice import NO_CHOICE, choose, utilities
from sim.core.adoption.frequency import first_of_each, may_enter
from sim.core.codes import Channel, Stage
from sim.core.indexing import KeyTable, block_pair_t, put_block, take
from sim.core.touches import Touches

# Stage -> column of the funnel count array.
FUNNEL_COLUMNS = {
    Stage.AWARE: 0,
    Stage.INTERESTED: 1,
    Stage.COMPARING: 2,
    Stage.APPLIED: 3,
    Stage.APPROVED: 4,
    Stage.ACTIVE: 5,
}

ApproveFn = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]

# Plain ints for numpy operations: numpy probes an IntEnum member for its array protocols on every use.
_AWARE, _INTERESTED, _COMPARING, _REJECTED, _ACTIVE = (int(s) for s in (
    Stage.AWARE, Stage.INTERESTED, Stage.COMPARING, Stage.REJECTED, Stage.ACTIVE))
_LIVE_STREAM = int(Channel.LIVE_STREAM)


@dataclass
class Activations:
    """Customers who became active this step, with what and through which channel."""

    customer: np.ndarray
    offer: np.ndarray
    channel: np.ndarray

    @classmethod
    def concat(cls, parts: list[Activations]) -> Activations:
        if not parts:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int8))
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("customer", "offer", "channel")))


def binomial_approval(probability: float) -> ApproveFn:
    """Approval that accepts each application independently with ``probability``."""
    def approve(customers: np.ndarray, offers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.random(customers.size) < probability
    return approve


def run_funnel(product: int, touches: Touches, state, population, catalog, step: int,
               approve_fn: ApproveFn, rng: np.random.Generator,
               counts: np.ndarray, entering: np.ndarray | None = None,
               table: KeyTable | None = None) -> tuple[Activations, np.ndarray]:
    """Move this step's touched customers for one product through the funnel.

    Parameters
    ----------
    product : int
        Product index ``k``; ``touches`` must be for offers of this product.
    state : CustomerState (updated in place: stage, provider, channel, since)
    population : Population
    catalog : Catalog
    step : int
        Current step, recorded as the start of new relationships.
    approve_fn : callable(customers, offers, rng) -> bool array
    counts : int array (I, C, 6)
        Funnel counts for this product, incremented in place by trigger institution and channel.
    entering : bool array, optional
        Per touch, :func:`~sim.core.adoption.frequency.may_enter` for this
        product when already known (:attr:`~sim.core.adoption.frequency.Counted.entering`).
    table : KeyTable, optional
        Kept between calls: finds each customer's first touch in O(touches).

    Returns
    -------
    activations : Activations
    rejected : int array of customers refused at approval
    """
    k = product
    if entering is None:
        entering = may_enter(state, catalog, touches.customer, k, step)
    fresh = entering.nonzero()[0]
    # Keyed by the customer's first (customer, offer) pair key: the table entries the step's awareness
    # deduplication has just used (kept in cache), the same first touches as keying by customer.
    n_offers = state.aware.shape[1]
    keys = touches.customer[fresh] * n_offers
    trigger = touches.select(fresh[first_of_each(keys, table, state.provider.shape[0] * n_offers)])
    c = trigger.customer
    n_inst, n_channels = counts.shape[:2]
    # Each entrant's (institution, channel) counting cell, carried through the stages with the customer.
    cell = catalog.offer_institution[trigger.offer].astype(np.int64) * n_channels + trigger.channel

    def record(stage: int):
        reached = np.bincount(cell, minlength=n_inst * n_channels)
        counts[:, :, FUNNEL_COLUMNS[stage]] += reached.reshape(n_inst, n_channels)

    stage = state.stage[:, k]

    def advance(probability: np.ndarray | float, failed_stage: int) -> np.ndarray:
        """Positions in ``c`` of those who pass the stage; those who fail stop at ``failed_stage``."""
        # Positions, not boolean masks, select: a gather by index costs a fraction of a random mask's.
        ok = rng.random(c.size) < probability
        stage[c[(~ok).nonzero()[0]]] = failed_stage
        return ok.nonzero()[0]

    record(Stage.AWARE)
    p_interest = catalog.interest[k] * catalog.need[k][population.life_stage[c]]
    # Without targeting the uplift is 0.0 for everyone, and x * (1.0 + 0.0) is x: the factor is skipped.
    if catalog.targeting.any() or catalog.channel_targeting.any():
        inst, ch = np.divmod(cell, n_channels)
        p_interest = p_interest * (1.0 + (catalog.targeting[inst] + take(catalog.channel_targeting, inst, ch)))
    ok = advance(np.minimum(p_interest, 1.0), _AWARE)
    c, cell = c[ok], cell[ok]
    record(Stage.INTERESTED)

    if catalog.live_uplift.any():
        # live_uplift[institution] x (channel is live stream), per (institution, channel) cell
        live = (catalog.live_uplift[:, None] * (np.arange(n_channels) == _LIVE_STREAM)[None, :]).reshape(-1)
        p_compare = catalog.compare[k] * (1.0 + live[cell])
    else:       # no live-stream uplift: everyone's factor is 1.0 + 0.0, the same probability
        p_compare = catalog.compare[k]
    ok = advance(np.minimum(p_compare, 1.0), _INTERESTED)
    c, cell = c[ok], cell[ok]
    record(Stage.COMPARING)

    offers_k = catalog.offers_of_product(k)
    aware_channel, aware = block_pair_t(state.aware_channel, state.aware, c, offers_k)
    chosen_col = choose(
        utilities(c, offers_k, aware_channel.T, population.digital_affinity, state.trust, catalog),
        aware.T, catalog.outside_utility, rng)
    chose = chosen_col != NO_CHOICE
    stage[c[(~chose).nonzero()[0]]] = _COMPARING
    ok = chose.nonzero()[0]
    c = c[ok]
    offer = offers_k[chosen_col[ok]]
    # From here on the chosen offer, met through its credited channel, is what is counted.
    ch = take(state.aware_channel, c, offer).astype(np.int64)
    cell = catalog.offer_institution[offer].astype(np.int64) * n_channels + ch

    ok = advance(catalog.apply[k], _COMPARING)
    c, cell, ch, offer = c[ok], cell[ok], ch[ok], offer[ok]
    record(Stage.APPLIED)

    approved = approve_fn(c, offer, rng)
    rejected = c[(~approved).nonzero()[0]]
    stage[rejected] = _REJECTED
    state.rejected_at[:, k][rejected] = step
    approved = approved.nonzero()[0]
    c, cell, ch, offer = c[approved], cell[approved], ch[approved], offer[approved]
    reached = np.bincount(cell, minlength=n_inst * n_channels).reshape(n_inst, n_channels)
    counts[:, :, FUNNEL_COLUMNS[Stage.APPROVED]] += reached       # the approved all become active
    counts[:, :, FUNNEL_COLUMNS[Stage.ACTIVE]] += reached

    return activate(state, c, offer, k, step, catalog, channel=ch), rejected


def activate(state, customers: np.ndarray, offers: np.ndarray, product: int, step: int, catalog,
             channel: np.ndarray | None = None) -> Activations:
    """Record new relationships: provider, channel the offer was met through, start step.

    The customers' exposure counters for the product's offers start again
    from zero (they count only while the customer is not a customer).
    ``channel``: the customers' ``aware_channel`` for their offers, when already read.
    """
    k = product
    channel = take(state.aware_channel, customers, offers) if channel is None else channel
    put_block(state.exposures, customers, catalog.offers_of_product(k), 0)
    state.stage[:, k][customers] = _ACTIVE
    state.begin(customers, k, catalog.offer_institution[offers], channel, step)
    return Activations(customers, offers.astype(np.int32), channel.astype(np.int8))
