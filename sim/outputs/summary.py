"""Means and 95% intervals over replications: the numbers a run is judged by.

Every figure in the summary is computed once per replication (the final-step
value, or a whole-run total or ratio) and then summarised across
replications with a Student t interval, because replications are independent
draws of the same stochastic model and their number is small.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.outputs._atomic import write_text_atomic
from sim.outputs.schema import KEYS, MARKET_FLOWS, channel_order, check_columns

#: Institution columns reported at the final step (plus every ``customers_<product>``).
INSTITUTION_LEVELS: tuple[str, ...] = ("customers", "market_share", "revenue", "profit", "capital")

#: Institution columns that count money or customers during a step (summed over the run).
INSTITUTION_FLOWS: tuple[str, ...] = (
    "new_customers", "churned", "acquisition_spend", "revenue", "revenue_share_paid",
    "platform_income", "incentives", "cost", "profit",
    "new_loans", "applications", "approvals", "rejections", "insured_approvals", "repaid", "defaults", "losses",
    "insured_losses", "net_losses", "interest_income", "premiums_paid", "bureau_cost", "guarantee_paid",
    "credit_profit", "investor_withdrawals",
)

SUMMARY_SCHEMA = "bankplatform-sim summary v1"


# --------------------------------------------------------------------------- intervals


def _check_level(level: float) -> None:
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
    _check_level(level)
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
    _check_level(level)
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


def _stat(values: pd.Series | np.ndarray, level: float) -> dict[str, float | int]:
    """Summary entry of one quantity: mean, interval and how many replications defined it."""
    x = np.asarray(values, dtype=float)
    mean, low, high = mean_ci(x, level)
    return {"mean": mean, "low": low, "high": high, "n": int(np.count_nonzero(~np.isnan(x)))}


def _ratio(numerator: np.ndarray | pd.Series, denominator: np.ndarray | pd.Series) -> np.ndarray:
    """Elementwise ratio, NaN where the denominator is zero (e.g. CAC with no new customers)."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


# --------------------------------------------------------------------------- per-replication views


def replications_of(tables: Mapping[str, pd.DataFrame]) -> list[int]:
    """Sorted replication ids found in any of the tables."""
    ids: set[int] = set()
    for frame in tables.values():
        if "replication" in frame.columns:
            ids.update(int(r) for r in frame["replication"].unique())
    return sorted(ids)


def final_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows at the last step of each replication (the state the run ends in)."""
    last = frame.groupby("replication")["step"].transform("max")
    return frame[frame["step"] == last]


def run_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of steps ``1..T``: step 0 is the initial state, not something that happened."""
    return frame[frame["step"] >= 1]


def _numeric_metrics(frame: pd.DataFrame, table: str) -> list[str]:
    keys = set(KEYS[table])
    return [
        c for c in frame.columns
        if c not in keys and pd.api.types.is_numeric_dtype(frame[c])
    ]


def _final_step(tables: Mapping[str, pd.DataFrame]) -> int | None:
    for name in ("market", "institutions", "channels"):
        frame = tables.get(name)
        if frame is not None and not frame.empty:
            return int(frame["step"].max())
    return None


# --------------------------------------------------------------------------- sections


def _market_section(
    market: pd.DataFrame, reps: list[int], metrics: Sequence[str] | None, level: float
) -> dict[str, Any]:
    available = _numeric_metrics(market, "market")
    if metrics is None:
        chosen = available
    else:
        unknown = [m for m in metrics if m not in available]
        if unknown:
            raise ValueError(f"unknown market metric(s) {unknown}; available: {available}")
        chosen = list(metrics)
    final = final_rows(market).set_index("replication").reindex(reps)
    section: dict[str, Any] = {
        "final_step": {m: _stat(final[m], level) for m in chosen},
        "whole_run": {},
    }
    flows = [m for m in MARKET_FLOWS if m in chosen]
    during = run_rows(market)
    if flows:
        totals = during.groupby("replication")[flows].sum().reindex(reps)
        section["whole_run"] = {f"{m}_total": _stat(totals[m], level) for m in flows}
    if "r_eff" in chosen:
        per_rep = during.groupby("replication")["r_eff"].mean().reindex(reps)
        section["whole_run"]["r_eff_mean_over_steps"] = _stat(per_rep, level)
    return section


def _institution_section(inst: pd.DataFrame, reps: list[int], level: float) -> dict[str, Any]:
    known = set(INSTITUTION_LEVELS) | set(INSTITUTION_FLOWS) | {"cac"}
    numeric = _numeric_metrics(inst, "institutions")
    levels = [c for c in INSTITUTION_LEVELS if c in numeric]
    levels += [c for c in numeric if c.startswith("customers_")]
    levels += [c for c in numeric if c not in known and not c.startswith("customers_")]
    flows = [c for c in INSTITUTION_FLOWS if c in numeric]

    final = final_rows(inst)
    totals = run_rows(inst).groupby(["institution", "replication"])[flows].sum()
    section: dict[str, Any] = {}
    for ident in pd.unique(inst["institution"]):
        rows = inst[inst["institution"] == ident]
        at_end = final[final["institution"] == ident].set_index("replication").reindex(reps)
        if ident in totals.index.get_level_values(0):
            run = totals.xs(ident, level="institution").reindex(reps, fill_value=0)
        else:
            run = pd.DataFrame(0.0, index=reps, columns=flows)
        whole_run = {f"{c}_total": _stat(run[c], level) for c in flows}
        if {"acquisition_spend", "new_customers"} <= set(flows):
            whole_run["cac"] = _stat(_ratio(run["acquisition_spend"], run["new_customers"]), level)
        section[str(ident)] = {
            "kind": _first(rows, "kind"),
            "type": _first(rows, "type"),
            "final_step": {c: _stat(at_end[c], level) for c in levels},
            "whole_run": whole_run,
        }
    return section


