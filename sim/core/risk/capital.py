"""Regulatory capital (mechanisms 4, 5, 8): risk-weighted loans, capital ratios and the capital rule.

A balance-sheet lender holds capital against its **risk-weighted loans**
(RWA): ``RWA = Σ risk_weight(product) × outstanding amount`` over its
performing loans, with the Basel standardised weights of the product's
``loan.risk_weight`` (1.0 for other consumer loans, 0.75 for regulatory
retail; China's 2023 capital rules use the same two).  Guarantees do not
lower the weights.  Its **capital ratio** is ``capital / RWA``.

Sizes are relative, so nothing depends on how many customers are simulated:

- a lender starts with ``capital = capital_ratio × base``, ``base`` its
  risk-weighted book at step 0 but at least the risk-weighted book of a share
  ``capital_base`` of the population borrowing the mean loan;
- an insurer starts with ``capital_ratio ×`` its partner lenders' loan book
  at step 0 (each at least its ``capital_base`` floor);
- a P2P platform's investors bring ``funding`` yuan per customer.

**Capital management**: a balance-sheet lender with ``payout`` pays out as
dividends the part of a step's (positive) profit that would lift its capital
above ``capital_ratio × RWA``, so its ratio stays near where real banks keep
theirs instead of climbing with retained profit; losses and a growing book
bring it down.

The **capital rule**: the lender's cut-off is multiplied by
``clip((ratio − minimum) / (target − minimum), 0, 1)^tightening``, so it
lends normally above its target, tightens in the buffer above the
regulatory minimum and makes no new loans at or below it.  Institutions that
do not lend hold no regulatory capital (they start at 0 and accumulate profit).
"""

from __future__ import annotations

import numpy as np


def capital_ratio(capital: np.ndarray, risk_weighted: np.ndarray) -> np.ndarray:
    """``capital / RWA`` per institution; NaN where there are no risk-weighted loans."""
    capital, risk_weighted = np.asarray(capital, dtype=float), np.asarray(risk_weighted, dtype=float)
    return np.divide(capital, risk_weighted, out=np.full(capital.shape, np.nan), where=risk_weighted > 0)


def capital_factor(capital: np.ndarray, risk_weighted: np.ndarray, minimum: np.ndarray, target: np.ndarray,
                   tightening: np.ndarray) -> np.ndarray:
    """Multiplier of the cut-off under the capital rule, in [0, 1].

    ``clip((ratio − minimum) / (target − minimum), 0, 1)^tightening`` with
    ``ratio = capital / RWA`` (infinite with no loans: factor 1); 1 wherever
    ``tightening`` is 0.  A lender with no capital left has factor 0.

    Parameters
    ----------
    capital, risk_weighted : (I,) float arrays
        Capital now and risk-weighted performing loans.
    minimum, target : (I,) float arrays
        Regulatory minimum ratio and the ratio above which nothing tightens
        (``target > minimum``, checked by the scenario schema).
    tightening : (I,) float array
        Exponent of the rule; 0 = never tighten.
    """
    capital, risk_weighted = np.asarray(capital, dtype=float), np.asarray(risk_weighted, dtype=float)
    minimum, target = np.asarray(minimum, dtype=float), np.asarray(target, dtype=float)
    tightening = np.asarray(tightening, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(risk_weighted > 0, capital / np.where(risk_weighted > 0, risk_weighted, 1.0), np.inf)
        ratio = np.where((risk_weighted <= 0) & (capital <= 0), minimum, ratio)
        span = np.where(target > minimum, target - minimum, 1.0)
        relative = np.clip((ratio - minimum) / span, 0.0, 1.0)
    return np.where(tightening > 0, relative ** tightening, 1.0)


def dividends(capital: np.ndarray, risk_weighted: np.ndarray, ratio: np.ndarray, profit: np.ndarray,
              pays: np.ndarray) -> np.ndarray:
    """(I,) dividends of the step: ``clip(capital − ratio × RWA, 0, max(profit, 0))`` where ``pays``, else 0.

    ``capital`` already includes the step's ``profit``; only the step's
    profit is ever paid out (never capital held before it).
    """
    excess = np.asarray(capital, dtype=float) - np.asarray(ratio, dtype=float) * risk_weighted
    paid = np.clip(excess, 0.0, np.maximum(profit, 0.0))
    return np.where(pays & (np.asarray(risk_weighted) > 0), paid, 0.0)


def capital_floor(catalog, population: int) -> tuple[np.ndarray, np.ndarray]:
    """(I,) floors of the initial bases: a book of ``capital_base × population`` mean loans, and its RWA.

    A lender of several credit products takes the largest (mean loan × risk
    weight) of those it offers; institutions that do not lend get 0.
    """
    risk = catalog.risk
    offers_credit = (catalog.offer_of >= 0) & risk.is_credit[None, :]          # (I, K)
    loan = np.where(offers_credit, risk.loan_mean[None, :], 0.0)
    weighted = np.where(offers_credit, (risk.loan_mean * risk.loan_risk_weight)[None, :], 0.0)
    share = risk.capital_base * population
    return share * loan.max(axis=1, initial=0.0), share * weighted.max(axis=1, initial=0.0)


def starting_capital(catalog, balance: np.ndarray, risk_weighted: np.ndarray,
                     population: int) -> tuple[np.ndarray, np.ndarray]:
    """Capital at step 0 of institutions (I,) and insurers (J,), from the book held before the run.

    Lenders: ``capital_ratio × max(RWA, floor)``; others 0.  Insurers:
    ``capital_ratio × Σ max(book, floor)`` over the lenders whose insurer
    they are (:func:`capital_floor` for the floors).

    Parameters
    ----------
    catalog : Catalog
        ``risk`` holds the ratios, floors and insurer partners.
    balance, risk_weighted : (I,) float arrays
        The book held before the run and its risk-weighted value.
    population : int
        Number of customers simulated.
    """
    risk = catalog.risk
    floor, floor_weighted = capital_floor(catalog, population)
    capital = np.where(risk.is_lender, risk.capital_ratio * np.maximum(risk_weighted, floor_weighted), 0.0)
    J = risk.n_insurers
    partnered = risk.lender_insurer >= 0
    books = np.bincount(risk.lender_insurer[partnered], weights=np.maximum(balance, floor)[partnered],
                        minlength=J)[:J]
    return capital, risk.insurer_capital_ratio * books
