"""What the credit side remembers between steps, as one plain state object (mechanisms 4, 5, 8).

:class:`CreditState` holds the loan book, each customer's fixed credit-model
errors and threshold draw, P2P platforms' investor cash and alarm, insurers'
capital, who has failed, running sums over performing loans, and the step's
accounts and credit-table counts.  The step functions of
:mod:`~sim.core.risk.underwriting`, :mod:`~sim.core.risk.lending`,
:mod:`~sim.core.risk.defaults` and :mod:`~sim.core.risk.settlement` move it;
they take the parameters, customer state and generator explicitly, so nothing
here points back to a model.  Capital is never changed here: the model owns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.core.loans import LoanBook
from sim.core.risk import contagion, credit
from sim.core.risk.accounts import CREDIT_MEASURES, N_SEGMENTS, CreditAccounts


@dataclass
class CreditState:
    """The credit side of one run between steps.

    Shapes: ``n`` customers, ``I`` institutions, ``J`` insurers, ``K``
    products.  Arrays named ``*_z`` are each customer's fixed standard-normal
    errors (one applicant, one score per credit model).  ``balance``,
    ``risk_weighted``, ``loan_count``, ``rate_balance``, ``covered_balance``, ``premium_balance``
    and ``cell_loans`` are running sums over performing loans, updated at
    origination and closure (:func:`recount` recomputes them from the book).
    The ``window`` fields (``cutoff_factor`` … ``insurer_budget``) are this
    step's cut-offs and budgets for applications.
    """

    book: LoanBook
    n_institutions: int
    n_insurers: int
    n_channels: int
    single_product: bool                 # one credit product: at most one performing loan per customer
    lender_z: np.ndarray                 # (n, I) float32
    insurer_z: np.ndarray                # (n, J) float32
    phi_z: np.ndarray                    # (n,) float32
    failed: np.ndarray                   # (I,) bool
    in_run: np.ndarray                   # (I,) bool
    cash: np.ndarray                     # (I,) P2P investors' uninvested cash
    signal: np.ndarray                   # (I,) P2P investors' default signal
    insurer_capital: np.ndarray          # (J,)
    insurer_failed: np.ndarray           # (J,) bool
    balance: np.ndarray                  # (I,) Σ amount per lender
    risk_weighted: np.ndarray            # (I,) Σ risk weight × amount per lender (RWA)
    risk_weight: np.ndarray              # (K,) risk weight of each product's loans (fixed for a run)
    loan_count: np.ndarray               # (I,)
    rate_balance: np.ndarray             # (I,) Σ amount × rate per lender
    covered_balance: np.ndarray          # (J,) Σ coverage × amount per live insurer
    premium_balance: np.ndarray          # (I, J) Σ amount × premium rate per lender and live insurer
    cell_loans: np.ndarray               # performing loans per credit-table cell
    pending_amount: np.ndarray           # (n, K) amount of an approved application, until booked
    pending_insurer: np.ndarray          # (n, K) insurer guaranteeing it (-1 none)
    in_sanctioning: np.ndarray           # (n,) lives in a sanctioning community (SF1)
    hazard: np.ndarray                   # (n,) float64 latent hazard
    log_hazard: np.ndarray               # (n,)
    inverse_degree: np.ndarray           # (n,) float32, 0 for isolated customers
    network_degree: np.ndarray           # (n,)
    defaulted_neighbours: np.ndarray     # (n,) int32, kept up to date as customers default
    segment_base: np.ndarray             # (n,) segment index before the "inside" bit
    accounts: CreditAccounts
    counts: np.ndarray                   # the step's credit-table counts, flat
    any_defaulted: bool = False
    maturing: dict[int, list[np.ndarray]] = field(default_factory=dict)   # step -> ids of loans due then
    phi_key: tuple | None = None
    phi: np.ndarray | None = None
    threshold_need: np.ndarray | None = None
    cutoff_factor: np.ndarray | None = None       # (I,) the capital rule's multiplier of cut-offs
    offer_cutoff_now: np.ndarray | None = None
    offer_log_cutoff: np.ndarray | None = None
    open: np.ndarray | None = None
    lender_budget: np.ndarray | None = None
    insurer_writing: np.ndarray | None = None
    insurer_budget: np.ndarray | None = None

    def per_lender(self, index: np.ndarray, weights=None) -> np.ndarray:
        """(I,) sum of ``weights`` (or counts) by lender index."""
        return per(index, weights, self.n_institutions)

    def per_insurer(self, index: np.ndarray, weights=None) -> np.ndarray:
        """(J,) sum of ``weights`` (or counts) by insurer index."""
        return per(index, weights, self.n_insurers)

    def outstanding(self) -> np.ndarray:
        """(I,) outstanding amount of performing loans per lender."""
        return self.balance.copy()

    def covered(self) -> np.ndarray:
        """(J,) covered balance (coverage × guaranteed outstanding amount) of each insurer; 0 once failed."""
        return self.covered_balance.copy()

    def counts_view(self, n_products: int) -> np.ndarray:
        """The step's counts as (K, I, C + 1, segments, measures)."""
        return self.counts.reshape(n_products, self.n_institutions, self.n_channels + 1, N_SEGMENTS,
                                   len(CREDIT_MEASURES))


