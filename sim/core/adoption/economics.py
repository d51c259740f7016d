"""Mechanism 7, economics: what each institution earns and spends in a step.

Each active relationship earns its offer's ``price`` (the fee the customer
pays per step) and costs its ``service_cost``; a credit relationship's
performing loan (credit on) adds interest ``amount × rate / steps per year``
and costs funding ``amount × cost of funds / steps per year`` (a P2P
platform's interest goes to its investors).  A partner platform that brought
the relationship takes its take rate of the fee and of the interest
(co-lending style, SF10).  :func:`relationship_margin` computes all of it per
relationship; the :class:`Ledger` is its sum per institution (summed by cell
from :func:`sim.core.adoption.cells.relationship_cells`), plus the
acquisition side: acquisitions and their cost by channel (CAC), fees per
acquired customer, referral incentives (bonus + welcome packet per referred
customer who becomes active, SF4).  Platforms earn the traffic spend, fees
and revenue shares banks pay them.

A paid channel's spend is its spend per 1,000 reachable customers times the
customers it reached this step / 1,000 (computed by the model's advertising
and passed in as ``marketing_spend``), so CAC does not depend on how many
customers are simulated; the employee programme costs its cost per employee
times the employees.  Acquisitions (``new_by_channel``) are customers won
through the funnel; relationships won from a rival by switching are counted
apart (``switched_by_channel``) and pay no acquisition fee or incentive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.adoption.cells import RelationshipCells, relationship_cells
from sim.core.adoption.funnel import Activations
from sim.core.codes import Channel


@dataclass
class Ledger:
    """One step's accounts: arrays over institutions (I) and channels (C).

    The derived accounts (:attr:`margin`, :attr:`profit` …) are elementwise
    or over the last axis, so a Ledger of arrays stacked over steps (a
    leading axis) gives each step's figures exactly.
    """

    customers: np.ndarray            # (I, K) active relationships per product
    new_by_channel: np.ndarray       # (I, C) acquisitions through the funnel
    spend_by_channel: np.ndarray     # (I, C) acquisition spend
    churned: np.ndarray              # (I,)
    revenue: np.ndarray              # (I,) fees + interest
    revenue_share_paid: np.ndarray
    platform_income: np.ndarray
    incentives: np.ndarray
    service_cost: np.ndarray
    interest: np.ndarray             # (I,) interest on the lender's own loan book (part of revenue)
    funding_cost: np.ndarray         # (I,)
    by_product: dict[str, np.ndarray]   # (I, K) each of MARGIN_PARTS summed by product
    by_tier: dict[str, np.ndarray]      # (I, 4) "margin" summed by the customer's city tier
    new_by_product: np.ndarray          # (I, C, K) acquisitions by channel and product
    new_by_tier: np.ndarray             # (I, C, 4) acquisitions by channel and the customer's city tier
    switched_by_channel: np.ndarray | None = None   # (I, C) relationships won by switching

    @property
    def margin(self) -> np.ndarray:
        """(I,) Σ relationship margins: revenue − funding cost − service cost − revenue share."""
        return self.revenue - self.funding_cost - self.service_cost - self.revenue_share_paid

    @property
    def new_customers(self) -> np.ndarray:
        return self.new_by_channel.sum(axis=-1)

    @property
    def acquisition_spend(self) -> np.ndarray:
        return self.spend_by_channel.sum(axis=-1)

    @property
    def cost(self) -> np.ndarray:
        return self.acquisition_spend + self.revenue_share_paid + self.service_cost + self.funding_cost

    @property
    def profit(self) -> np.ndarray:
        return self.revenue + self.platform_income - self.cost


#: Parts of a relationship's margin; ``margin = fee + interest − funding_cost − unit_cost − revenue_share``.
MARGIN_PARTS = ("fee", "interest", "funding_cost", "unit_cost", "revenue_share", "margin")


@dataclass
class RelationshipMargins:
    """Each active relationship's economics in one step: aligned arrays, one entry per (customer, product) held.

    Entries are ordered by product, then customer.  Money is in yuan for the step.

    Attributes
    ----------
    customer, product, institution, offer : int arrays (int64, int8, int16, int32)
        Who holds what from whom (``offer = catalog.offer_of[institution, product]``).
    channel : int8 array
        Channel the relationship came through (-1: held before the run).
    fee : float array
        The offer's ``price``, paid by the customer.
    interest : float array
        ``amount × rate / steps per year`` of the relationship's performing
        loan (credit products with credit on; 0 for P2P lenders, whose
        interest goes to their investors).
    funding_cost : float array
        ``amount × cost_of_funds / steps per year`` of that loan (0 for P2P).
    unit_cost : float array
        The offer's ``service_cost``.
    revenue_share : float array
        ``take_rate × (fee + interest)`` when the relationship came through a
        platform with an active partnership with the provider, else 0.
    share_to : int64 array
        Institution index of the platform that receives ``revenue_share`` (-1 none).
    margin : float array
        ``fee + interest − funding_cost − unit_cost − revenue_share``.
    loan_rows : int array
        The entries with a performing loan, ascending; elsewhere interest
        and funding are 0.0.
    """

    customer: np.ndarray
    product: np.ndarray
    institution: np.ndarray
    offer: np.ndarray
    channel: np.ndarray
    fee: np.ndarray
    interest: np.ndarray
    funding_cost: np.ndarray
    unit_cost: np.ndarray
    revenue_share: np.ndarray
    share_to: np.ndarray
    margin: np.ndarray
    loan_rows: np.ndarray

    def per_institution(self, values: np.ndarray, n_institutions: int) -> np.ndarray:
        """(I,) ``values`` (one per relationship) summed by provider."""
        return np.bincount(self.institution, weights=values, minlength=n_institutions)[:n_institutions]


def relationship_margin(state, catalog, book=None, holders: list[np.ndarray] | None = None) -> RelationshipMargins:
    """Every active relationship's margin this step: fee and interest less funding, unit cost and revenue share.

    The ledger's revenue, funding cost, service cost and revenue share are
    these arrays summed by provider (:meth:`RelationshipMargins.per_institution`),
    so summing ``margin`` over an institution's relationships gives
    :attr:`Ledger.margin` (to floating-point rounding: a few 1e-12 of it);
    aggregating by any attribute of the relationship (acquisition step,
    channel, product, the customer's city tier) splits it without remainder.
    The model gives the last step's as ``model.margins`` (computed on first
    access; the step itself sums the same margins by cell,
    :func:`sim.core.adoption.cells.relationship_cells`).  A relationship's acquisition step is
    ``state.since[customer, product]`` and its channel ``channel`` (-1: held
    before the run).

    Parameters
    ----------
    state : CustomerState
        ``provider``, ``channel`` and ``loan`` (n, K) are read.
    catalog : Catalog
        Prices, unit costs, partnerships; ``risk`` for cost of funds and P2P lenders.
    book : LoanBook, optional
        The loan book (credit on): the performing loan of each credit
        relationship earns interest.  None = no interest (credit off: credit
        products earn their fee like any other).
    holders : list of int arrays, optional
        Per product, the customers holding it (sorted), when already known.

    Returns
    -------
    RelationshipMargins
        Interest is earned on the loans performing at the end of the step.
    """
    K = state.provider.shape[1]
    held = holders if holders is not None else [(state.provider[:, k] >= 0).nonzero()[0] for k in range(K)]
    rel = relationship_cells(state, catalog, held, None, book)
    bounds = np.cumsum([0, *(h.size for h in held)])
    m = int(bounds[-1])
    providers = [state.provider[:, k][who] for k, who in enumerate(held)]
    channels = [state.channel[:, k][who] for k, who in enumerate(held)]
    if K == 1:
        customer, product = held[0], np.zeros(m, dtype=np.int8)
        institution, channel = providers[0], channels[0]
    else:
        customer = np.concatenate(held) if K else np.zeros(0, np.int64)
        product = np.repeat(np.arange(K, dtype=np.int8), np.diff(bounds))
        institution = np.concatenate(providers) if K else np.zeros(0, np.int16)
        channel = np.concatenate(channels) if K else np.zeros(0, np.int8)
    institution, channel = institution.astype(np.int16, copy=False), channel.astype(np.int8, copy=False)
    offer = np.empty(m, dtype=np.int32)
    for k in range(K):
        offer[bounds[k]:bounds[k + 1]] = catalog.offer_of[:, k].take(institution[bounds[k]:bounds[k + 1]])
    # A relationship without a performing loan earns and costs what every other one of its (offer, channel)
    # cell does; those with one are relationship_cells' loan relationships, computed there one by one.
    cells = rel.cells
    code = offer.astype(np.intp)        # an index array of numpy's own index type is not converted at each take
    code *= cells.width
    code += channel
    code += 1
    fee, unit_cost = cells.fee.take(code), cells.unit_cost.take(code)
    revenue_share, share_to, margin = cells.revenue_share.take(code), cells.share_to.take(code), cells.margin.take(code)
    interest, funding = np.zeros(m), np.zeros(m)
    loan_rows = np.concatenate([bounds[k] + np.searchsorted(held[k], loans.customer)
                                for k, loans in enumerate(rel.loans)] or
                               [np.zeros(0, np.int64)])
    if loan_rows.size:
        for part, values in (("interest", interest), ("funding_cost", funding), ("revenue_share", revenue_share),
                             ("margin", margin)):
            values[loan_rows] = np.concatenate([getattr(loans, part) for loans in rel.loans])
    return RelationshipMargins(customer, product, institution, offer, channel, fee, interest, funding, unit_cost,
                               revenue_share, share_to, margin, loan_rows)


def _by_product(relationships: RelationshipCells, catalog, customers: np.ndarray) -> dict[str, np.ndarray]:
    """Each of :data:`MARGIN_PARTS` summed by (institution, product), as (I, K) arrays.

    Fees and unit costs are the same for every holder of an offer, so they
    are counts × the offer's price or unit cost; margins and revenue shares
    are counts × the cell's, plus the loan relationships'; interest and
    funding are the loan relationships' alone.
    """
    I, K = customers.shape
    cells = relationships.cells
    out = {part: np.zeros((I, K)) for part in MARGIN_PARTS}
    offer_of = catalog.offer_of
    for k in range(K):
        offered = offer_of[:, k] >= 0
        offer = np.maximum(offer_of[:, k], 0)
        out["fee"][:, k] = np.where(offered, customers[:, k] * catalog.price[offer], 0.0)
        out["unit_cost"][:, k] = np.where(offered, customers[:, k] * catalog.service_cost[offer], 0.0)
    plain = relationships.plain.sum(axis=3)                        # (K, I, C + 1)
    out["margin"][:] = (plain * cells.provider_margin).sum(axis=2).T
    if cells.shared:
        out["revenue_share"][:] = (plain * cells.provider_share).sum(axis=2).T
    if relationships.has_loans:
        for part in ("margin", "revenue_share", "interest", "funding_cost"):
            for k, total in enumerate(relationships.loan_sum(part, "institution", I)):
                out[part][:, k] += total
    return out


def account(catalog, activations: Activations, churned_from: np.ndarray, relationships: RelationshipCells,
            tier: np.ndarray, marketing_spend: np.ndarray | None = None,
            switched: Activations | None = None) -> Ledger:
    """Compute the step's ledger after the funnel and churn have run.

    Parameters
    ----------
    catalog : Catalog
    activations : Activations of this step through the funnel
    churned_from : int array, institution each lost relationship left (churn and switching)
    relationships : RelationshipCells
        The relationships held at the end of the step
        (:func:`sim.core.adoption.cells.relationship_cells`).
    tier : (n,) int array
        Each customer's city tier index 0..3, for the acquisitions by tier
        (the relationships' tiers are counted in ``relationships``).
    marketing_spend : (I, C) float array, optional
        Yuan spent this step on each paid channel (branch, own app, live
        stream, platform traffic): spend per 1,000 reachable x reachable /
        1,000; zero when not given.
    switched : Activations, optional
        Relationships won by switching this step (counted in ``switched_by_channel``).
    """
    I, C, K = catalog.n_institutions, catalog.n_channels, len(catalog.products)
    rel = relationships
    customers = rel.counts.sum(axis=(2, 3)).T
    by_product = _by_product(rel, catalog, customers)
    interest = by_product["interest"].sum(axis=1)
    revenue = by_product["fee"].sum(axis=1) + interest
    funding_cost = by_product["funding_cost"].sum(axis=1)
    service_cost = by_product["unit_cost"].sum(axis=1)
    revenue_share = by_product["revenue_share"].sum(axis=1)
    tier_margin = rel.plain_margin().sum(axis=(0, 2))
    if rel.has_loans:
        for total in rel.loan_sum("margin", "tier", I * 4):
            tier_margin += total.reshape(I, 4)
    by_tier = {"margin": tier_margin}

    assert (activations.channel >= 0).all(), "an activation has no channel"
    new_inst = catalog.offer_institution[activations.offer].astype(np.int64)
    new_channel = activations.channel.astype(np.int64)
    new_by_product = np.bincount((new_inst * C + new_channel) * K + catalog.offer_product[activations.offer],
                                 minlength=I * C * K).reshape(I, C, K)
    new_tier = tier[activations.customer].astype(np.int64) if activations.customer.size else new_channel
    new_by_tier = np.bincount((new_inst * C + new_channel) * 4 + new_tier, minlength=I * C * 4).reshape(I, C, 4)
    new_by_channel = new_by_product.sum(axis=2)
    switched_by_channel = (_by_channel(switched, catalog) if switched is not None and switched.customer.size
                           else np.zeros((I, C), np.int64))

    spend = np.zeros((I, C)) if marketing_spend is None else np.array(marketing_spend, dtype=float)
    spend[:, Channel.EMPLOYEE] = catalog.employees * catalog.employee_cost
    incentives = (catalog.referral_bonus + catalog.referral_welcome) * new_by_channel[:, Channel.REFERRAL]
    spend[:, Channel.REFERRAL] = incentives

    platform_income = np.zeros(I)
    if rel.cells.shared:
        payee = rel.cells.provider_share_to
        paid = payee >= 0
        shares = rel.plain.sum(axis=3) * rel.cells.provider_share
        platform_income += np.bincount(payee[paid], weights=shares[paid], minlength=I)[:I]
        for loans in rel.loans if rel.has_loans else ():
            to = (loans.share_to >= 0).nonzero()[0]
            if to.size:
                platform_income += np.bincount(loans.share_to[to], weights=loans.revenue_share[to], minlength=I)[:I]
    partners = catalog.partner_active.nonzero()[0]
    if partners.size:
        bank, platform = catalog.partner_bank[partners], catalog.partner_platform[partners]
        channel = catalog.platform_channel(platform)
        fees = catalog.partner_fee[partners] * new_by_channel[bank, channel]
        traffic_spend = spend[bank, channel] + fees       # one partnership per (bank, platform channel)
        # Unbuffered adds, in partnership order: a bank or platform in several partnerships gets each in turn.
        np.add.at(spend, (bank, channel), fees)
        np.add.at(platform_income, catalog.platform_institution[platform], traffic_spend)

    churned = np.bincount(churned_from.astype(np.int64), minlength=I) if churned_from.size else np.zeros(I, np.int64)
    return Ledger(customers, new_by_channel, spend, churned, revenue, revenue_share, platform_income,
                  incentives, service_cost, interest, funding_cost, by_product, by_tier, new_by_product, new_by_tier,
                  switched_by_channel)


def _by_channel(activations: Activations, catalog) -> np.ndarray:
    """(I, C) activations counted by the offer's institution and the channel credited."""
    assert (activations.channel >= 0).all(), "an activation has no channel"
    I, C = catalog.n_institutions, catalog.n_channels
    cell = catalog.offer_institution[activations.offer].astype(np.int64) * C + activations.channel
    return np.bincount(cell, minlength=I * C).reshape(I, C)


def allocate_spend(spend: np.ndarray, new: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Split each (institution, channel) spend over groups (products, tiers) by that channel's acquisitions.

    Parameters
    ----------
    spend : (..., I, C) float array
        Acquisition spend by institution and channel (any leading axes, e.g.
        steps, are kept: each (I, C) block is split on its own).
    new : (..., I, C, G) int array
        Acquisitions by institution, channel and group.
    fallback : (..., I, G) float array
        Weights for a channel that acquired nobody this step (e.g. the
        institution's acquisitions, else its customers, by group); spread
        evenly when those are all zero too.

    Returns
    -------
    (..., I, G) float array
        Spend by group; each row sums to the institution's total spend.
    """
    fallback = np.asarray(fallback, dtype=float)
    even = np.where(fallback.sum(axis=-1, keepdims=True) > 0, fallback, 1.0)
    even = even / even.sum(axis=-1, keepdims=True)
    acquired = new.sum(axis=-1, keepdims=True)
    weights = np.where(acquired > 0, new / np.maximum(acquired, 1), even[..., None, :])
    return (spend[..., None] * weights).sum(axis=-2)

