"""Means and intervals over replications, the statistics every report of a run uses.

Replications are independent draws of the same stochastic model and their
number is small, so a figure is summarised across replications by its mean and
a two-sided Student t interval (:func:`mean_ci`).  A rate or a share cannot
leave [0, 1], which a t interval ignores; for those:

- :func:`wilson_interval`, for a proportion pooled over replications
  (e.g. defaults over loans at risk in a quarter, summed over replications);
- :func:`bootstrap_mean_ci`, a percentile bootstrap of the replication mean,
  for a figure computed per replication (a run's default rate, a final market
  share): every resampled mean lies within the values' range, so the interval
  does too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats


def check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student t confidence interval of independent values.

    The interval is ``mean ± t_{(1+level)/2, n-1} · s / √n`` with ``s`` the
    sample standard deviation (``ddof=1``): exact for normal data and the
    standard choice for the handful of replications a simulation study runs.

    Parameters
    ----------
    values : iterable of float
        One value per replication. NaN values mean "not defined in that
        replication" (e.g. ``r_eff`` with no promoters) and are dropped.
    level : float, default 0.95
        Confidence level, in (0, 1).

    Returns
    -------
    (mean, low, high) : tuple of float
        ``(nan, nan, nan)`` if no value is left; ``(mean, nan, nan)`` with
        one value, because a single replication says nothing about spread.
    """
    check_level(level)
    x = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float).ravel()
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n == 1:
        return (mean, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + level / 2.0, df=n - 1) * x.std(ddof=1) / math.sqrt(n))
    return (mean, mean - half, mean + half)


def group_mean_ci(
    frame: pd.DataFrame, by: str | Sequence[str], value: str, level: float = 0.95
) -> pd.DataFrame:
    """Vectorised :func:`mean_ci` of ``value`` within groups of ``frame``.

    Used for time series (e.g. the mean market share at each step, over
    replications) where calling :func:`mean_ci` per group would be slow.

    Parameters
    ----------
    frame : DataFrame
        One row per replication within each group.
    by : str or sequence of str
        Grouping columns.
    value : str
        Column to summarise; NaN values are dropped per group.
    level : float, default 0.95
        Confidence level, in (0, 1).

    Returns
    -------
    DataFrame
        The ``by`` columns and ``mean``, ``low``, ``high``, ``n`` (number of
        non-NaN values); ``low``/``high`` are NaN where ``n < 2``.
    """
    check_level(level)
    by = [by] if isinstance(by, str) else list(by)
    grouped = frame.groupby(by, sort=True)[value]
    out = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = stats.t.ppf(0.5 + level / 2.0, df=np.where(n >= 2, n - 1, np.nan))
        half = tq * out["sd"].to_numpy(dtype=float) / np.sqrt(n)
    out["low"] = out["mean"] - half
    out["high"] = out["mean"] + half
    return out[[*by, "mean", "low", "high", "n"]]


def wilson_interval(successes: float | np.ndarray, trials: float | np.ndarray,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proportion and Wilson score interval of ``successes`` out of ``trials`` (elementwise).

    The Wilson interval (Wilson 1927; Agresti & Coull 1998) stays inside
    [0, 1] and keeps close to its nominal coverage for small counts and
    proportions near 0, where the normal ("Wald") interval collapses or goes
    negative::

        centre = (p + z²/2n) / (1 + z²/n)
        half   = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)

    Parameters
    ----------
    successes, trials : float or array
        Counts (events, trials); ``trials == 0`` gives NaN.
    level : float, default 0.95

    Returns
    -------
    (proportion, low, high) : tuple of float arrays

    Examples
    --------
    >>> p, low, high = wilson_interval(1, 10)
    >>> round(float(low), 4), round(float(high), 4)
    (0.0179, 0.4042)
    """
    check_level(level)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        n_safe = np.where(n > 0, n, np.nan)
        p = k / n_safe
        denominator = 1.0 + z**2 / n_safe
        centre = (p + z**2 / (2 * n_safe)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n_safe + z**2 / (4 * n_safe**2))
    low = np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))      # exact ends, no rounding residue
    high = np.where(k >= n, 1.0, np.clip(centre + half, 0.0, 1.0))
    low, high = np.where(np.isnan(p), np.nan, low), np.where(np.isnan(p), np.nan, high)
    return p, low, high


def bootstrap_mean_ci(values: Iterable[float], level: float = 0.95, resamples: int = 4000,
                      seed: int = 0) -> tuple[float, float, float]:
    """Mean and percentile bootstrap interval of the mean of independent values.

    Resamples the values with replacement ``resamples`` times and takes the
    ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the resampled means
    (Efron & Tibshirani 1993, ch. 13).  Every resampled mean lies between the
    smallest and largest value, so the interval of a rate stays within
    [0, 1].  Seeded, so a report is the same each time it is written.

    Returns ``(nan, nan, nan)`` with no value and ``(mean, nan, nan)`` with one,
    like :func:`mean_ci`.
    """
    check_level(level)
    x = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float).ravel()
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if x.size == 1:
        return (mean, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    low, high = np.quantile(means, [0.5 - level / 2.0, 0.5 + level / 2.0])
    return (mean, float(low), float(high))


def ratio(numerator: np.ndarray | pd.Series, denominator: np.ndarray | pd.Series) -> np.ndarray:
    """Elementwise ratio, NaN where the denominator is zero (e.g. CAC with no new customers)."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def stat(values: pd.Series | np.ndarray, level: float = 0.95) -> dict[str, float | int]:
    """One quantity over replications: ``mean``, ``low``, ``high`` and ``n``, the replications defining it."""
    x = np.asarray(values, dtype=float)
    mean, low, high = mean_ci(x, level)
    return {"mean": mean, "low": low, "high": high, "n": int(np.count_nonzero(~np.isnan(x)))}
