"""The risk phase at the start of a step (mechanisms 4, 5, 8): defaults, interest, repayment, runs, renewals.

:func:`settle` runs them in the order of the ODD process overview.  Like
every credit step function it takes the credit state, the parameters, the
customer state, the network adjacency, the model's capital (read, never
changed) and the credit side's generator explicitly.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sim.core.adoption.churn import leave
from sim.core.codes import Stage
from sim.core.risk import credit, insurance, p2p
from sim.core.risk.accounts import AT_RISK
from sim.core.risk.credit_state import CreditState, begin_step
from sim.core.risk.defaults import defaults
from sim.core.risk.lending import mature, originate
from sim.core.risk.underwriting import decide, open_window


def settle(credit_state: CreditState, catalog, state, adjacency: sp.csr_array, capital: np.ndarray, step: int,
           rng: np.random.Generator) -> None:
    """The risk phase of step ``step``: defaults, interest, repayment at term, investor runs, renewals."""
    begin_step(credit_state)
    defaults(credit_state, catalog, state, adjacency, step, rng)
    accrue(credit_state, catalog)
    matured = mature(credit_state, catalog, state, step)
    investors_and_failures(credit_state, catalog, capital)
    open_window(credit_state, catalog, capital)
    renew(credit_state, catalog, state, matured, step, rng)


def accrue(credit_state: CreditState, catalog) -> None:
    """P2P investors' interest on performing loans and premiums on guaranteed ones, for the step.

    Balance-sheet lenders' interest and funding cost are relationship margins
    (:func:`sim.core.adoption.economics.relationship_margin`), booked in the
    ledger at the end of the step.
    """
    cs, risk, acc = credit_state, catalog.risk, credit_state.accounts
    spy = catalog.steps_per_year
    # From the running sums: P2P interest goes to investors (no cost of funds of the platform's).
    investors = np.where(risk.is_p2p, credit.book_interest(cs.rate_balance, cs.balance, 0.0, spy), 0.0)
    acc.interest_income += investors
    cs.cash += investors
    if risk.n_insurers:
        premium = insurance.premiums(cs.premium_balance, 1.0, spy)   # premium_balance = Σ amount × rate
        earned = premium.sum(axis=0)
        paid = premium.sum(axis=1)
        acc.premiums += earned
        cs.insurer_capital += earned
        acc.premiums_paid += paid
        cs.cash -= np.where(risk.is_p2p, paid, 0.0)


def investors_and_failures(credit_state: CreditState, catalog, capital: np.ndarray) -> None:
    """P2P investor flows and runs (SF13); failures of lenders whose capital is gone.

    ``capital`` is the model's; the step's credit profit so far is added to
    it to judge solvency.
    """
    cs, risk, acc = credit_state, catalog.risk, credit_state.accounts
    capital = capital + acc.credit_profit(risk.is_p2p)
    if risk.is_p2p.any():
        alive = risk.is_p2p & ~cs.failed
        at_risk = cs.counts_view(len(catalog.products))[..., AT_RISK].sum(axis=(0, 2, 3))
        rate = np.divide(acc.defaults, at_risk, out=np.zeros(at_risk.size), where=at_risk > 0)
        cs.signal = np.where(alive, p2p.update_signal(cs.signal, rate, risk.p2p_memory), cs.signal)
        failed_share = float(cs.failed[risk.is_p2p].mean())
        alarm = p2p.alarm(cs.signal, failed_share, risk.p2p_failure_weight)
        cs.in_run = alive & (alarm > risk.p2p_trigger)
        cash, withdrawn, illiquid = p2p.investor_flows(cs.cash, cs.outstanding(), cs.in_run,
                                                       risk.p2p_inflow, risk.p2p_withdrawal)
        cs.cash = np.where(alive, cash, cs.cash)
        acc.investor_withdrawals += np.where(alive, withdrawn, 0.0)
        cs.failed |= alive & (illiquid | (capital <= 0))
    cs.failed |= risk.is_lender & ~risk.is_p2p & (capital <= 0)


def renew(credit_state: CreditState, catalog, state, matured: np.ndarray, step: int,
          rng: np.random.Generator) -> None:
    """Borrowers repaid at term apply to the same lender again with the product's renewal chance."""
    if matured.size == 0:
        return
    cs, book, risk = credit_state, credit_state.book, catalog.risk
    c = book.customer[matured]
    k = book.product[matured]
    lender = book.lender[matured]
    renewing = rng.random(matured.size) < risk.loan_renewal[k]
    for product in (np.flatnonzero(risk.is_credit) if cs.single_product else np.unique(k)):
        mine = k == product
        asking = mine & renewing
        customers = c[asking]
        offers = catalog.offer_of[lender[asking], product]
        approved = decide(cs, catalog, state, int(product), customers, offers, state.channel[customers, product], rng)
        originate(cs, catalog, state, customers[approved], offers[approved],
                  state.channel[customers[approved], product], int(product), step)
        refused = customers[~approved]
        leave(state, c[mine & ~renewing], int(product))
        leave(state, refused, int(product))
        state.stage[refused, product] = Stage.REJECTED
