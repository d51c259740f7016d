"""The loan book: every loan of a run, one row per loan (mechanisms 4 and 5)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.core.codes import LOAN_STATUS_NAMES, LoanStatus

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
        assert start + count < 2**31, "more loans than CustomerState.loan (int32) can name"
        ids = np.arange(start, start + count, dtype=np.int64)
        rows = slice(start, start + count)
        # Rows are never reused and grown arrays start at zero, so only non-zero values are written.
        for name, array in self.columns.items():
            if name in values:
                array[rows] = values[name]
            elif name in ("closed", "insurer"):
                array[rows] = -1
        assert LoanStatus.PERFORMING == 0
        self.size += count
        self._opened_since.append(ids)
        return ids

    def close(self, ids: np.ndarray, status: int, step: int) -> None:
        """End performing loans ``ids`` as repaid or defaulted at ``step``."""
        assert (self.columns["status"][ids] == LoanStatus.PERFORMING).all(), "closing a loan that is not performing"
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
            self._performing = self._performing[self.columns["status"][self._performing] == LoanStatus.PERFORMING]
            self._closed_since = False
        return self._performing

    def frame(self):
        """The book as a DataFrame, one row per loan, with the status as text."""
        import pandas as pd

        frame = pd.DataFrame({name: array[: self.size] for name, array in self.columns.items()})
        frame["status"] = np.asarray(LOAN_STATUS_NAMES, dtype=object)[frame["status"].to_numpy()]
        return frame
