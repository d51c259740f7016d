"""What a person reads after a sweep: ``summary.csv`` and each headline metric against each swept parameter.

:func:`sweep_summary` reduces every design point's runs with the same key
metrics a comparison uses (:func:`sim.experiments.metrics.key_metrics`) and
summarises them over replications: rates and shares with a percentile
bootstrap of the replication means (inside [0, 1]), other metrics with a
Student t interval (clipped at zero for non-negative quantities).
:func:`write_sweep_summary` writes ``summary.csv`` and ``plots/<parameter>.png``
into the sweep folder: one panel per headline metric, the metric's mean and
interval at each point against the parameter's value.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.experiments.compare import is_rate
from sim.experiments.gather import gather, read_manifest
from sim.experiments.metrics import key_metrics
from sim.experiments.stats import bootstrap_mean_ci, mean_ci
from sim.experiments.store import atomic_path
from sim.outputs._style import DPI, deck_style
from sim.outputs.formats import axis_formatter, describe_metric, display_names

#: Market metrics drawn against each parameter (with each institution's market share).
HEADLINE_METRICS = ("active", "new_active (run)", "default_rate (run)")


def summarize_values(values: np.ndarray, metric: str, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and interval of one metric's replication values (bootstrap for rates, t otherwise)."""
    if is_rate(metric):
        return bootstrap_mean_ci(values, level)
    mean, low, high = mean_ci(values, level)
    finite = values[np.isfinite(values)]
    if math.isfinite(low) and finite.size and finite.min() >= 0:
        low = max(low, 0.0)
    return mean, low, high


