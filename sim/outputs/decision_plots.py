"""The decisions chart: each institution's levers over time, as its policy and the events moved them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.experiments.store import atomic_path
from sim.outputs._style import DPI, FIGSIZE, deck_style, step_label

#: Most lever panels one chart shows (the levers changed most often first).
MAX_PANELS = 12


def lever_paths(decisions: pd.DataFrame, horizon: int) -> dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]]:
    """Per (owner, lever) with numeric values: one (steps, values) step path per replication, from 0 to ``horizon``."""
    numeric = decisions.dropna(subset=["after_value"])
    paths: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    for (owner, lever), group in numeric.groupby(["owner", "lever"], sort=False):
        for _, rep in group.groupby("replication"):
            rep = rep.sort_values("step", kind="stable")
            steps = np.concatenate([[0], rep["step"].to_numpy(), [horizon]])
            first = rep["before_value"].iloc[0]
            values = np.concatenate([[first], rep["after_value"].to_numpy(), [rep["after_value"].iloc[-1]]])
            paths.setdefault((owner, lever), []).append((steps, values))
    return paths


def plot_decisions(tables, path: Path | None = None, *, title: str | None = None,
                   time_unit: str = "month") -> Figure | None:
    """Small multiples of every numeric lever that changed during the run, one line per replication.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Needs ``decisions`` (and ``market`` for the horizon).
    path : Path, optional
        Write the chart there as PNG.
    title : str, optional
        Default "Levers over time (decisions and events)".
    time_unit : str
        The scenario's ``time.unit``, for the x-axis label.

    Returns
    -------
    Figure or None
        None when no numeric lever changed (nothing is written).
    """
    decisions = tables.get("decisions")
    if decisions is None or decisions.dropna(subset=["after_value"]).empty:
        return None
    horizon = int(tables["market"]["step"].max()) if "market" in tables else int(decisions["step"].max())
    paths = lever_paths(decisions, horizon)
    counts = decisions.groupby(["owner", "lever"]).size()
    keys = sorted(paths, key=lambda k: (-counts[k], k))[:MAX_PANELS]
    columns = min(4, len(keys))
    rows = math.ceil(len(keys) / columns)
    title = title or "Levers over time (decisions and events)"
    with deck_style():
        fig = Figure(figsize=FIGSIZE, layout="constrained")
        axes = fig.subplots(rows, columns, squeeze=False)
        for ax, key in zip(axes.ravel(), keys, strict=False):
            for steps, values in paths[key]:
                ax.step(steps, values, where="post", lw=1.2, alpha=0.8)
            _panel(ax, f"{key[0].split('.', 1)[-1]}: {key[1]}")
        for ax in axes.ravel()[len(keys):]:
            ax.set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel(step_label(time_unit), fontsize=9)
        shown = "" if len(paths) <= MAX_PANELS else f" ({MAX_PANELS} of {len(paths)} levers, most changed first)"
        fig.suptitle(f"{title}{shown}", x=0.01, ha="left", fontweight="bold")
        if path is not None:
            with atomic_path(Path(path)) as tmp:
                fig.savefig(tmp, format="png", dpi=DPI)
    return fig


def _panel(ax: Axes, label: str) -> None:
    ax.set_title(label, loc="left", fontsize=10)
    ax.tick_params(labelsize=8)
    ax.grid(True, alpha=0.3)
