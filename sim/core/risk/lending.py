"""The loan book's flows (mechanisms 4, 5): originate loans, repay them at term or early.

Functions take the credit state, the parameters (a
:class:`~sim.core.params.Catalog`), the customer state and, where they draw,
the credit side's generator explicitly.
"""

from __future__ import annotations

import numpy as np

from sim.core.adoption.funnel import Activations
from sim.core.codes import NO_LOAN, LoanStatus
from sim.core.risk import credit
from sim.core.risk.accounts import CreditAccounts
from sim.core.risk.capital import starting_capital
from sim.core.risk.credit_state import CreditState, book_sums, cells
from sim.core.risk.underwriting import inside_community, open_window


def repay(credit_state: CreditState, catalog, state, ids: np.ndarray, step: int) -> None:
    """Close performing loans as repaid: at term, or early when the borrower leaves or refinances."""
    if ids.size == 0:
        return
    cs, book, risk = credit_state, credit_state.book, catalog.risk
    lender = book.lender[ids]
    book_sums(cs, ids, -1.0)
    book.close(ids, LoanStatus.REPAID, step)
    state.loan[book.customer[ids], book.product[ids]] = NO_LOAN
    cs.accounts.repaid += cs.per_lender(lender)
    on_p2p = risk.is_p2p[lender]
    if on_p2p.any():
        cs.cash += cs.per_lender(lender[on_p2p], book.amount[ids][on_p2p])


def prepay(credit_state: CreditState, catalog, state, customers: np.ndarray, product: int, step: int) -> None:
    """Borrowers who left their lender (churn) repay early."""
    if not catalog.risk.is_credit[product] or customers.size == 0:
        return
    ids = state.loan[customers, product]
    repay(credit_state, catalog, state, ids[ids >= 0], step)


def mature(credit_state: CreditState, catalog, state, step: int) -> np.ndarray:
    """Repay the loans that reach term; return their ids (the customers may renew)."""
    maturing, book = credit_state.maturing, credit_state.book
    scheduled = [maturing.pop(t) for t in sorted(t for t in maturing if t <= step)]
    due = np.concatenate([part for parts in scheduled for part in parts]) if scheduled else np.zeros(0, np.int64)
    due = np.sort(due[book.status[due] == LoanStatus.PERFORMING])
    repay(credit_state, catalog, state, due, step)
    return due


def originate(credit_state: CreditState, catalog, state, customers: np.ndarray, offers: np.ndarray,
              channels: np.ndarray, product: int, step: int, amounts: np.ndarray | None = None,
              maturity: np.ndarray | None = None, insurers: np.ndarray | None = None) -> np.ndarray:
    """Book loans for approved customers of ``product`` (amounts and guarantees from underwriting).

    A customer's performing loan of the same product is repaid first
    (refinancing).  Returns the new loans' ids.
    """
    if customers.size == 0:
        return np.zeros(0, dtype=np.int64)
    cs, risk = credit_state, catalog.risk
    k = product
    old = state.loan[customers, k]
    repay(cs, catalog, state, old[old >= 0], step)
    lender = catalog.offer_institution[offers]
    amount = cs.pending_amount[customers, k] if amounts is None else amounts
    insurer = cs.pending_insurer[customers, k] if insurers is None else insurers
    inside = inside_community(cs, risk, lender, customers)
    guaranteed = insurer >= 0
    written = np.maximum(insurer, 0)
    coverage = np.where(guaranteed, risk.insurer_coverage[written], 0.0) if risk.n_insurers else 0.0
    premium_rate = np.where(guaranteed, risk.insurer_premium[written], 0.0) if risk.n_insurers else 0.0
    ids = cs.book.originate(
        customer=customers, product=k, lender=lender, insurer=insurer, channel=channels, inside=inside,
        amount=amount, rate=risk.offer_rate[offers], start=step,
        maturity=step + risk.loan_term[k] if maturity is None else maturity,
        cell=cells(cs, k, lender, channels, customers, inside), coverage=coverage, premium_rate=premium_rate,
        hazard=cs.hazard[customers])
    state.loan[customers, k] = ids
    cs.accounts.new_loans += cs.per_lender(lender)
    book_sums(cs, ids, +1.0)
    if maturity is None:
        cs.maturing.setdefault(int(step + risk.loan_term[k]), []).append(ids)
    else:
        for t in np.unique(maturity):
            cs.maturing.setdefault(int(t), []).append(ids[maturity == t])
    on_p2p = risk.is_p2p[lender]
    if on_p2p.any():
        cs.cash -= cs.per_lender(lender[on_p2p], amount[on_p2p])
    if guaranteed.any():
        cs.accounts.new_guarantees += cs.per_insurer(insurer[guaranteed])
    cs.pending_insurer[customers, k] = -1
    return ids


def book_activations(credit_state: CreditState, catalog, state, activations: Activations, step: int) -> None:
    """Originate the loans of this step's new credit relationships (refinancing repays the old loan)."""
    product = catalog.offer_product[activations.offer]
    for k in np.flatnonzero(catalog.risk.is_credit):
        mine = product == k
        if mine.any():
            originate(credit_state, catalog, state, activations.customer[mine], activations.offer[mine],
                      activations.channel[mine], int(k), step)


def book_initial(credit_state: CreditState, catalog, state, rng: np.random.Generator, start: int = 0) -> np.ndarray:
    """Loans of the credit relationships held before the run (seasoned, maturing over one term), and capital.

    ``start`` is the step of the set-up (``-time.burn_in``): the loans date
    from it and mature within one term of it.  Then sizes the lenders' and
    insurers' capital to the book (:func:`sim.core.risk.capital.starting_capital`;
    insurers' is set in ``credit_state``) and opens the first step's window.

    Returns
    -------
    numpy.ndarray
        (I,) each institution's capital at step 0.
    """
    cs, risk = credit_state, catalog.risk
    for k in np.flatnonzero(risk.is_credit):
        customers = np.flatnonzero((state.provider[:, k] >= 0) & (state.loan[:, k] < 0))
        if customers.size == 0:
            continue
        lender = state.provider[customers, k]
        offers = catalog.offer_of[lender, k]
        amount = credit.loan_sizes(risk.loan_mean[k], risk.loan_sd[k], customers.size, rng)
        # A P2P platform's book held before the run cannot exceed its investors' funds.
        for i in np.unique(lender[risk.is_p2p[lender]]):
            mine = lender == i
            total = amount[mine].sum()
            if total > cs.cash[i]:
                amount[mine] *= cs.cash[i] / total
        maturity = start + rng.integers(1, risk.loan_term[k] + 1, size=customers.size)
        originate(cs, catalog, state, customers, offers, np.full(customers.size, -1, dtype=np.int8), int(k), start,
                  amounts=amount, maturity=maturity, insurers=np.full(customers.size, -1, dtype=np.int16))
    cs.accounts = CreditAccounts.zeros(catalog.n_institutions, risk.n_insurers)
    capital, cs.insurer_capital = starting_capital(catalog, cs.balance, cs.risk_weighted, state.provider.shape[0])
    open_window(cs, catalog, capital)
    return capital
