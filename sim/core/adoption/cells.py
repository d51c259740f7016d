"""The step's relationships counted by cell: what the ledger, the cohort book and the decisions aggregate.

A relationship without a performing loan earns what every other one of its
(offer, entry channel) earns: its offer's fee, less its unit cost and the
revenue share of a partner platform it came through.  So the step's
relationships are counted once, by cell — (product, provider, entry channel,
the customer's city tier) — and every sum of margins is counts × the cell's
margin; only the relationships with a performing loan (credit on) are kept
one by one, with their interest, funding cost, revenue share and margin.

A sum over relationships is then one product per cell instead of a running
sum over the holders, so it can differ from one in the last digits (a few
1e-16 of it per relationship summed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def partner_take(catalog) -> tuple[np.ndarray, np.ndarray]:
    """(I, C) take rate an institution pays on revenue from relationships of each channel, and (C,) payee.

    Active partnerships only; a bank with several partnerships with one
    platform pays each take rate.  The payee of channel ``c`` is the platform
    institution behind it (-1 for the fixed channels).
    """
    take = np.zeros((catalog.n_institutions, catalog.n_channels))
    payee = np.full(catalog.n_channels, -1, dtype=np.int64)
    F = catalog.n_channels - len(catalog.platform_ids)
    payee[F:] = catalog.platform_institution
    active = catalog.partner_active.nonzero()[0]
    if active.size:
        channel = F + catalog.partner_platform[active].astype(np.int64)
        np.add.at(take, (catalog.partner_bank[active], channel), catalog.partner_take[active])
    return take, payee


class CellMargins:
    """A relationship's economics without a loan, per (offer, channel) cell: ``offer x width + channel + 1``.

    Each entry is computed as :func:`sim.core.adoption.economics.relationship_margin`
    computes a relationship's (interest and funding 0.0): ``gross = fee + 0.0``,
    ``revenue_share = take rate x gross``, ``margin = gross - unit_cost - revenue_share``.
    The same tables by (product, provider, channel + 1) are ``by_provider``
    (0.0 and payee -1 where the provider has no offer of the product).
    """

    _last: tuple[tuple, CellMargins] | None = None      # the tables of the last catalog seen, by its inputs

    @classmethod
    def of(cls, catalog) -> CellMargins:
        """The tables for ``catalog``, built again only when one of their inputs differs from the last call's."""
        key = (catalog.n_channels, len(catalog.platform_ids),
               *(a.tobytes() for a in (catalog.price, catalog.service_cost, catalog.offer_institution,
                                       catalog.offer_of, catalog.partner_active, catalog.partner_bank,
                                       catalog.partner_platform, catalog.partner_take,
                                       catalog.platform_institution)))
        last = cls._last
        if last is not None and last[0] == key:
            return last[1]
        cells = cls(catalog)
        cls._last = (key, cells)
        return cells

    def __init__(self, catalog) -> None:
        take, payee = partner_take(catalog)
        C = catalog.n_channels
        F = C - len(catalog.platform_ids)
        self.width = C + 1
        offers = np.arange(catalog.n_offers)
        channel = np.arange(-1, C)
        inst = catalog.offer_institution[offers]
        self.rate = np.zeros((offers.size, self.width))
        self.rate[:, 1 + F:] = take[inst][:, F:]
        fee = np.repeat(catalog.price[offers].astype(float), self.width).reshape(offers.size, self.width)
        unit_cost = np.repeat(catalog.service_cost[offers].astype(float), self.width).reshape(offers.size, self.width)
        gross = fee + 0.0
        revenue_share = self.rate * gross
        margin = gross - unit_cost - revenue_share
        share_to = np.where(self.rate > 0, np.where(channel >= 0, payee[np.maximum(channel, 0)], -1)[None, :], -1)
        self.shared = bool((share_to >= 0).any())
        self.rate, self.fee, self.unit_cost = self.rate.reshape(-1), fee.reshape(-1), unit_cost.reshape(-1)
        self.revenue_share, self.margin = revenue_share.reshape(-1), margin.reshape(-1)
        self.share_to = share_to.astype(np.int64).reshape(-1)
        # (K, I, C + 1): the offer of each (product, provider), its tables gathered; nothing where none is offered.
        offer_of = catalog.offer_of.T                          # (K, I)
        offered = (offer_of >= 0)[:, :, None]
        code = np.maximum(offer_of, 0)[:, :, None] * self.width + np.arange(self.width)
        self.provider_margin = np.where(offered, self.margin[code], 0.0)
        self.provider_share = np.where(offered, self.revenue_share[code], 0.0)
        self.provider_share_to = np.where(offered, self.share_to[code], -1)


@dataclass
class LoanRelationships:
    """One product's relationships with a performing loan (not P2P): whose they are, what they earn.

    Arrays aligned with ``customer`` (ascending); money in yuan for the
    step, computed as :func:`sim.core.adoption.economics.relationship_margin`
    computes a loan relationship's.
    """

    customer: np.ndarray
    institution: np.ndarray
    cell: np.ndarray            # (provider, channel + 1, tier) code, as in :attr:`RelationshipCells.counts`
    interest: np.ndarray
    funding_cost: np.ndarray
    revenue_share: np.ndarray
    share_to: np.ndarray
    margin: np.ndarray


