"""The robustness report: share of the space where each claim holds, by size, and where it fails.

Writes into a robustness folder (:func:`sim.experiments.robustness.run_robustness`):

- ``plots/share_by_size.png``: per claim, the share of cells where it holds
  at each population size, with Wilson 95% intervals, on a 0-100% axis;
- ``plots/claim<i>_space.png``: per claim, the cells over the two uncertain
  parameters its first failure box restricts most (or the first two), holds
  and fails marked, with the box drawn;
- ``report.md``: the shares, fragile claims, and the failure boxes as
  dotted-path ranges.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import PercentFormatter

from sim.experiments.robustness import SIZE_PATH, RobustnessResult
from sim.experiments.store import write_text
from sim.outputs._style import PALETTE, deck_style, save_png, titles

FIGSIZE = (10.0, 5.4)


def _claim_label(entry: Mapping[str, Any]) -> str:
    return f"{entry['metric']} {entry['direction']} than {entry['compare_to']}"


def plot_share_by_size(summary: Mapping[str, Any], path: Path) -> Path:
    """Share of cells where each claim holds, per population size, with Wilson intervals."""
    import matplotlib as mpl

    with deck_style():
        ax = Figure(figsize=FIGSIZE, layout="constrained").add_subplot()
        cmap = mpl.colormaps[PALETTE]
        for i, entry in enumerate(summary["claims"]):
            sizes = [row["size"] for row in entry["by_size"]]
            shares = np.array([row["share"] for row in entry["by_size"]])
            low = shares - np.array([row["low"] for row in entry["by_size"]])
            high = np.array([row["high"] for row in entry["by_size"]]) - shares
            ax.errorbar(sizes, shares, yerr=[low, high], marker="o", capsize=4, color=cmap(i % cmap.N),
                        label=_claim_label(entry))
        ax.axhline(summary.get("fragile_below", 0.5), color="0.5", ls="--", lw=1, label="fragile below this")
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xscale("log")
        ax.set_xticks(summary["sizes"], [f"{s:,}" for s in summary["sizes"]])
        ax.minorticks_off()
        ax.set_xlabel("Population size (customers)")
        ax.set_ylabel("Share of the space where the claim holds")
        ax.legend(loc="lower left")
        samples = summary["samples"]
        titles(ax, f"Where the claims of {summary['scenario']} hold",
               f"{samples} Latin hypercube point{'s' if samples != 1 else ''} per size, "
               f"{summary['replications']} paired replications each; whiskers: Wilson 95% interval")
        save_png(ax, path)
    return path


def plot_space(table: pd.DataFrame, entry: Mapping[str, Any], parameters: list[str], path: Path) -> Path | None:
    """The cells of one claim over two parameters, holds and fails marked, with its first failure box."""
    dims = list(entry["failure_boxes"][0]["limits"]) if entry["failure_boxes"] else []
    columns = {SIZE_PATH: "size"}
    dims = [d for d in dims if columns.get(d, d) in table] + [p for p in parameters if p not in dims]
    dims = dims[:2]
    if len(dims) < 2:
        return None
    x, y = (table[columns.get(d, d)].astype(float) for d in dims)
    holds = table["holds"].astype(bool)
    with deck_style():
        ax = Figure(figsize=FIGSIZE, layout="constrained").add_subplot()
        ax.scatter(x[holds], y[holds], marker="o", color="tab:blue", label="claim holds")
        ax.scatter(x[~holds], y[~holds], marker="x", color="tab:red", label="claim fails")
        if entry["failure_boxes"]:
            limits = entry["failure_boxes"][0]["limits"]
            (x0, x1) = limits.get(dims[0], (x.min(), x.max()))
            (y0, y1) = limits.get(dims[1], (y.min(), y.max()))
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="tab:red", ls="--", lw=1.5,
                                   label="where it fails (PRIM box)"))
        ax.ticklabel_format(style="plain", useOffset=False)
        ax.set_xlabel(dims[0])
        ax.set_ylabel(dims[1])
        ax.legend(loc="best")
        titles(ax, f"Where it fails: {_claim_label(entry)}",
               f"one point per size and hypercube sample (sizes share the sample's position); "
               f"holds in {entry['share']:.0%} of the space")
        save_png(ax, path)
    return path


def render_report(summary: Mapping[str, Any], charts: list[Path]) -> str:
    """The Markdown report of a robustness analysis."""
    lines = [f"# Robustness of the claims of {summary['scenario']}", ""]
    sizes = ", ".join(f"{s:,}" for s in summary["sizes"])
    uncertain = ", ".join(f"`{p}`" for p in summary["uncertain"]) or "no uncertain parameter"
    lines.append(
        f"Each claim is judged at every cell of the space: population sizes {sizes} "
        f"crossed with {summary['samples']} Latin hypercube point(s) over {uncertain} "
        f"(ranges from {summary.get('uncertainty_file') or 'the uncertainty file'}), "
        f"on {summary['replications']} paired replications "
        f"(common random numbers, seed {summary['seed']}). A claim holds at a cell when the 95% interval "
        f"of the paired difference lies on the claimed side of zero (or inside the claimed range).")
    if summary.get("left_out"):
        lines += ["", "Left out of the hypercube because the scenario itself sets them against a comparison: "
                  + ", ".join(f"`{p}`" for p in summary["left_out"]) + "."]
    lines += ["", "| Claim | Holds in | 95% interval | Verdict |", "|---|---:|---:|---|"]
    for entry in summary["claims"]:
        verdict = "fragile" if entry["fragile"] else "holds in most of the space"
        lines.append(f"| {_claim_label(entry)} | {entry['holds']} of {entry['cells']} ({entry['share']:.0%}) | "
                     f"[{entry['low']:.0%}, {entry['high']:.0%}] | {verdict} |")
    every = summary["all_claims"]
    lines += ["", f"All claims together hold in {every['holds']} of {every['cells']} cells ({every['share']:.0%}, "
                  f"95% interval [{every['low']:.0%}, {every['high']:.0%}]). A claim holding in under "
                  f"{summary['fragile_below']:.0%} of the space is called fragile.", ""]
    for entry in summary["claims"]:
        lines += [f"## {_claim_label(entry)}", ""]
        lines += [f"- size {row['size']:,}: holds in {row['holds']} of {row['cells']} ({row['share']:.0%})"
                  for row in entry["by_size"]]
        if entry["failure_boxes"]:
            lines += ["", "Where it fails (PRIM boxes; coverage = share of the failures inside, density = share "
                          "of the box's cells that fail):", ""]
            lines += [f"- {box['text']} (coverage {box['coverage']:.0%}, density {box['density']:.0%})"
                      for box in entry["failure_boxes"]]
        lines.append("")
    for chart in charts:
        lines += [f"![{chart.stem}](plots/{chart.name})", ""]
    return "\n".join(lines)


def write_robustness_report(result: RobustnessResult) -> list[Path]:
    """Write the plots and ``report.md`` into the result's folder; the files written."""
    plots = result.out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    charts = [plot_share_by_size(result.summary, plots / "share_by_size.png")]
    for c, entry in enumerate(result.summary["claims"]):
        chart = plot_space(result.table[result.table["claim"] == c], entry, result.parameters,
                           plots / f"claim{c + 1}_space.png")
        if chart is not None:
            charts.append(chart)
    write_text(result.out / "report.md", render_report(result.summary, charts))
    return [*charts, result.out / "report.md"]


__all__ = ["plot_share_by_size", "plot_space", "render_report", "write_robustness_report"]
