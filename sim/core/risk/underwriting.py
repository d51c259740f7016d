"""Underwriting (mechanism 4): this step's cut-offs and budgets, and the decision on each application.

Functions take the credit state, the parameters (a
:class:`~sim.core.params.Catalog`), the customer state and the credit side's
generator explicitly.
"""

from __future__ import annotations

import numpy as np

from sim.core.adoption.funnel import ApproveFn
from sim.core.risk import capital as capital_rule
from sim.core.risk import credit, insurance
from sim.core.risk.accounts import APPLICATIONS, APPROVALS, CREDIT_MEASURES, INSURED, REJECTIONS
from sim.core.risk.credit_state import CreditState, cells


def inside_community(credit_state: CreditState, risk, lender: np.ndarray, customers: np.ndarray) -> np.ndarray:
    """Loans inside a sanctioning community: community lender and a borrower in a sanctioning community (SF1)."""
    return risk.community_lending[lender] & credit_state.in_sanctioning[customers]


def open_window(credit_state: CreditState, catalog, capital: np.ndarray) -> None:
    """Cut-offs and budgets for this step's applications (after capital, runs and insurer solvency).

    Parameters
    ----------
    credit_state : CreditState
        Its window fields are set.
    catalog : Catalog
        The parameters in force.
    capital : numpy.ndarray
        (I,) the model's capital; the step's credit profit so far is added to it.
    """
    cs, risk = credit_state, catalog.risk
    capital_now = capital + cs.accounts.credit_profit(risk.is_p2p)
    factor = capital_rule.capital_factor(capital_now, cs.risk_weighted, risk.minimum_ratio, risk.capital_target,
                                         risk.tightening)
    factor = np.where(risk.is_lender & ~risk.is_p2p, factor, 1.0)
    cs.cutoff_factor = factor
    cs.offer_cutoff_now = risk.offer_cutoff * factor[catalog.offer_institution]
    cs.offer_log_cutoff = credit.log_cutoff(cs.offer_cutoff_now)
    cs.open = risk.is_lender & ~cs.failed & ~cs.in_run
    cs.lender_budget = np.where(risk.is_p2p, np.maximum(cs.cash, 0.0), np.inf)
    covered = cs.covered()
    cs.insurer_writing = insurance.writing(cs.insurer_capital, covered, risk.insurer_floor, cs.insurer_failed)
    cs.insurer_budget = np.where(cs.insurer_writing,
                                 insurance.capacity(cs.insurer_capital, covered, risk.insurer_floor,
                                                    cs.insurer_failed), 0.0)


def decide(credit_state: CreditState, catalog, state, product: int, customers: np.ndarray, offers: np.ndarray,
           channels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Underwrite applications for ``product``; remember amounts and guarantees of approvals.

    Returns
    -------
    numpy.ndarray
        Bool per application: approved.
    """
    m = customers.size
    if m == 0:
        return np.zeros(0, dtype=bool)
    cs, risk, acc = credit_state, catalog.risk, credit_state.accounts
    k = product
    lender = catalog.offer_institution[offers]
    amount = credit.loan_sizes(risk.loan_mean[k], risk.loan_sd[k], m, rng)
    eligible = cs.open[lender]
    if risk.blacklist:
        eligible &= ~state.defaulted[customers]
    J = risk.n_insurers
    j = risk.lender_insurer[lender]
    insurer_z = np.zeros(m, dtype=np.float32)
    if J:
        j = np.where((j >= 0) & cs.insurer_writing[np.maximum(j, 0)], j, -1)
        partnered = np.flatnonzero(j >= 0)
        insurer_z[partnered] = cs.insurer_z[customers[partnered], j[partnered]]
    decision = credit.underwrite(
        cs.log_hazard[customers], cs.lender_z[customers, lender], risk.noise[lender],
        cs.offer_log_cutoff[offers], eligible, amount, lender, cs.lender_budget,
        j, insurer_z, risk.insurer_noise, credit.log_cutoff(risk.insurer_cutoff), risk.insurer_coverage,
        cs.insurer_budget, rng)
    approved, insured = decision.approved, decision.insured
    cs.lender_budget = cs.lender_budget - cs.per_lender(lender[approved], amount[approved])
    if insured.any():
        ji = j[insured]
        cs.insurer_budget = cs.insurer_budget - cs.per_insurer(ji, risk.insurer_coverage[ji] * amount[insured])
    acc.bureau_cost += cs.per_lender(lender, np.where(risk.bureau[lender], risk.query_cost, 0.0))
    acc.applications += cs.per_lender(lender)
    acc.approvals += cs.per_lender(lender[approved])
    acc.rejections += cs.per_lender(lender[~approved])
    acc.insured_approvals += cs.per_lender(lender[insured])
    cell = cells(cs, k, lender, channels, customers, inside_community(cs, risk, lender, customers))
    M = len(CREDIT_MEASURES)
    index = np.concatenate([cell * M + APPLICATIONS, cell[approved] * M + APPROVALS,
                            cell[~approved] * M + REJECTIONS, cell[insured] * M + INSURED])
    cs.counts += np.bincount(index, minlength=cs.counts.size)
    cs.pending_amount[customers[approved], k] = amount[approved]
    cs.pending_insurer[customers[approved], k] = decision.insurer[approved]
    return approved


def approval(credit_state: CreditState, catalog, state, product: int, rng: np.random.Generator) -> ApproveFn:
    """The funnel's and switching's approval hook for a credit product: underwriting with ``rng``.

    The hook ignores the generator the funnel passes: underwriting draws
    from the credit side's own stream.
    """
    def approve(customers: np.ndarray, offers: np.ndarray, _rng: np.random.Generator) -> np.ndarray:
        return decide(credit_state, catalog, state, product, customers, offers,
                      state.aware_channel[customers, offers], rng)
    return approve


def screen(credit_state: CreditState, catalog, population, customers: np.ndarray, offer: int) -> np.ndarray:
    """Customers the offer's lender would approve on its score alone (for the book held before the run)."""
    risk = catalog.risk
    lender = catalog.offer_institution[offer]
    predicted = credit.predicted_default(population.hazard[customers], risk.noise[lender],
                                         credit_state.lender_z[customers, lender])
    return customers[predicted <= risk.offer_cutoff[offer]]
