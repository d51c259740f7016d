"""Payback age of pooled cohorts: the user-facing months to pay back an acquisition cost.

The **pooled payback age** of a group of cohorts (a channel, or an
institution's channel) in one replication is the age at which the margin
earned per customer acquired by the group's cohorts of the run (cohort step
≥ 1, every institution and product of the group) first covers the group's
acquisition cost per customer, with each age's margin read from every cohort
the run observed to that age (cohort step + a ≤ T), like an actuarial
life table::

    m(a)  = Σ_c ΔM_c(a) / Σ_c n_c      over the cohorts c observed to age a
    V(a)  = m(0) + m(1) + … + m(a)     margin per customer acquired, to age a
    CAC   = (Σ_c K_c + U) / Σ_c n_c    over all the group's cohorts of the run
    a₁    = min { a : V(a) ≥ CAC },    payback = a₁ − 1 + (CAC − V(a₁−1)) / (V(a₁) − V(a₁−1))

with ``ΔM_c(a)`` cohort cell ``c``'s (undiscounted) margin at age ``a``,
``n_c`` its customers acquired, ``K_c`` its acquisition cost and ``U`` the
group's *unattributed* spend of the run (spend in steps in which its
channel acquired nobody, the channels table's ``unattributed_spend``), so
that the CAC is the group's whole spend over its acquisitions; linearly
interpolated between the whole ages around the crossing (0 if the margin of
age 0 covers it); undefined (NaN) if it never does within the run, or if the
group cost nothing.

Why this definition: a first passage of a noisy curve comes earlier the
noisier the curve.  Each ``m(a)`` is a mean over all the group's customers
of that age, so ``V`` is smooth and rises whenever margins are positive, and
its crossing does not move with the population size; interpolated, it does
not jump by whole steps either.  Pooling cumulative margins over the cohorts
observed to each age instead (``Σ_c M_c(a) / Σ_c K_c``) gives a jagged curve
(a cohort leaves the sum at each age), whose first passage through the
branch came a month earlier at 5,000 customers than at 50,000.  And the
unattributed spend belongs in the cost: a small population leaves more
steps with no acquisition through a channel (4% of the branch's and the
supermarket's spend at 5,000 customers, none at 50,000), so a CAC of the
cohorts' costs alone falls with the size, and the payback with it.

The per-cohort ``payback_age`` of ``cohorts.parquet`` (each cohort cell's own
first passage) is kept as a secondary figure: a first passage of a small
cohort's noisy margin comes earlier the noisier, i.e. the smaller, the
cohort, and only cohorts that paid back count, so its mean over cohorts
falls with the population size (tests/validation/test_size_invariance.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Columns naming one cohort cell of ``cohorts.parquet`` within a replication.
CELL = ("cohort", "institution", "channel", "product")


def pooled_payback(cohorts: pd.DataFrame, by: Sequence[str] = ("channel",),
                   channels: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per replication and group, the payback age of the group's pooled cohorts (module docstring).

    Parameters
    ----------
    cohorts : DataFrame
        ``cohorts.parquet`` rows: ``replication``, ``cohort``, ``institution``,
        ``channel``, ``product``, ``age``, ``step``, ``acquired``,
        ``cumulative_margin``, ``acquisition_cost``.  The horizon ``T`` is the
        largest ``step``.
    by : sequence of str
        Cell columns defining a group (default: the channel, all institutions).
    channels : DataFrame, optional
        ``channels.parquet`` rows (``replication``, ``step``, ``institution``,
        ``channel``, ``unattributed_spend``): the group's unattributed spend of
        steps 1..T is added to its acquisition cost (``U`` above); ``by`` may
        then hold only ``institution`` and ``channel``.  None: ``U = 0``.

    Returns
    -------
    DataFrame
        ``replication``, the ``by`` columns and ``payback_age`` (float, NaN
        where undefined), one row per (replication, group) with a cohort
        acquired during the run.
    """
    by = list(by)
    unknown = [c for c in by if c not in CELL]
    if unknown:
        raise ValueError(f"pooled_payback: cannot group by {unknown}; allowed: {', '.join(CELL)}")
    if channels is not None and not set(by) <= {"institution", "channel"}:
        raise ValueError(f"pooled_payback: unattributed spend has no {sorted(set(by) - {'institution', 'channel'})}; "
                         "with channels, group by institution and channel only")
    columns = ["replication", *by, "payback_age"]
    if cohorts.empty:
        return pd.DataFrame(columns=columns)
    horizon = int(cohorts["step"].max())
    won = cohorts["cohort"].to_numpy() >= 1
    if not won.any():
        return pd.DataFrame(columns=columns)
    # Plain arrays from here: taking rows of the whole frame (object columns) would dominate the cost.
    values = {c: cohorts[c].to_numpy()[won] for c in ("cohort", "age", "cumulative_margin", "acquisition_cost",
                                                      "acquired")}
    codes = {}
    for c in ["replication", *CELL]:
        column_codes, uniques = pd.factorize(cohorts[c], sort=True)
        codes[c] = (column_codes[won], uniques)
    cell_codes = _combine([codes[c] for c in ["replication", *CELL]])
    order = np.lexsort((values["age"], cell_codes))
    cell_codes = cell_codes[order]
    keys = ["replication", *by]
    # Groups in the order of their values (the factorize codes are sorted).
    _, first_of_group, group_codes = np.unique(_combine([codes[c] for c in keys])[order], return_index=True,
                                               return_inverse=True)
    n_groups, width = first_of_group.size, horizon + 2
    size = n_groups * width
    age = values["age"][order].astype(np.int64)
    margin = values["cumulative_margin"][order].astype(float)
    first_row = np.r_[True, cell_codes[1:] != cell_codes[:-1]]
    # Each row's margin since the cell's previous row (a cell without a row at an age earned nothing then).
    increment = margin - np.where(first_row, 0.0, np.r_[0.0, margin[:-1]])
    base = group_codes * width
    earned = np.bincount(base + age, increment, size).reshape(n_groups, width)
    # Customers acquired by the cells observed to each age: from age 0 to the cell's last observed age.
    cell_group = group_codes[first_row]
    acquired = values["acquired"][order].astype(float)[first_row]
    cost = values["acquisition_cost"][order].astype(float)[first_row]
    last_age = horizon - values["cohort"][order].astype(np.int64)[first_row]
    starts = base[first_row]
    observed = np.cumsum((np.bincount(starts, acquired, size) - np.bincount(starts + last_age + 1, acquired, size))
                         .reshape(n_groups, width), axis=1)
    first = order[first_of_group]
    frame = pd.DataFrame({c: np.asarray(codes[c][1])[codes[c][0][first]] for c in keys})
    group_cost = np.bincount(cell_group, cost, n_groups)
    if channels is not None:
        group_cost = group_cost + unattributed_spend(channels, keys, frame)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_customer = np.where(observed > 0, earned / observed, 0.0)[:, : horizon + 1]
        cac = group_cost / np.bincount(cell_group, acquired, n_groups)
    value = np.cumsum(per_customer, axis=1)
    frame["payback_age"] = crossing_age(value, np.broadcast_to(np.nan_to_num(cac, nan=0.0)[:, None], value.shape))
    return frame