def _first(rows: pd.DataFrame, column: str) -> str | None:
    if column not in rows.columns or rows.empty:
        return None
    return str(rows[column].iloc[0])


def _channel_stats(grid: pd.DataFrame, level: float) -> dict[str, Any]:
    """Whole-run stats per channel from a (replication × channel) grid of totals."""
    new = grid["new_customers"]
    spend = grid["spend"]
    all_new = new.sum(axis=1).to_numpy()
    out: dict[str, Any] = {}
    for channel in channel_order(new.columns):
        out[channel] = {
            "new_customers": _stat(new[channel], level),
            "spend": _stat(spend[channel], level),
            "cac": _stat(_ratio(spend[channel], new[channel]), level),
            "share_of_new_customers": _stat(_ratio(new[channel], all_new), level),
        }
    return out


def _totals_grid(frame: pd.DataFrame, keys: list[str], reps: list[int]) -> pd.DataFrame:
    """Whole-run totals of new customers and spend, one row per replication, columns per key.

    Replications with no rows for a channel count as zero: no rows means no
    customers and no spend, not missing data.
    """
    summed = frame.groupby(["replication", *keys])[["new_customers", "spend"]].sum()
    grid = summed.unstack(keys, fill_value=0)
    return grid.reindex(reps, fill_value=0)


def _channel_section(channels: pd.DataFrame, reps: list[int], level: float) -> dict[str, Any]:
    during = run_rows(channels)
    section: dict[str, Any] = {"by_institution": {}, "all_institutions": {}}
    if during.empty:
        return section
    for ident in pd.unique(during["institution"]):
        rows = during[during["institution"] == ident]
        section["by_institution"][str(ident)] = _channel_stats(
            _totals_grid(rows, ["channel"], reps), level
        )
    section["all_institutions"] = _channel_stats(_totals_grid(during, ["channel"], reps), level)
    return section


# --------------------------------------------------------------------------- public API


def summarize(
    tables: Mapping[str, pd.DataFrame],
    metrics: Sequence[str] | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """Summarise a run: final-step and whole-run means with intervals over replications.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The run's tables; ``market``, ``institutions`` and ``channels`` are
        used when present (each section is omitted if its table is absent).
    metrics : sequence of str, optional
        Market columns to report. By default every numeric, non-key column,
        so columns added later (defaults, contagion) are reported too.
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    dict
        JSON-serialisable (NaN replaced by ``None``)::

            replications, final_step, interval{level, method, note},
            market{final_step{metric: stat}, whole_run{<flow>_total, r_eff_mean_over_steps}},
            institutions{id: {kind, type, final_step{...}, whole_run{..., cac}}},
            acquisitions_by_channel{by_institution{id: {channel: ...}}, all_institutions{channel: ...}}

        where each ``stat`` is ``{mean, low, high, n}`` and ``n`` counts the
        replications in which the quantity is defined. Whole-run figures sum
        steps ``1..T`` per replication; CAC is a ratio of those sums, computed
        per replication before averaging.
    """
    _check_level(level)
    for name, frame in tables.items():
        if name in KEYS:
            check_columns(name, frame)
    reps = replications_of(tables)
    summary: dict[str, Any] = {
        "schema": SUMMARY_SCHEMA,
        "replications": len(reps),
        "final_step": _final_step(tables),
        "interval": {
            "level": level,
            "method": (
                "Student t interval over replications: mean ± t(n-1) · sd / sqrt(n), "
                "where n counts replications in which the value is defined"
            ),
            "note": _interval_note(len(reps)),
        },
    }
    if "market" in tables and not tables["market"].empty:
        summary["market"] = _market_section(tables["market"], reps, metrics, level)
    if "institutions" in tables and not tables["institutions"].empty:
        summary["institutions"] = _institution_section(tables["institutions"], reps, level)
    if "channels" in tables:
        summary["acquisitions_by_channel"] = _channel_section(tables["channels"], reps, level)
    return to_jsonable(summary)


def _interval_note(replications: int) -> str:
    if replications == 1:
        return (
            "Only 1 replication: intervals are undefined and reported as null; "
            "run more replications to measure uncertainty."
        )
    return "Intervals are null where fewer than 2 replications define the value."


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars to Python ones and NaN/inf to ``None``.

    JSON has no NaN; strict parsers (browsers, ``jq``) reject it, so undefined
    numbers are written as ``null``.
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, (str, Path)):
        return str(obj)
    raise TypeError(f"cannot put {type(obj).__name__} into a JSON summary: {obj!r}")


def write_summary(summary: Mapping[str, Any], path: Path) -> Path:
    """Write a summary as indented, strict JSON (no NaN), atomically.

    Parameters
    ----------
    summary : mapping
        Output of :func:`summarize` (or any JSON-like mapping).
    path : Path
        Destination, conventionally ``results/<scenario>/summary.json``.

    Returns
    -------
    Path
        ``path``.
    """
    text = json.dumps(to_jsonable(summary), indent=2, allow_nan=False, ensure_ascii=False)
    return write_text_atomic(text + "\n", Path(path))
