"""P2P lenders' investor funding and runs (SF13, part of mechanism 5).

A P2P platform lends its investors' money.  Investors' funds are its cash
plus its outstanding loans; loans are made from cash, repayments, recoveries,
interest and insurance claims return to it, and defaults are losses to the
investors except the share ``guarantee`` the platform makes good from its own
capital (a platform that slid from intermediation into holding the loans).

Investors watch an alarm signal::

    alarm = EWMA(default rate of the platform's loans) + w · (share of P2P platforms failed)

with weight ``memory`` on the newest default rate and ``w`` =
``failure_weight``.  While ``alarm > run_trigger`` they run: new lending
stops and investors demand ``withdrawal`` × their funds each step; a platform
that cannot pay a demand from cash (its loans fall due later) fails, as does
one whose capital is exhausted.  Otherwise funds grow by ``inflow`` per step.
A failed platform stops lending; its borrowers' hazard is multiplied by
``strategic_default`` (strategic default when nobody will collect).
"""

from __future__ import annotations

import numpy as np


def update_signal(signal: np.ndarray, default_rate: np.ndarray, memory: np.ndarray) -> np.ndarray:
    """Exponentially weighted default rate: ``(1 − memory) · signal + memory · default_rate``."""
    return (1.0 - memory) * signal + memory * default_rate


def alarm(signal: np.ndarray, failed_share: float, failure_weight: np.ndarray) -> np.ndarray:
    """Investors' alarm: own smoothed default rate plus the weighted share of failed P2P platforms."""
    return signal + failure_weight * failed_share


def investor_flows(cash: np.ndarray, outstanding: np.ndarray, in_run: np.ndarray, inflow: np.ndarray,
                   withdrawal: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of investors' money.

    Returns
    -------
    cash : float array
        Cash after inflows or withdrawals.
    withdrawn : float array
        Paid out to investors (negative: net inflow).
    illiquid : bool array
        Platforms that could not meet a run's demand: they pay out all their
        cash and fail.
    """
    funds = cash + outstanding
    demanded = np.where(in_run, withdrawal * funds, 0.0)
    illiquid = in_run & (demanded > cash)
    paid = np.where(illiquid, np.maximum(cash, 0.0), demanded)
    inflows = np.where(in_run, 0.0, inflow * funds)
    return cash - paid + inflows, paid - inflows, illiquid
