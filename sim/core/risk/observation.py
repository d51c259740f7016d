"""The step's credit observations, for the recorder (market, institutions, insurers, credit-table counts)."""

from __future__ import annotations

import numpy as np

from sim.core.risk import insurance
from sim.core.risk.credit_state import CreditState, borrowers


def observe(credit_state: CreditState, catalog, state, step: int) -> dict:
    """The credit side at the end of step ``step``, as plain numbers and (I,) / (J,) arrays.

    Returns
    -------
    dict
        ``market`` (numbers), ``institutions`` (per institution),
        ``insurers`` (per insurer) and ``counts`` (the credit table's cells).
    """
    cs, risk, book, acc = credit_state, catalog.risk, credit_state.book, credit_state.accounts
    outstanding = cs.balance.copy()
    loans = int(cs.loan_count.sum())
    n_borrowers = loans if cs.single_product else borrowers(cs, book.customer[book.performing()])
    losses = float(acc.losses.sum())
    covered = cs.covered()
    return {
        "market": {
            "borrowers": n_borrowers,
            "loans": loans,
            "loan_balance": float(outstanding.sum()),
            "new_loans": int(acc.new_loans.sum()),
            "defaulted": int(state.defaulted.sum()),
            "new_defaults": acc.new_defaults,
            "default_rate": acc.new_defaults / acc.borrowers_at_risk if acc.borrowers_at_risk else float("nan"),
            "contagion_defaults": acc.contagion_defaults,
            "threshold_defaults": acc.threshold_defaults,
            "seeded_defaults": acc.seeded_defaults,
            "credit_losses": losses,
            "insured_losses": float(acc.insured_losses.sum()),
            "macro": risk.macro(step),
            "failed_lenders": int(cs.failed.sum()),
            "failed_insurers": int(cs.insurer_failed.sum()),
        },
        "institutions": {
            "loans": cs.loan_count.copy(),
            "loan_balance": outstanding,
            "new_loans": acc.new_loans,
            "applications": acc.applications,
            "approvals": acc.approvals,
            "rejections": acc.rejections,
            "insured_approvals": acc.insured_approvals,
            "repaid": acc.repaid,
            "defaults": acc.defaults,
            "losses": acc.losses,
            "insured_losses": acc.insured_losses,
            "net_losses": acc.losses - acc.insured_losses,
            "interest_income": acc.interest_income,
            "premiums_paid": acc.premiums_paid,
            "bureau_cost": acc.bureau_cost,
            "guarantee_paid": acc.guarantee_paid,
            "credit_profit": acc.credit_profit(risk.is_p2p),
            "investor_funds": np.where(risk.is_p2p, cs.cash + outstanding, 0.0),
            "investor_withdrawals": acc.investor_withdrawals,
            "in_run": cs.in_run.copy(),
            "failed": cs.failed.copy(),
            "risk_weighted_assets": cs.risk_weighted.copy(),
            "cutoff_factor": (cs.cutoff_factor.copy() if cs.cutoff_factor is not None
                              else np.ones(catalog.n_institutions)),
        },
        "insurers": {
            "premiums": acc.premiums,
            "claims": acc.claims_paid,
            "unpaid_claims": acc.claims_unpaid,
            "new_guarantees": acc.new_guarantees,
            "covered_balance": covered,
            "capital": cs.insurer_capital.copy(),
            "writing": insurance.writing(cs.insurer_capital, covered, risk.insurer_floor, cs.insurer_failed),
            "failed": cs.insurer_failed.copy(),
        },
        "counts": cs.counts.copy(),
    }