def sweep_summary(tables: Mapping[str, pd.DataFrame], design: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """One row per (design point, key metric): the point's parameters, ``mean``, ``low``, ``high``, ``n``.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Gathered sweep tables (a ``point`` column); needs ``market`` and ``institutions``.
    design : DataFrame
        ``point`` and one column per swept parameter (:meth:`Design.to_frame`).
    level : float, default 0.95
    """
    parameters = [c for c in design.columns if c != "point"]
    rows = []
    for point in design["point"]:
        mine = {name: frame[frame["point"] == point] for name, frame in tables.items() if "point" in frame.columns}
        if mine.get("market") is None or mine["market"].empty:
            continue
        values = key_metrics(mine)
        settings = design.loc[design["point"] == point, parameters].iloc[0].to_dict()
        for metric in values.columns:
            column = values[metric].to_numpy(dtype=float)
            mean, low, high = summarize_values(column, metric, level)
            rows.append({"point": int(point), **settings, "metric": metric, "mean": mean, "low": low, "high": high,
                         "n": int(np.isfinite(column).sum()),
                         "interval": "percentile bootstrap" if is_rate(metric) else "student t"})
    return pd.DataFrame(rows, columns=["point", *parameters, "metric", "mean", "low", "high", "n", "interval"])


def headline_metrics(summary: pd.DataFrame) -> list[str]:
    """The metrics drawn: :data:`HEADLINE_METRICS` present, then each institution's market share."""
    present = list(dict.fromkeys(summary["metric"]))
    chosen = [m for m in HEADLINE_METRICS if m in present]
    chosen += [m for m in present if m.endswith(": market_share") and not m.startswith("insurer ")]
    return chosen


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def plot_against_parameter(summary: pd.DataFrame, parameter: str, metrics: Sequence[str], path: Path,
                           names: Mapping[str, str] | None = None, level: float = 0.95) -> Path | None:
    """One panel per metric: mean and interval at each design point against ``parameter``.

    Points are joined by a line when the parameter is the only one swept;
    otherwise each point is drawn on its own (its other parameters differ).
    Returns None (nothing drawn) when every metric is zero or undefined.
    """
    names = names or {}
    parameters = [c for c in summary.columns if c not in ("point", "metric", "mean", "low", "high", "n", "interval")]
    keep = [m for m in metrics if (summary.loc[summary["metric"] == m, "mean"].fillna(0).abs() > 0).any()]
    if not keep:
        return None
    numeric = pd.api.types.is_numeric_dtype(summary[parameter]) and not pd.api.types.is_bool_dtype(summary[parameter])
    categories = list(dict.fromkeys(summary[parameter].astype(str))) if not numeric else None
    columns = min(3, len(keep))
    rows = math.ceil(len(keep) / columns)
    with deck_style():
        fig = Figure(figsize=(4.6 * columns + 0.6, 3.6 * rows + 0.9), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
        for ax, metric in zip(axes, keep, strict=False):
            info = describe_metric(metric, names)
            mine = summary[summary["metric"] == metric].sort_values(parameter)
            x = mine[parameter].to_numpy(float) if numeric else mine[parameter].astype(str).map(
                {c: i for i, c in enumerate(categories)}).to_numpy(float)
            mean = mine["mean"].to_numpy(float)
            err = np.vstack([mean - mine["low"].to_numpy(float), mine["high"].to_numpy(float) - mean])
            err = np.where(np.isfinite(err), np.maximum(err, 0), 0.0)
            ax.errorbar(x, mean, yerr=err, fmt="o-" if len(parameters) == 1 else "o", color="#1f4e79",
                        ecolor="0.35", capsize=3, lw=1.8, ms=5)
            ax.set_title(textwrap.fill(info.headline, 34), fontsize=12, loc="left")
            ax.yaxis.set_major_formatter(axis_formatter(info.unit))
            if info.unit != "ratio" and (mine["mean"].fillna(0) >= 0).all():
                ax.set_ylim(bottom=0)
            if categories is not None:
                ax.set_xticks(range(len(categories)), categories)
            else:
                ax.ticklabel_format(axis="x", useOffset=False, style="plain")
            ax.set_xlabel(textwrap.fill(parameter, 40), fontsize=10)
        for ax in axes[len(keep):]:
            ax.set_visible(False)
        reps = int(summary["n"].max()) if len(summary) else 0
        fig.suptitle(f"Key metrics against {parameter}\nmean of {reps} replications per point, "
                     f"{level:.0%} interval (shares: bootstrap; others: t)", x=0.01, ha="left", fontsize=13)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
    return path


def write_sweep_summary(out: str | Path, tables: Mapping[str, pd.DataFrame] | None = None, *,
                        scenario: Any = None, level: float = 0.95) -> dict[str, object]:
    """Write ``summary.csv`` and ``plots/<parameter>.png`` into a sweep folder.

    Parameters
    ----------
    out : path
        The sweep folder (it has ``manifest.json``).
    tables : mapping, optional
        Its gathered tables; by default gathered from the parts (``market``,
        ``institutions``, ``credit``, ``insurers``).
    scenario : Scenario, optional
        The base scenario, for the institutions' display names.
    level : float, default 0.95
        Level of each point's interval over its replications (``low``,
        ``high`` in summary.csv and the bands of the charts): a percentile
        bootstrap for rates and shares, a Student t interval otherwise
        (:func:`summarize_values`).

    Returns
    -------
    dict
        ``summary`` (Path of summary.csv) and ``plots`` (list of Path).
    """
    out = Path(out)
    manifest = read_manifest(out)
    design = pd.DataFrame(manifest["design"]["points"], columns=manifest["design"]["parameters"])
    design.insert(0, "point", np.arange(len(design), dtype=np.int64))
    names = display_names([scenario]) if scenario is not None else {}
    if tables is None or "market" not in tables:
        tables = gather(out, tables=["market", "institutions", "credit", "insurers"], write=False)
    summary = sweep_summary(tables, design, level)
    with atomic_path(out / "summary.csv") as tmp:
        summary.to_csv(tmp, index=False)
    plots = []
    metrics = headline_metrics(summary) if not summary.empty else []
    for parameter in manifest["design"]["parameters"]:
        if summary.empty or summary[parameter].nunique() < 2:
            continue
        path = plot_against_parameter(summary, parameter, metrics, out / "plots" / f"{_slug(parameter)}.png",
                                      names, level)
        if path is not None:
            plots.append(path)
    return {"summary": out / "summary.csv", "plots": plots}


__all__ = ["HEADLINE_METRICS", "headline_metrics", "plot_against_parameter", "summarize_values", "sweep_summary",
           "write_sweep_summary"]