@dataclass
class RelationshipCells:
    """The step's relationships: counted by cell, with the loan relationships one by one.

    Attributes
    ----------
    counts : (K, I, C + 1, 4) int array
        Relationships by product, provider, entry channel + 1 (0: held before
        the run) and the customer's city tier.
    plain : (K, I, C + 1, 4) int array
        Those without a performing loan: each earns its cell's margin.
    loans : list of LoanRelationships
        Per product, the relationships with a performing loan (none when
        credit is off or the product is not credit).
    cells : CellMargins
        The cell margins of the catalog in force.
    """

    counts: np.ndarray
    plain: np.ndarray
    loans: list[LoanRelationships]
    cells: CellMargins

    @property
    def held(self) -> np.ndarray:
        """(I, K, 4) relationships by provider, product and city tier."""
        return self.counts.sum(axis=2).transpose(1, 0, 2)

    @property
    def via(self) -> np.ndarray:
        """(I, C, K) relationships by provider, entry channel and product (those held before the run left out)."""
        return self.counts.sum(axis=3)[:, :, 1:].transpose(1, 2, 0)

    @property
    def has_loans(self) -> bool:
        """Whether any relationship has a performing loan."""
        return any(loans.customer.size for loans in self.loans)

    def plain_margin(self) -> np.ndarray:
        """(K, I, C + 1, 4) margin of the relationships without a performing loan, by cell."""
        return self.plain * self.cells.provider_margin[..., None]

    def loan_sum(self, part: str, by: str, size: int) -> list[np.ndarray]:
        """Per product, ``part`` (e.g. ``margin``) of the loan relationships summed by ``by``, a (size,) array each.

        ``by``: ``institution`` (index ``i``), ``tier`` (``i x 4 + tier``) or
        ``channel`` (``i x (C + 1) + channel + 1``).
        """
        tiers, out = 4, []
        for loans in self.loans:
            if by == "institution":
                key = loans.institution
            elif by == "tier":
                key = loans.institution.astype(np.int64) * tiers + loans.cell % tiers
            elif by == "channel":
                key = loans.cell // tiers
            else:
                raise ValueError(f"loan_sum: by must be institution, tier or channel, got {by!r}")
            out.append(np.bincount(key, weights=getattr(loans, part), minlength=size)[:size] if key.size
                       else np.zeros(size))
        return out


def cell_codes(provider: np.ndarray, channel: np.ndarray, tier: np.ndarray | None, width: int) -> np.ndarray:
    """(provider, channel + 1, tier) cell of relationships, ``(provider x width + channel + 1) x 4 + tier``."""
    code = provider.astype(np.intp)
    code *= width
    code += channel
    code += 1
    code *= 4
    if tier is not None:
        code += tier
    return code


def relationship_cells(state, catalog, holders: list[np.ndarray], tier: np.ndarray | None,
                       book=None) -> RelationshipCells:
    """Count the relationships held now by cell from ``state``, and read the performing loans one by one.

    Parameters
    ----------
    state : CustomerState
        ``provider``, ``channel`` and ``loan`` (n, K) are read.
    catalog : Catalog
    holders : list of int arrays
        Per product, the customers holding it (sorted).
    tier : (n,) int array or None
        Each customer's city tier index 0..3 (None: every relationship is
        counted in tier 0, for a caller that does not split by tier).
    book : LoanBook, optional
        The loan book when credit is on: a credit relationship's performing
        loan earns interest and costs funding.
    """
    cells = CellMargins.of(catalog)
    size = catalog.n_institutions * cells.width * 4
    counts = np.zeros((len(holders), catalog.n_institutions, cells.width, 4), dtype=np.int64)
    for k, who in enumerate(holders):
        code = cell_codes(state.provider[:, k][who], state.channel[:, k][who], None if tier is None else tier[who],
                          cells.width)
        counts[k] = np.bincount(code, minlength=size).reshape(counts.shape[1:])
    return counted_cells(counts, state, catalog, tier, book)


def counted_cells(counts: np.ndarray, state, catalog, tier: np.ndarray | None, book=None) -> RelationshipCells:
    """The relationships counted by cell (``counts``, (K, I, C + 1, 4)), with the performing loans read one by one.

    ``counts`` are those of :func:`relationship_cells` (e.g. a
    :class:`sim.core.adoption.tally.RelationshipTally`'s); the loans are
    read from ``state.loan`` and ``book`` as there.
    """
    cells = CellMargins.of(catalog)
    C1 = cells.width
    plain = counts.copy()
    risk = catalog.risk
    with_loans = book is not None and state.loan is not None
    spy = catalog.steps_per_year
    loans = []
    for k in range(counts.shape[0]):
        customer = np.zeros(0, np.int64)
        if with_loans and risk.is_credit[k]:
            borrowers = (state.loan[:, k] >= 0).nonzero()[0]
            provider = state.provider[:, k][borrowers]
            customer = borrowers[(provider >= 0) & ~risk.is_p2p[np.maximum(provider, 0)]]
        if customer.size == 0:
            loans.append(_no_loans())
            continue
        inst = state.provider[:, k][customer]
        channel = state.channel[:, k][customer]
        ids = state.loan[:, k][customer].astype(np.intp)
        amount = book.amount[ids]
        interest = amount * book.rate[ids] / spy
        funding = amount * risk.cost_of_funds[inst] / spy
        cell_code = catalog.offer_of[:, k].take(inst).astype(np.intp) * C1 + channel + 1
        gross = cells.fee[cell_code] + interest
        shares = cells.rate[cell_code] * gross
        margin = (gross - funding) - cells.unit_cost[cell_code] - shares
        loan_cell = cell_codes(inst, channel, None if tier is None else tier[customer], C1)
        plain[k] = (counts[k].reshape(-1) - np.bincount(loan_cell, minlength=counts[k].size)).reshape(counts.shape[1:])
        loans.append(LoanRelationships(customer, inst, loan_cell, interest, funding, shares,
                                       cells.share_to[cell_code], margin))
    return RelationshipCells(counts, plain, loans, cells)


def _no_loans() -> LoanRelationships:
    empty, none = np.zeros(0, np.int64), np.zeros(0)
    return LoanRelationships(empty, empty, empty, none, none, none, empty, none)
