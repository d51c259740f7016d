"""Charts of a sensitivity analysis: the indices with their intervals, and the metric against each parameter.

:func:`plot_indices` draws Morris ``μ*`` (with ``σ`` beside it) or Sobol'
``S1``/``ST`` as horizontal bars with their 95% bootstrap intervals, most
influential at the top, parameter paths wrapped so that they fit.
:func:`plot_samples` draws the analysed metric at every sample point against
each parameter, to see the shape behind an index.  :func:`write_sensitivity_plots`
writes both into the analysis folder.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim.experiments.store import atomic_path
from sim.outputs._style import DPI, deck_style
from sim.outputs.formats import axis_formatter

NAVY, LIGHT = "#1f4e79", "#8fb3d9"


def _wrap(path: str, width: int = 28) -> str:
    """A dotted path broken at its dots so that a long one fits beside a bar."""
    return "\n".join(textwrap.wrap(path.replace(".", ". "), width)).replace(". ", ".")


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return path


def plot_indices(result, path: str | Path) -> Path:
    """Bars of the indices with 95% bootstrap intervals (Morris also: μ* against σ)."""
    table = result.indices.sort_values("rank", ascending=False)  # most influential at the top
    names = [_wrap(p) for p in table["parameter"]]
    y = np.arange(len(names))
    lines = sum(n.count("\n") + 1 for n in names)
    height = 2.2 + 0.38 * max(lines, len(names))
    with deck_style():
        if result.method == "sobol":
            fig = Figure(figsize=(10, height), layout="constrained")
            ax = fig.add_subplot()
            ax.barh(y + 0.2, table["ST"], 0.4, xerr=table["ST_conf"], label="total (ST)", color=NAVY, capsize=3)
            ax.barh(y - 0.2, table["S1"], 0.4, xerr=table["S1_conf"], label="first order (S1)", color=LIGHT,
                    capsize=3)
            ax.set_xlabel("Share of the metric's variance (Sobol' index)")
            ax.axvline(0, color="0.5", linewidth=0.8)
            ax.legend(loc="lower right")
            subtitle = f"{len(result.Y)} evaluations; error bars: 95% bootstrap interval"
        else:
            fig = Figure(figsize=(13, height), layout="constrained")
            ax, ax2 = fig.subplots(1, 2, width_ratios=[3, 2])
            mu, conf = table["mu_star"].to_numpy(float), table["mu_star_conf"].to_numpy(float)
            # μ* is a mean of absolute values: its interval is cut at zero
            ax.barh(y, mu, 0.6, xerr=np.vstack([np.minimum(conf, mu), conf]), color=NAVY, capsize=3)
            ax.set_xlabel("μ*: mean |elementary effect| (metric units)")
            ax2.scatter(table["mu_star"], table["sigma"], color=NAVY)
            for _, row in table.iterrows():
                ax2.annotate(row["parameter"].split(".", 1)[-1],
                             (row["mu_star"], row["sigma"]), fontsize=9, xytext=(4, 4), textcoords="offset points")
            ax2.margins(x=0.35, y=0.2)
            ax2.set_xlabel("μ* (importance)")
            ax2.set_ylabel("σ (interactions, non-linearity)")
            ax2.set_title("μ* against σ", loc="left", fontsize=13)
            ax2.set_xlim(left=0)
            ax2.set_ylim(bottom=0)
            subtitle = f"{len(result.Y)} evaluations; error bars: 95% bootstrap interval of μ* (cut at 0)"
        ax.set_yticks(y, names, fontsize=10)
        ax.set_xlim(left=min(0.0, ax.get_xlim()[0]))
        ax.grid(axis="y", visible=False)
        method = "Sobol'" if result.method == "sobol" else "Morris"
        fig.suptitle(f"{method} sensitivity of {result.metric}\n{subtitle}", x=0.01, ha="left", fontsize=14)
    return _save(fig, path)


def plot_samples(result, path: str | Path) -> Path:
    """The metric at each sample point against each parameter (one panel per parameter)."""
    parameters = list(result.bounds)
    unit = "percent" if any(word in result.metric for word in ("share", "rate")) else "count"
    columns = min(3, len(parameters))
    rows = math.ceil(len(parameters) / columns)
    with deck_style():
        fig = Figure(figsize=(4.6 * columns + 0.6, 3.5 * rows + 1.0), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
        for k, (ax, parameter) in enumerate(zip(axes, parameters, strict=False)):
            ax.scatter(result.X[:, k], result.Y, s=14, color=NAVY, alpha=0.6)
            ax.set_xlabel(_wrap(parameter, 40), fontsize=10)
            ax.ticklabel_format(axis="x", useOffset=False, style="plain")
            ax.yaxis.set_major_formatter(axis_formatter(unit))
            if np.nanmin(result.Y) >= 0:
                ax.set_ylim(bottom=0)         # honest axis: the spread is read against the level
            if k % columns == 0:
                ax.set_ylabel(result.metric)
        for ax in axes[len(parameters):]:
            ax.set_visible(False)
        fig.suptitle(f"{result.metric} at each of {len(result.Y)} sample points (mean over replications)",
                     x=0.01, ha="left", fontsize=13)
    return _save(fig, path)


def write_sensitivity_plots(result) -> list[Path]:
    """Write ``indices.png`` and ``samples.png`` into ``result.out``."""
    out = Path(result.out)
    return [plot_indices(result, out / "indices.png"), plot_samples(result, out / "samples.png")]


__all__ = ["plot_indices", "plot_samples", "write_sensitivity_plots"]