def per(index: np.ndarray, weights, size: int) -> np.ndarray:
    """``bincount`` of ``index`` to exactly ``size`` bins."""
    return np.bincount(index, weights=weights, minlength=size)[:size]


def new_credit_state(catalog, network, population, state, rng: np.random.Generator) -> CreditState:
    """The credit side at set-up: an empty book, the fixed score errors drawn from ``rng``.

    Parameters
    ----------
    catalog : Catalog
        The run's parameters (``catalog.risk`` the credit side's).
    network : SocialNetwork
        For degrees, adjacency and sanctioning communities.
    population : Population
        Fixed customer attributes (hazard, subprime, life stage, community).
    state : CustomerState
        Read for customers already defaulted.
    rng : numpy.random.Generator
        The credit side's own stream.
    """
    risk = catalog.risk
    n = network.size
    I, K, J = catalog.n_institutions, len(catalog.products), risk.n_insurers
    book = LoanBook()
    book.reserve(2 * n * max(int(np.count_nonzero(risk.is_credit)), 1))
    lender_z = rng.standard_normal((n, I), dtype=np.float32)
    insurer_z = rng.standard_normal((n, J), dtype=np.float32)
    phi_z = rng.standard_normal(n, dtype=np.float32)
    degree = network.degree
    inverse_degree = np.divide(1.0, degree, out=np.zeros(n), where=degree > 0)
    cells = K * I * (catalog.n_channels + 1) * N_SEGMENTS
    return CreditState(
        book=book, n_institutions=I, n_insurers=J, n_channels=catalog.n_channels,
        single_product=int(np.count_nonzero(risk.is_credit)) == 1,
        lender_z=lender_z, insurer_z=insurer_z, phi_z=phi_z,
        failed=np.zeros(I, dtype=bool), in_run=np.zeros(I, dtype=bool),
        cash=risk.p2p_funding * n, signal=np.zeros(I),
        insurer_capital=np.zeros(J), insurer_failed=np.zeros(J, dtype=bool),
        balance=np.zeros(I), risk_weighted=np.zeros(I), risk_weight=risk.loan_risk_weight.copy(),
        loan_count=np.zeros(I, dtype=np.int64), rate_balance=np.zeros(I),
        covered_balance=np.zeros(J), premium_balance=np.zeros((I, J)), cell_loans=np.zeros(cells),
        pending_amount=np.zeros((n, K)), pending_insurer=np.full((n, K), -1, dtype=np.int16),
        in_sanctioning=network.sanctioning[population.community],
        hazard=population.hazard.astype(np.float64), log_hazard=credit.log_hazard(population.hazard),
        inverse_degree=inverse_degree.astype(np.float32), network_degree=degree,
        defaulted_neighbours=contagion.defaulted_neighbours(network.adjacency, state.defaulted).astype(np.int32),
        segment_base=population.subprime * 6 + population.life_stage * 2,
        accounts=CreditAccounts.zeros(I, J),
        counts=np.zeros(cells * len(CREDIT_MEASURES), dtype=np.float64),
        any_defaulted=bool(state.defaulted.any()),
    )


