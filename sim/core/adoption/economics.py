"""Mechanism 7, economics: what each institution earns and spends in a step.

Per institution and step: customers (active relationships), acquisitions and
their cost by channel (CAC), revenue, revenue share paid to platforms (the
take rate on revenue from customers acquired through them, SF7), fees per
acquired customer, referral incentives (bonus + welcome packet per referred
customer who becomes active, SF4), service cost, profit.  Platforms earn the
fees and revenue shares banks pay them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.adoption.funnel import Activations
from sim.core.codes import Channel


@dataclass
class Ledger:
    """One step's accounts: arrays over institutions (I) and channels (C)."""

    customers: np.ndarray            # (I, K) active relationships per product
    new_by_channel: np.ndarray       # (I, C) acquisitions
    spend_by_channel: np.ndarray     # (I, C) acquisition spend
    churned: np.ndarray              # (I,)
    revenue: np.ndarray
    revenue_share_paid: np.ndarray
    platform_income: np.ndarray
    incentives: np.ndarray
    service_cost: np.ndarray

    @property
    def new_customers(self) -> np.ndarray:
        return self.new_by_channel.sum(axis=1)

    @property
    def acquisition_spend(self) -> np.ndarray:
        return self.spend_by_channel.sum(axis=1)

    @property
    def cost(self) -> np.ndarray:
        return self.acquisition_spend + self.revenue_share_paid + self.service_cost

    @property
    def margin(self) -> np.ndarray:
        """What the relationships earned: revenue minus service cost minus revenue shared with platforms.

        The sum over an institution's relationships of
        :func:`sim.core.adoption.margin.relationship_margin`.
        """
        return self.revenue - self.service_cost - self.revenue_share_paid

    @property
    def profit(self) -> np.ndarray:
        return self.revenue + self.platform_income - self.cost


def _small_codes(cells: int):
    """The smallest signed integer dtype that holds codes ``0 .. cells - 1``."""
    return np.int16 if cells <= np.iinfo(np.int16).max else np.int64


def holdings(provider: np.ndarray, tier: np.ndarray, n_institutions: int) -> np.ndarray:
    """(I, K, 4) relationships per institution, product and the customer's city tier, one pass per product."""
    n, K = provider.shape
    cells = (n_institutions + 1) * 4
    dtype = _small_codes(cells)
    tier_code = np.asarray(tier).astype(dtype)
    held = np.zeros((n_institutions, K, 4), dtype=np.int64)
    for k in range(K):
        code = provider[:, k].astype(dtype)
        code += 1
        code *= 4
        code += tier_code
        held[:, k] = np.bincount(code, minlength=cells).reshape(n_institutions + 1, 4)[1:]
    return held


def relationship_counts(provider: np.ndarray, channel: np.ndarray, tier: np.ndarray, n_institutions: int,
                        n_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Relationships counted in one pass per product over the customers.

    Returns
    -------
    held : (I, K, 4) int array
        Relationships per institution, product and the customer's city tier (:func:`holdings`).
    via : (I, C, K) int array
        Relationships per institution, channel they came through and product;
        those held before the run (channel -1) are not in it.
    """
    n, K = provider.shape
    cells = (n_institutions + 1) * (n_channels + 1) * 4
    dtype = _small_codes(cells)
    tier_code = np.asarray(tier).astype(dtype)
    held = np.zeros((n_institutions, K, 4), dtype=np.int64)
    via = np.zeros((n_institutions, n_channels, K), dtype=np.int64)
    for k in range(K):
        code = provider[:, k].astype(dtype)
        code += 1
        code *= n_channels + 1
        code += channel[:, k]
        code += 1
        code *= 4
        code += tier_code
        counts = np.bincount(code, minlength=cells).reshape(n_institutions + 1, n_channels + 1, 4)[1:]
        held[:, k] = counts.sum(axis=1)
        via[:, :, k] = counts[:, 1:].sum(axis=2)
    return held, via


def account(state, catalog, activations: Activations, churned_from: np.ndarray,
            customers: np.ndarray, via: np.ndarray | None = None) -> Ledger:
    """Compute the step's ledger after the funnel and churn have run.

    Parameters
    ----------
    state : CustomerState
    catalog : Catalog
    activations : Activations of this step (funnel and switching)
    churned_from : int array, institution each lost relationship left (churn and switching)
    customers : (I, K) int array
        Relationship counts per institution and product (``holdings(...).sum(axis=2)``).
    via : (I, C, K) int array, optional
        Relationships per institution, channel and product (:func:`relationship_counts`);
        counted from ``state`` when not given.
    """
    I, C = catalog.n_institutions, catalog.n_channels
    offer_of = catalog.offer_of
    revenue_each = np.where(offer_of >= 0, catalog.revenue[np.maximum(offer_of, 0)], 0.0)
    service_each = np.where(offer_of >= 0, catalog.service_cost[np.maximum(offer_of, 0)], 0.0)
    revenue = (customers * revenue_each).sum(axis=1)
    service_cost = (customers * service_each).sum(axis=1)

    assert (activations.channel >= 0).all(), "an activation has no channel"
    new_by_channel = np.zeros((I, C), dtype=np.int64)
    new_inst = catalog.offer_institution[activations.offer]
    np.add.at(new_by_channel, (new_inst, activations.channel.astype(np.int64)), 1)

    spend = np.zeros((I, C))
    spend[:, Channel.BRANCH] = catalog.branch_cost
    spend[:, Channel.OWN_APP] = catalog.app_cost
    spend[:, Channel.LIVE_STREAM] = catalog.live_cost
    spend[:, Channel.EMPLOYEE] = np.where(catalog.employees > 0, catalog.employee_cost, 0.0)
    incentives = (catalog.referral_bonus + catalog.referral_welcome) * new_by_channel[:, Channel.REFERRAL]
    spend[:, Channel.REFERRAL] = incentives

    revenue_share = np.zeros(I)
    platform_income = np.zeros(I)
    partners = np.flatnonzero(catalog.partner_active)
    if partners.size:
        if via is None:
            no_tier = np.zeros(state.provider.shape[0], np.int8)
            via = relationship_counts(state.provider, state.channel, no_tier, I, C)[1]
        bank, platform = catalog.partner_bank[partners], catalog.partner_platform[partners]
        channel = catalog.platform_channel(platform)
        traffic_spend = catalog.partner_cost[partners] + catalog.partner_fee[partners] * new_by_channel[bank, channel]
        share = catalog.partner_take[partners] * (via[bank, channel] * revenue_each[bank]).sum(axis=1)
        # Unbuffered adds, in partnership order: a bank or platform in several partnerships gets each in turn.
        np.add.at(spend, (bank, channel), traffic_spend)
        np.add.at(revenue_share, bank, share)
        np.add.at(platform_income, catalog.platform_institution[platform], traffic_spend + share)

    churned = np.bincount(churned_from.astype(np.int64), minlength=I) if churned_from.size else np.zeros(I, np.int64)
    return Ledger(customers, new_by_channel, spend, churned, revenue, revenue_share, platform_income,
                  incentives, service_cost)