def unattributed_spend(channels: pd.DataFrame, keys: Sequence[str], groups: pd.DataFrame) -> np.ndarray:
    """Per row of ``groups`` (columns ``keys``), the unattributed spend of steps 1..T of ``channels`` in that group.

    Parameters
    ----------
    channels : DataFrame
        ``channels.parquet`` rows with ``step`` and ``unattributed_spend``.
    keys : sequence of str
        ``replication`` and the grouping columns (institution, channel).
    groups : DataFrame
        One row per group, with the ``keys`` columns.

    Returns
    -------
    numpy.ndarray
        float, 0 for a group with no unattributed spend.
    """
    keys = list(keys)
    spend = channels[channels["step"] >= 1].groupby(keys)["unattributed_spend"].sum()
    index = pd.MultiIndex.from_frame(groups[keys]) if len(keys) > 1 else pd.Index(groups[keys[0]])
    return spend.reindex(index).fillna(0.0).to_numpy(dtype=float)


def crossing_age(margin: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Per row, the age at which ``margin / cost`` first reaches 1, linearly interpolated between ages.

    Parameters
    ----------
    margin, cost : numpy.ndarray
        (groups, ages): the value earned to each age and the cost it must cover
        (:func:`pooled_payback`: margin per customer acquired, and the CAC).

    Returns
    -------
    numpy.ndarray
        (groups,) float: ``a − 1 + (1 − R(a−1)) / (R(a) − R(a−1))`` with ``R = margin / cost`` and ``a``
        the first age at which ``R ≥ 1`` (0 if at age 0); NaN where it never is or the cost is 0.
    """
    tolerance = 1e-9 * np.maximum(np.abs(cost), 1.0)          # the sums' rounding, not a yuan
    paid = (cost > tolerance) & (margin >= cost - tolerance)
    ever = paid.any(axis=1)
    first = paid.argmax(axis=1)
    rows = np.arange(margin.shape[0])
    before = np.maximum(first - 1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = margin / np.where(cost > tolerance, cost, np.nan)
        low, high = ratio[rows, before], ratio[rows, first]
        # Paid at a > 0 means R(a − 1) < 1 <= R(a) (up to the tolerance): the fraction lies in (0, 1].
        fraction = np.clip(np.where(high > low, (1.0 - low) / (high - low), 1.0), 0.0, 1.0)
    age = np.where(first > 0, before + fraction, 0.0)
    return np.where(ever, age, np.nan)


def _combine(factorized: list[tuple[np.ndarray, pd.Index]]) -> np.ndarray:
    """One int64 code per row from per-column factorize codes (mixed radix)."""
    combined = np.zeros(factorized[0][0].size, dtype=np.int64)
    for codes, uniques in factorized:
        combined = combined * max(len(uniques), 1) + codes
    return combined


__all__ = ["CELL", "crossing_age", "pooled_payback", "unattributed_spend"]
