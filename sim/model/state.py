"""Customer state as arrays: the model's agents are views onto these."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Funnel stages (model.md mechanism 3).  Stages 1-5 are passed within a step;
# after a step a customer's stage for a product is where its last attempt ended.
NONE, AWARE, INTERESTED, COMPARING, APPLIED, APPROVED, ACTIVE, REJECTED, CHURNED = range(9)
STAGE_NAMES = ("none", "aware", "interested", "comparing", "applied", "approved", "active", "rejected", "churned")
FUNNEL_STAGES = (AWARE, INTERESTED, COMPARING, APPLIED, APPROVED, ACTIVE)

# Fixed channels; platform channels follow as "platform:<id>".
BRANCH, OWN_APP, LIVE_STREAM, REFERRAL, EMPLOYEE = range(5)
FIXED_CHANNELS = ("branch", "own_app", "live_stream", "referral", "employee")
NO_CHANNEL = -1

# Loan status (mechanisms 4-5): every loan is in exactly one of these.
PERFORMING, REPAID, DEFAULTED = range(3)
LOAN_STATUS_NAMES = ("performing", "repaid", "defaulted")
NO_LOAN = -1


@dataclass
class CustomerState:
    """Everything about customers that changes during a run.

    Shapes: ``n`` customers, ``O`` offers, ``K`` products, ``I`` institutions,
    ``P`` platforms.

    Attributes
    ----------
    aware : bool (n, O)            customer knows the offer
    aware_channel : int8 (n, O)    channel of the latest touch for the offer (-1 none)
    stage : int8 (n, K)            funnel stage per product (see STAGE_NAMES)
    provider : int16 (n, K)        institution providing the product (-1 none)
    channel : int8 (n, K)          channel the current relationship came through (-1 none)
    since : int32 (n, K)           step the current relationship began (-1 none)
    trust : float32 (n, I)         trust in each institution
    branch_reach : bool (n, I)     lives in a city the institution's branches cover
    platform_user : bool (n, P)    uses each platform
    follower : bool (n, I)         follows the institution's app outside any product
    employer : int16 (n,)          institution employing the customer (-1 none)
    loan : int64 (n, K)            id of the customer's performing loan per product in the LoanBook (-1 none)
    defaulted : bool (n,)          the customer has defaulted (permanent; counts for contagion)
    default_step : int32 (n,)      step of the default (-1 none)
    """

    aware: np.ndarray
    aware_channel: np.ndarray
    stage: np.ndarray
    provider: np.ndarray
    channel: np.ndarray
    since: np.ndarray
    trust: np.ndarray
    branch_reach: np.ndarray
    platform_user: np.ndarray
    follower: np.ndarray
    employer: np.ndarray
    loan: np.ndarray | None = None
    defaulted: np.ndarray | None = None
    default_step: np.ndarray | None = None

    @classmethod
    def empty(cls, n: int, offers: int, products: int, institutions: int, platforms: int) -> "CustomerState":
        return cls(
            aware=np.zeros((n, offers), dtype=bool),
            aware_channel=np.full((n, offers), NO_CHANNEL, dtype=np.int8),
            stage=np.zeros((n, products), dtype=np.int8),
            provider=np.full((n, products), -1, dtype=np.int16),
            channel=np.full((n, products), NO_CHANNEL, dtype=np.int8),
            since=np.full((n, products), -1, dtype=np.int32),
            trust=np.zeros((n, institutions), dtype=np.float32),
            branch_reach=np.zeros((n, institutions), dtype=bool),
            platform_user=np.zeros((n, platforms), dtype=bool),
            follower=np.zeros((n, institutions), dtype=bool),
            employer=np.full(n, -1, dtype=np.int16),
            loan=np.full((n, products), NO_LOAN, dtype=np.int64),
            defaulted=np.zeros(n, dtype=bool),
            default_step=np.full(n, -1, dtype=np.int32),
        )

    def customer_of(self, institutions: int) -> np.ndarray:
        """Bool (n, I): customer holds at least one product with the institution."""
        n = self.provider.shape[0]
        held = np.zeros((n, institutions), dtype=bool)
        rows = np.arange(n)
        for k in range(self.provider.shape[1]):
            has = self.provider[:, k] >= 0
            held[rows[has], self.provider[has, k]] = True
        return held


_LOAN_COLUMNS = {
    "customer": np.int32, "product": np.int32, "lender": np.int32, "insurer": np.int32,
    "channel": np.int8, "inside": bool, "amount": np.float64, "rate": np.float64,
    "start": np.int32, "maturity": np.int32, "status": np.int8, "closed": np.int32,
    "loss": np.float64, "claim": np.float64, "claim_paid": np.float64, "cell": np.int32,
    "coverage": np.float64, "premium_rate": np.float64, "hazard": np.float64,
}


@dataclass
class LoanBook:
    """Every loan of a run, one row per loan (mechanisms 4 and 5).

    A loan is originated performing and ends repaid (at term, or early when
    the borrower leaves or refinances) or defaulted; nothing else happens to
    it, so originated = performing + repaid + defaulted at every step.

    Columns (arrays of length :attr:`size`): ``customer``, ``product``,
    ``lender`` (institution index), ``insurer`` (-1 none), ``channel`` the
    relationship came through (-1 for loans held before the run), ``inside``
    (inside a sanctioning community: social collateral, SF1), ``amount``,
    ``rate`` (annual), ``start``, ``maturity`` (step it is repaid), ``status``
    (see LOAN_STATUS_NAMES), ``closed`` (step it ended, -1 while performing),
    ``loss`` (on default: amount × (1 − recovery)), ``claim`` (insurer's
    share due), ``claim_paid``, ``coverage`` (the insurer's share of the
    loss, fixed when the guarantee is written; 0 uninsured), ``premium_rate``
    (annual, fixed likewise), ``hazard`` (the borrower's latent hazard, copied
    for fast access) and ``cell``
    (the loan's row key in the credit table, set by the credit market).
    """

    size: int = 0
    columns: dict[str, np.ndarray] = field(default_factory=lambda: {
        name: np.zeros(0, dtype=dtype) for name, dtype in _LOAN_COLUMNS.items()})
    _performing: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    _closed_since: bool = field(default=False, repr=False)
    _opened_since: list = field(default_factory=list, repr=False)

    def __getattr__(self, name: str) -> np.ndarray:
        columns = self.__dict__.get("columns")
        if columns is not None and name in columns:
            return columns[name][: self.__dict__["size"]]
        raise AttributeError(name)

    def reserve(self, rows: int) -> None:
        """Make room for ``rows`` loans without growing (growth copies every column)."""
        if rows > self.columns["customer"].size:
            for name, array in self.columns.items():
                grown = np.zeros(rows, dtype=array.dtype)
                grown[: self.size] = array[: self.size]
                self.columns[name] = grown

    def originate(self, **values) -> np.ndarray:
        """Append loans (one per element of the arrays given, keyed by column); return their ids."""
        count = len(values["customer"])
        start = self.size
        if start + count > self.columns["customer"].size:
            self.reserve(max(1024, 2 * (start + count)))
        ids = np.arange(start, start + count, dtype=np.int64)
        rows = slice(start, start + count)
        # Rows are never reused and grown arrays start at zero, so only non-zero values are written.
        for name, array in self.columns.items():
            if name in values:
                array[rows] = values[name]
            elif name in ("closed", "insurer"):
                array[rows] = -1
        assert PERFORMING == 0
        self.size += count
        self._opened_since.append(ids)
        return ids

    def close(self, ids: np.ndarray, status: int, step: int) -> None:
        """End performing loans ``ids`` as repaid or defaulted at ``step``."""
        assert (self.columns["status"][ids] == PERFORMING).all(), "closing a loan that is not performing"
        self.columns["status"][ids] = status
        self.columns["closed"][ids] = step
        self._closed_since = True

    def performing(self) -> np.ndarray:
        """Ids of the loans performing now, in increasing order.

        Kept as an array: new loans are appended, closed ones filtered out
        when next asked for, so the cost follows the performing loans, not
        every loan of the run.
        """
        if self._opened_since:
            self._performing = np.concatenate([self._performing, *self._opened_since])
            self._opened_since = []
        if self._closed_since:
            self._performing = self._performing[self.columns["status"][self._performing] == PERFORMING]
            self._closed_since = False
        return self._performing

    def frame(self):
        """The book as a DataFrame, one row per loan, with the status as text."""
        import pandas as pd

        frame = pd.DataFrame({name: array[: self.size] for name, array in self.columns.items()})
        frame["status"] = np.asarray(LOAN_STATUS_NAMES, dtype=object)[frame["status"].to_numpy()]
        return frame
