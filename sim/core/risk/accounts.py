"""One step's credit flows and the measures of the ``credit`` table (mechanisms 4, 5, 8)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

#: Measures of the ``credit`` table, per (product, lender, channel, segment) and step.
#: ``expected_defaults`` is the sum over the loans at risk of the probability that each defaults
#: this step, given the state before the draw (seeded defaults excluded): ``defaults`` without
#: its Bernoulli noise, so expected_defaults / loans_at_risk estimates the default rate unbiasedly.
CREDIT_MEASURES = ("applications", "approvals", "rejections", "insured", "loans_at_risk", "defaults", "losses",
                   "expected_defaults")
APPLICATIONS, APPROVALS, REJECTIONS, INSURED, AT_RISK, DEFAULTS, LOSSES, EXPECTED_DEFAULTS = range(len(CREDIT_MEASURES))
#: Segments: subprime (2) × life stage (3) × loan inside a sanctioning community (2).
N_SEGMENTS = 12

_PER_INSURER = ("premiums", "claims_paid", "claims_unpaid", "new_guarantees")
_COUNTS = ("applications", "approvals", "rejections", "insured_approvals", "new_loans", "repaid", "defaults",
           "new_guarantees")


@dataclass
class CreditAccounts:
    """One step's credit flows: per institution (I), per insurer (J), and market counts."""

    applications: np.ndarray
    approvals: np.ndarray
    rejections: np.ndarray
    insured_approvals: np.ndarray
    new_loans: np.ndarray
    repaid: np.ndarray
    defaults: np.ndarray
    losses: np.ndarray
    insured_losses: np.ndarray
    interest_income: np.ndarray        # P2P: interest earned for the investors (balance-sheet lenders: ledger)
    premiums_paid: np.ndarray
    bureau_cost: np.ndarray
    guarantee_paid: np.ndarray
    investor_withdrawals: np.ndarray
    premiums: np.ndarray               # (J,) earned by insurers
    claims_paid: np.ndarray            # (J,)
    claims_unpaid: np.ndarray          # (J,) due but not paid (insurer failed)
    new_guarantees: np.ndarray         # (J,) loans guaranteed this step
    new_defaults: int = 0              # customers defaulting this step
    contagion_defaults: int = 0
    threshold_defaults: int = 0
    seeded_defaults: int = 0
    borrowers_at_risk: int = 0

    @classmethod
    def zeros(cls, institutions: int, insurers: int) -> CreditAccounts:
        """Accounts of a step with no flows yet."""
        arrays = {}
        for f in fields(cls):
            if f.type == "np.ndarray":
                size = insurers if f.name in _PER_INSURER else institutions
                arrays[f.name] = np.zeros(size, dtype=np.int64 if f.name in _COUNTS else np.float64)
        return cls(**arrays)

    def credit_profit(self, is_p2p: np.ndarray) -> np.ndarray:
        """What the step's lending adds to each institution's capital.

        Balance-sheet lenders: − (losses − insured losses) − premiums −
        bureau queries (their interest and funding cost are relationship
        margins, in the ledger: :func:`sim.core.adoption.economics.relationship_margin`).
        P2P platforms lend investors' money: only the guarantee they pay and
        their bureau queries touch their capital.
        """
        balance_sheet = -(self.losses - self.insured_losses) - self.premiums_paid - self.bureau_cost
        return np.where(is_p2p, -self.guarantee_paid - self.bureau_cost, balance_sheet)
