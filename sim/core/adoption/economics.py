"""Mechanism 7, economics: what each institution earns and spends in a step.

Per institution and step: customers (active relationships), acquisitions and
their cost by channel (CAC), revenue, revenue share paid to platforms (the
take rate on revenue from customers acquired through them, SF7), fees per
acquired customer, referral incentives (bonus + welcome packet per referred
customer who becomes active, SF4), service cost, profit.  Platforms earn the
traffic spend, fees and revenue shares banks pay them.

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

from sim.core.adoption.funnel import Activations
from sim.core.codes import Channel


@dataclass
class Ledger:
    """One step's accounts: arrays over institutions (I) and channels (C)."""

    customers: np.ndarray            # (I, K) active relationships per product
    new_by_channel: np.ndarray       # (I, C) acquisitions through the funnel
    spend_by_channel: np.ndarray     # (I, C) acquisition spend
    churned: np.ndarray              # (I,)
    revenue: np.ndarray
    revenue_share_paid: np.ndarray
    platform_income: np.ndarray
    incentives: np.ndarray
    service_cost: np.ndarray
    switched_by_channel: np.ndarray | None = None   # (I, C) relationships won by switching

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
            customers: np.ndarray, via: np.ndarray | None = None, marketing_spend: np.ndarray | None = None,
            switched: Activations | None = None) -> Ledger:
    """Compute the step's ledger after the funnel and churn have run.

    Parameters
    ----------
    state : CustomerState
    catalog : Catalog
    activations : Activations of this step through the funnel
    churned_from : int array, institution each lost relationship left (churn and switching)
    customers : (I, K) int array
        Relationship counts per institution and product (``holdings(...).sum(axis=2)``).
    via : (I, C, K) int array, optional
        Relationships per institution, channel and product (:func:`relationship_counts`);
        counted from ``state`` when not given.
    marketing_spend : (I, C) float array, optional
        Yuan spent this step on each paid channel (branch, own app, live
        stream, platform traffic): spend per 1,000 reachable x reachable /
        1,000; zero when not given.
    switched : Activations, optional
        Relationships won by switching this step (counted in ``switched_by_channel``).
    """
    I, C = catalog.n_institutions, catalog.n_channels
    offer_of = catalog.offer_of
    revenue_each = np.where(offer_of >= 0, catalog.revenue[np.maximum(offer_of, 0)], 0.0)
    service_each = np.where(offer_of >= 0, catalog.service_cost[np.maximum(offer_of, 0)], 0.0)
    revenue = (customers * revenue_each).sum(axis=1)
    service_cost = (customers * service_each).sum(axis=1)

    new_by_channel = _by_channel(activations, catalog)
    switched_by_channel = _by_channel(switched, catalog) if switched is not None else np.zeros((I, C), np.int64)

    spend = np.zeros((I, C)) if marketing_spend is None else np.array(marketing_spend, dtype=float)
    spend[:, Channel.EMPLOYEE] = catalog.employees * catalog.employee_cost
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
        fees = catalog.partner_fee[partners] * new_by_channel[bank, channel]
        traffic_spend = spend[bank, channel] + fees       # one partnership per (bank, platform channel)
        share = catalog.partner_take[partners] * (via[bank, channel] * revenue_each[bank]).sum(axis=1)
        # Unbuffered adds, in partnership order: a bank or platform in several partnerships gets each in turn.
        np.add.at(spend, (bank, channel), fees)
        np.add.at(revenue_share, bank, share)
        np.add.at(platform_income, catalog.platform_institution[platform], traffic_spend + share)

    churned = np.bincount(churned_from.astype(np.int64), minlength=I) if churned_from.size else np.zeros(I, np.int64)
    return Ledger(customers, new_by_channel, spend, churned, revenue, revenue_share, platform_income,
                  incentives, service_cost, switched_by_channel)


def _by_channel(activations: Activations, catalog) -> np.ndarray:
    """(I, C) activations counted by the offer's institution and the channel credited."""
    assert (activations.channel >= 0).all(), "an activation has no channel"
    counts = np.zeros((catalog.n_institutions, catalog.n_channels), dtype=np.int64)
    np.add.at(counts, (catalog.offer_institution[activations.offer], activations.channel.astype(np.int64)), 1)
    return counts
