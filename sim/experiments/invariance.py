"""Size invariance: the strategy quantities of a run, per replication, and their comparison between two sizes.

A strategy team's answers must be properties of the strategy, not of the
simulation's population size.  :func:`size_quantities` reads, per
replication, the quantities the team asks for:

- ``share <institution>``: market share at the final step;
- ``cac <channel>``: acquisition spend over the run / customers acquired
  over the run, all institutions, per channel (the channels table, steps 1..T);
- ``default rate``: defaults over the run / borrower-steps at risk;
- ``expected default rate``: expected defaults / loans at risk over the run
  (the credit table's ``expected_defaults``: the rate without the draws'
  Bernoulli noise, so far fewer replications resolve a difference); only
  with credit on;
- ``ltv per customer <channel>``: of the cohorts acquired during the run
  (cohort step ≥ 1), lifetime value to the end of the run per customer
  acquired (``summary.json`` ``customer_value.by_channel``);
- ``payback <channel>``: the payback age of the channel's pooled cohorts
  (:func:`sim.experiments.payback.pooled_payback`, ``summary.json``
  ``payback_age``);
- ``cohort payback <channel>``: the secondary per-cohort figure, the mean
  months to payback of the customers whose cohort paid back
  (``summary.json`` ``cohort_payback_age``), which falls with the size of the
  cohorts and so with the population (:mod:`sim.experiments.payback`).

:func:`compare_sizes` compares two sets of runs quantity by quantity: the
difference of the replication means, its standard error
``sqrt(se₁² + se₂²)``, whether it lies within the 95% interval
(``|Δ| ≤ 1.96·se``), and a Welch t-test whose p-values are adjusted for the
number of quantities compared by Holm's step-down procedure (Holm 1979),
which controls the family-wise error rate like Bonferroni but rejects more.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.metrics import run_default_rate, run_rows
from sim.experiments.payback import pooled_payback
from sim.experiments.summary import cohort_ends


def _ratio(top: pd.Series, bottom: pd.Series) -> pd.Series:
    with np.errstate(invalid="ignore", divide="ignore"):
        return (top / bottom.where(bottom > 0)).astype(float)


def size_quantities(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The size-invariant quantities of a run, one row per replication, one column per quantity.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        A run's tables (``market``, ``institutions``, ``channels``, ``cohorts``; ``credit`` when credit is on).

    Returns
    -------
    DataFrame
        Index ``replication``; columns named as in the module docstring; NaN
        where a replication leaves a quantity undefined (no customer acquired
        through a channel, no cohort paid back).
    """
    institutions = tables["institutions"]
    last = institutions[institutions["step"] == institutions["step"].max()]
    columns: dict[str, pd.Series] = {}
    for ident, rows in last.groupby("institution", sort=False):
        columns[f"share {ident}"] = rows.set_index("replication")["market_share"].astype(float)
    during = run_rows(tables["channels"])
    totals = during.groupby(["channel", "replication"])[["spend", "new_customers"]].sum()
    for channel, rows in totals.groupby(level="channel", sort=False):
        rows = rows.droplevel("channel")
        columns[f"cac {channel}"] = _ratio(rows["spend"], rows["new_customers"])
    columns["default rate"] = run_default_rate(tables["market"]).astype(float)
    credit = tables.get("credit")
    if credit is not None and "expected_defaults" in credit and not credit.empty:
        sums = run_rows(credit).groupby("replication")[["expected_defaults", "loans_at_risk"]].sum()
        columns["expected default rate"] = _ratio(sums["expected_defaults"], sums["loans_at_risk"])
    ends = cohort_ends(tables["cohorts"])
    paid = ends["payback_age"].notna()
    value = pd.DataFrame({
        "replication": ends["replication"].to_numpy(), "channel": ends["channel"].to_numpy(),
        "acquired": ends["acquired"].to_numpy(float), "ltv": ends["ltv"].to_numpy(float),
        "paid": np.where(paid, ends["acquired"], 0).astype(float),
        "payback": np.where(paid, ends["payback_age"].astype("Float64").fillna(0).to_numpy(float)
                            * ends["acquired"].to_numpy(float), 0.0),
    }).groupby(["channel", "replication"]).sum()
    for channel, rows in value.groupby(level="channel", sort=False):
        rows = rows.droplevel("channel")
        columns[f"ltv per customer {channel}"] = _ratio(rows["ltv"], rows["acquired"])
        columns[f"cohort payback {channel}"] = _ratio(rows["payback"], rows["paid"])
    pooled = pooled_payback(tables["cohorts"], channels=tables["channels"])
    for channel, rows in pooled.groupby("channel", sort=False):
        columns[f"payback {channel}"] = rows.set_index("replication")["payback_age"].astype(float)
    frame = pd.DataFrame(columns)
    frame.index.name = "replication"
    return frame


def holm_adjust(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN): ``max_{j≤k} (m − j + 1)·p_(j)``, capped at 1."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    defined = np.flatnonzero(~np.isnan(p))
    m = len(defined)
    order = defined[np.argsort(p[defined], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def compare_sizes(small: pd.DataFrame, large: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Quantity by quantity, whether two sizes' replication means agree.

    Parameters
    ----------
    small, large : DataFrame
        :func:`size_quantities` of each size's runs.
    alpha : float
        Family-wise error rate of the Holm-adjusted Welch tests.

    Returns
    -------
    DataFrame
        One row per quantity defined in at least 2 replications of both:
        ``quantity, mean_small, se_small, n_small, mean_large, se_large,
        n_large, difference, se, within_95`` (``|difference| ≤ 1.96·se``),
        ``p`` (Welch, two-sided), ``p_holm`` and ``agree`` (``p_holm ≥ alpha``).
    """
    rows = []
    for quantity in [q for q in small.columns if q in large.columns]:
        a, b = small[quantity].dropna().to_numpy(float), large[quantity].dropna().to_numpy(float)
        if len(a) < 2 or len(b) < 2:
            continue
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        difference, se = b.mean() - a.mean(), math.sqrt(va + vb)
        if se > 0:
            df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
            p = float(2 * stats.t.sf(abs(difference) / se, df))
        else:
            p = 1.0 if difference == 0 else 0.0
        rows.append({"quantity": quantity, "mean_small": a.mean(), "se_small": math.sqrt(va), "n_small": len(a),
                     "mean_large": b.mean(), "se_large": math.sqrt(vb), "n_large": len(b),
                     "difference": difference, "se": se, "within_95": abs(difference) <= 1.96 * se, "p": p})
    frame = pd.DataFrame(rows, columns=["quantity", "mean_small", "se_small", "n_small", "mean_large", "se_large",
                                        "n_large", "difference", "se", "within_95", "p"])
    frame["p_holm"] = holm_adjust(frame["p"].to_numpy(float))
    frame["agree"] = frame["p_holm"] >= alpha
    return frame


__all__ = ["compare_sizes", "holm_adjust", "size_quantities"]