def begin_step(credit_state: CreditState) -> None:
    """Reset the step's accounts and counts."""
    credit_state.accounts = CreditAccounts.zeros(credit_state.n_institutions, credit_state.n_insurers)
    credit_state.counts[:] = 0.0


def cells(credit_state: CreditState, product, lender, channel, customers, inside) -> np.ndarray:
    """Row key of the credit table: (product, lender, channel or 'none', segment)."""
    C1 = credit_state.n_channels + 1
    ch = np.where(channel >= 0, channel, C1 - 1)
    seg = credit_state.segment_base[customers] + inside
    return ((np.asarray(product, dtype=np.int64) * credit_state.n_institutions + lender) * C1 + ch) * N_SEGMENTS + seg


def count(credit_state: CreditState, measure: int, cell: np.ndarray, weights=None) -> None:
    """Add to one measure of the step's credit-table counts."""
    index = cell * len(CREDIT_MEASURES) + measure
    credit_state.counts += np.bincount(index, weights=weights, minlength=credit_state.counts.size)


def borrowers(credit_state: CreditState, customers: np.ndarray) -> int:
    """Distinct customers among the borrowers of performing loans ``customers``."""
    if credit_state.single_product:
        return int(customers.size)   # one loan per customer and product
    seen = np.zeros(credit_state.hazard.size, dtype=bool)
    seen[customers] = True
    return int(np.count_nonzero(seen))


def book_sums(credit_state: CreditState, ids: np.ndarray, sign: float) -> None:
    """Add (+1) or remove (−1) loans ``ids`` from the running sums over performing loans."""
    cs, book = credit_state, credit_state.book
    lender, amount = book.lender[ids], book.amount[ids]
    cs.balance += sign * cs.per_lender(lender, amount)
    cs.risk_weighted += sign * cs.per_lender(lender, amount * cs.risk_weight[book.product[ids]])
    cs.loan_count += int(sign) * cs.per_lender(lender)
    cs.cell_loans += sign * np.bincount(book.cell[ids], minlength=cs.cell_loans.size)
    cs.rate_balance += sign * cs.per_lender(lender, amount * book.rate[ids])
    # A lender whose last loan closed holds exactly nothing (no rounding residue in the sums).
    empty = cs.loan_count == 0
    cs.balance[empty] = 0.0
    cs.risk_weighted[empty] = 0.0
    cs.rate_balance[empty] = 0.0
    j = book.insurer[ids]
    live = j >= 0
    if live.any():
        live[live] = ~cs.insurer_failed[j[live]]
        J = cs.n_insurers
        cs.covered_balance += sign * cs.per_insurer(j[live], book.coverage[ids][live] * amount[live])
        premium = amount[live] * book.premium_rate[ids][live]
        cell = lender[live] * J + j[live]
        cs.premium_balance += sign * np.bincount(cell, premium, minlength=cs.premium_balance.size).reshape(
            cs.premium_balance.shape)


def recount(credit_state: CreditState) -> dict[str, np.ndarray]:
    """The running sums recomputed from the book (a check on them)."""
    cs, book = credit_state, credit_state.book
    ids = book.performing()
    lender, amount, j = book.lender[ids], book.amount[ids], book.insurer[ids]
    live = j >= 0
    live[live] = ~cs.insurer_failed[j[live]]
    premium = np.zeros_like(cs.premium_balance)
    np.add.at(premium, (lender[live], j[live]), amount[live] * book.premium_rate[ids][live])
    cell_loans = np.bincount(book.cell[ids], minlength=cs.cell_loans.size).astype(float)
    covered = cs.per_insurer(j[live], amount[live] * book.coverage[ids][live])
    return {"balance": cs.per_lender(lender, amount),
            "risk_weighted": cs.per_lender(lender, amount * cs.risk_weight[book.product[ids]]),
            "loan_count": cs.per_lender(lender), "cell_loans": cell_loans,
            "rate_balance": cs.per_lender(lender, amount * book.rate[ids]),
            "covered_balance": covered, "premium_balance": premium}
