"""Mechanism 8, regulation: how the rules in force change the parameters the kernels use.

Regulation is part of the scenario (``regulation:``) and, like any parameter,
changes at a step through a timeline event (``events: [{at, set:
{regulation.data_link: bureau}}]``).  These functions map the rules in force
to effective parameters; :mod:`sim.core.params` applies them when the
catalog is compiled and again whenever a regulation lever changes.

- **Cut the direct link** (SF15): platform data reaches lenders in full
  (``direct``), through a licensed credit bureau that keeps a share
  ``bureau_share`` of its value at ``query_cost`` per application scored
  (``bureau``), or not at all (``direct_jump``: the platform only redirects
  the customer).
- **Interest-rate cap**: new loans are priced at most at ``rate_cap``.
- **Take-rate cap**: partnership take rates are at most ``take_rate_cap``.
- **Insurer capital rule**: every insurer's solvency floor is at least
  ``insurer_floor``.
"""

from __future__ import annotations

import numpy as np

DATA_LINK_MODES = ("direct", "bureau", "direct_jump")


def data_link_weight(mode: str, bureau_share: float) -> float:
    """``lambda``: share of a platform's data value that reaches a lender under the data link ``mode``."""
    if mode == "direct":
        return 1.0
    if mode == "bureau":
        return float(bureau_share)
    if mode == "direct_jump":
        return 0.0
    raise ValueError(f"data_link must be one of {', '.join(DATA_LINK_MODES)}, got {mode!r}")


def query_cost(mode: str, cost: float) -> float:
    """Cost per application scored with platform data: ``cost`` through a bureau, else 0."""
    return float(cost) if mode == "bureau" else 0.0


def cap(values: np.ndarray, ceiling: float | None) -> np.ndarray:
    """``min(values, ceiling)``, or ``values`` unchanged when there is no cap (``None``)."""
    values = np.asarray(values, dtype=float)
    return values if ceiling is None else np.minimum(values, ceiling)


def floor(values: np.ndarray, minimum: float | None) -> np.ndarray:
    """``max(values, minimum)``, or ``values`` unchanged when there is no rule (``None``)."""
    values = np.asarray(values, dtype=float)
    return values if minimum is None else np.maximum(values, minimum)
