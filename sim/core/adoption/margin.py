"""What one relationship earns an institution in one step (its margin), per customer.

The one place the per-relationship margin is defined: the cohort accounts
(:mod:`sim.core.adoption.cohorts`) take its output as their input, and its
sum over an institution's relationships is the ledger's margin
(:attr:`sim.core.adoption.economics.Ledger.margin`) to float rounding.
"""

from __future__ import annotations

import numpy as np


def partner_take(catalog) -> np.ndarray:
    """(I, C) share of revenue each institution pays for relationships acquired through each channel.

    The take rates of the active partnerships, added up per (bank, platform
    channel) as the ledger adds them; zero for every other channel.
    """
    take = np.zeros((catalog.n_institutions, catalog.n_channels))
    partners = np.flatnonzero(catalog.partner_active)
    if partners.size:
        bank, platform = catalog.partner_bank[partners], catalog.partner_platform[partners]
        np.add.at(take, (bank, catalog.platform_channel(platform)), catalog.partner_take[partners])
    return take


def relationship_margin(state, catalog, customers: np.ndarray, product: int) -> np.ndarray:
    """Margin this step of each customer's current relationship for ``product``.

    Revenue minus service cost of the offer the customer holds, minus the
    take rate's share of that revenue paid to a platform when the
    relationship came through a partner platform (today's economics,
    :func:`sim.core.adoption.economics.account`).

    Parameters
    ----------
    state : CustomerState
    catalog : Catalog
    customers : int array
        Customers holding ``product`` (``state.provider[customers, product] >= 0``).
    product : int
        Product index.

    Returns
    -------
    numpy.ndarray
        Float (len(customers),), yuan this step, aligned with ``customers``.
    """
    provider = state.provider[customers, product].astype(np.int64)
    channel = state.channel[customers, product].astype(np.int64)
    offer = catalog.offer_of[provider, product]
    revenue = catalog.revenue[offer]
    margin = revenue - catalog.service_cost[offer]
    via = channel >= 0
    if via.any():
        take = partner_take(catalog)
        margin[via] -= take[provider[via], channel[via]] * revenue[via]
    return margin
