"""Credit-guarantee insurance (SF12, part of mechanisms 4 and 5): capacity, premiums and claims.

An insurer guarantees loans its partner lenders would refuse.  Its exposure is
the covered balance ``coverage × Σ guaranteed outstanding amounts``.  It
writes new guarantees only while ``capital / covered balance`` stays at or
above its solvency floor (``solvency_floor``, raised to
``regulation.insurer_floor`` by a capital rule), so the floor is also its
capacity.  Each step it earns ``premium_rate / steps per year`` on the
guaranteed balance and pays ``coverage × loss`` on each guaranteed loan that
defaults.  When the claims due exceed its capital it pays them pro rata with
what is left and fails: a failed insurer writes nothing, earns nothing and
pays nothing more, so its outstanding guarantees fall back on the lenders.

Capital moves only by premiums and claims: ``Δ capital = premiums − claims paid``.
"""

from __future__ import annotations

import numpy as np


def capacity(capital: np.ndarray, covered: np.ndarray, floor: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """Covered balance each insurer may still add: ``capital / floor − covered`` (``inf`` with no floor)."""
    with np.errstate(divide="ignore"):
        room = np.where(floor > 0, capital / np.where(floor > 0, floor, 1.0) - covered, np.inf)
    return np.where(failed | (capital <= 0), 0.0, np.maximum(room, 0.0))


def writing(capital: np.ndarray, covered: np.ndarray, floor: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """Bool per insurer: solvent and at or above its floor, so it writes new guarantees."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(covered > 0, capital / np.where(covered > 0, covered, 1.0), np.inf)
    return ~failed & (capital > 0) & (ratio >= floor)


def premiums(amount: np.ndarray, premium_rate: np.ndarray, steps_per_year: float) -> np.ndarray:
    """Premium per guaranteed loan and step: ``amount × premium_rate / steps per year``."""
    return amount * premium_rate / steps_per_year


def settle_claims(claims: np.ndarray, insurer: np.ndarray, capital: np.ndarray,
                  failed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pay the claims due on defaulted guaranteed loans.

    Parameters
    ----------
    claims : float array
        ``coverage × loss`` due on each claim.
    insurer : int array
        Insurer of each claim.
    capital : float array (J,)
        Insurers' capital before paying.
    failed : bool array (J,)
        Insurers that have already failed (they pay nothing).

    Returns
    -------
    paid : float array
        Paid on each claim: in full, or pro rata ``capital / due`` when the
        insurer cannot pay everything due this step; 0 for failed insurers.
    capital : float array (J,)
        Capital after paying.
    failed : bool array (J,)
        Failed after paying (capital exhausted).
    """
    J = capital.size
    due = np.bincount(insurer, weights=claims, minlength=J)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(due > capital, np.maximum(capital, 0.0) / np.where(due > 0, due, 1.0), 1.0)
    share = np.where(failed, 0.0, share)
    paid = claims * share[insurer]
    paid_total = np.bincount(insurer, weights=paid, minlength=J)
    capital = capital - paid_total
    newly_failed = ~failed & (due > 0) & (capital <= 1e-9 * np.maximum(due, 1.0))
    capital = np.where(newly_failed, 0.0, capital)
    return paid, capital, failed | newly_failed
