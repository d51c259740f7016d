"""The waterfall chart of an attribution: what each change did to one metric (see sim.experiments.attribution).

Bars start where the previous one ended: each change's one-at-a-time
contribution, then the interaction remainder, then the total from zero.
Error bars are 95% intervals of each part over paired replications.  The
axis is plain (no offset notation) and includes zero, so bar lengths compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.experiments.attribution import REMAINDER, TOTAL, Attribution
from sim.outputs._style import deck_style, display, mean_note, save_png, titles

#: Up to this many metrics get a waterfall in a report (those with the clearest totals).
MAX_WATERFALLS = 4


def metric_label(metric: str, names: Mapping[str, str] | None = None) -> str:
    """A key metric's name with an institution id prefix (``citic: cac (run)``) shown by its display name."""
    ident, sep, rest = metric.partition(": ")
    return f"{display(ident, names)}: {rest}" if sep else metric


def waterfall(rows: pd.DataFrame, metric: str, base: str, target: str, ax: Axes | None = None,
              path: Path | None = None, names: Mapping[str, str] | None = None) -> Axes:
    """Draw one metric's waterfall from the rows of :meth:`Attribution.for_metric`.

    ``names`` maps institution ids to display names (for the title and axis label).
    """
    metric = metric_label(metric, names)
    with deck_style():
        if ax is None:
            ax = Figure(figsize=(10.0, 5.4), layout="constrained").add_subplot()
        starts, heights, colors = [], [], []
        level = 0.0
        for _, row in rows.iterrows():
            value = float(row["contribution"])
            if row["part"] == TOTAL:
                starts.append(0.0)
                colors.append("0.35")
            else:
                starts.append(level)
                level += value
                colors.append("0.6" if row["part"] == REMAINDER else ("tab:blue" if value >= 0 else "tab:red"))
            heights.append(value)
        x = np.arange(len(rows))
        ax.bar(x, heights, bottom=starts, color=colors, width=0.6)
        ends = np.array(starts) + np.array(heights)
        low = rows["low"].to_numpy(dtype=float)
        high = rows["high"].to_numpy(dtype=float)
        mean = rows["contribution"].to_numpy(dtype=float)
        errors = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
        ax.errorbar(x, ends, yerr=errors, fmt="none", ecolor="black", capsize=4, lw=1)
        ax.axhline(0.0, color="black", lw=0.8)
        labels = [_label(p) for p in rows["part"]]
        ax.set_xticks(x, labels, rotation=20 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center")
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        bottom, top = ax.get_ylim()
        ax.set_ylim(min(bottom, 0.0), max(top, 0.0))
        ax.set_ylabel(f"Change in {metric}")
        pairs = int(rows["pairs"].max()) if len(rows) else 0
        titles(ax, f"What each change did: {metric}",
               f"{base} → {target}, one change at a time; {mean_note(pairs)}; whiskers: 95% interval")
        save_png(ax, path)
    return ax


def _label(part: str) -> str:
    """A short axis label for a change group (its last two keys) or a fixed part."""
    if part in (TOTAL, REMAINDER):
        return {TOTAL: "Total", REMAINDER: "Interaction"}[part]
    return ".".join(part.split(".")[-2:])


def chosen_metrics(attribution: Attribution, limit: int = MAX_WATERFALLS) -> list[str]:
    """The metrics worth a waterfall: non-zero totals, clearest (|mean| / interval half-width) first."""
    totals = attribution.table[attribution.table["part"] == TOTAL].copy()
    totals = totals[totals["contribution"].abs() > 0]
    half = (totals["high"] - totals["low"]).abs() / 2
    totals["clarity"] = totals["contribution"].abs() / half.where(half > 0, np.nan)
    totals["clarity"] = totals["clarity"].fillna(np.inf)
    return list(totals.sort_values("clarity", ascending=False)["metric"].head(limit))


def write_waterfalls(attribution: Attribution, plots_dir: Path, metrics: Sequence[str] | None = None,
                     names: Mapping[str, str] | None = None) -> list[Path]:
    """One waterfall PNG per chosen metric in ``plots_dir``; the paths written."""
    plots_dir = Path(plots_dir)
    plots_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, metric in enumerate(metrics if metrics is not None else chosen_metrics(attribution)):
        path = plots_dir / f"attribution_{i + 1}.png"
        waterfall(attribution.for_metric(metric), metric, attribution.base, attribution.target, path=path,
                  names=names)
        paths.append(path)
    return paths


__all__ = ["chosen_metrics", "waterfall", "write_waterfalls"]
