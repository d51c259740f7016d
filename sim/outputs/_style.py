"""The look shared by every deck chart: slide style and size, titles, notes, colours, saving.

Private to :mod:`sim.outputs`: :mod:`~sim.outputs.plots` and
:mod:`~sim.outputs.risk_plots` both draw with these helpers, so that every
chart of a run looks the same and neither chart module imports the other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.experiments.store import atomic_path

Tables = Mapping[str, pd.DataFrame]

#: Slide-friendly defaults: large type, light grid, no top/right spines.
DECK_STYLE: dict[str, object] = {
    "font.size": 12,
    "axes.titlesize": 16,
    "axes.titleweight": "bold",
    "axes.labelsize": 13,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.title_fontsize": 11,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.3,
}

#: 16:9, the shape of a slide.
FIGSIZE: tuple[float, float] = (12.0, 6.75)
DPI = 150
PALETTE = "tab10"


@contextlib.contextmanager
def deck_style() -> Iterator[None]:
    with mpl.rc_context(DECK_STYLE):
        yield


def axes_for(ax: Axes | None) -> Axes:
    """The Axes to draw on: the caller's, or one on a new slide-shaped figure."""
    if ax is not None:
        return ax
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    return fig.add_subplot()


def save_png(ax: Axes, path: Path | None) -> None:
    """Write the Axes' figure as PNG to ``path`` atomically (if a path is given)."""
    if path is None:
        return
    with atomic_path(Path(path)) as tmp:
        ax.figure.savefig(tmp, format="png", dpi=DPI)


def titles(ax: Axes, title: str, subtitle: str) -> None:
    """Bold left-aligned title with a smaller grey subtitle beneath it (what, then how)."""
    ax.set_title(title, loc="left", pad=24)
    ax.text(0.0, 1.015, subtitle, transform=ax.transAxes, ha="left", va="bottom",
            fontsize=11, color="0.35")


def replication_note(n_reps: int, what: str = "band", level: float = 0.95) -> str:
    """Subtitle fragment saying what the line/bar and its interval are."""
    if n_reps <= 1:
        return "1 replication (no interval)"
    return f"mean of {n_reps} replications; {what}: {level:.0%} interval"


def mean_note(n_reps: int) -> str:
    return "1 replication" if n_reps <= 1 else f"mean of {n_reps} replications"


#: Steps of each time unit pooled into one point of a smoothed series: a quarter, or one step when a step is longer.
SMOOTHING_STEPS: dict[str, int] = {"day": 91, "week": 13, "month": 3, "quarter": 1, "year": 1}


def step_label(time_unit: str = "month") -> str:
    """The one x-axis label of every time chart: ``Step (month)``."""
    return f"Step ({time_unit})"


def smoothing(time_unit: str = "month") -> tuple[int, str]:
    """Steps pooled per point of a smoothed series, and how to say it (``by quarter (3 steps)``)."""
    steps = SMOOTHING_STEPS.get(time_unit, 1)
    if steps <= 1:
        return 1, f"per {time_unit}"
    return steps, f"pooled by quarter ({steps} steps)"


def no_data(ax: Axes, title: str, message: str) -> None:
    ax.set_title(title, loc="left")
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center",
            fontsize=14, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def display(ident: object, names: Mapping[str, str] | None) -> str:
    """The display name of an institution or insurer id (its ``name`` in the scenario), else the id."""
    return (names or {}).get(str(ident), str(ident))


def institution_colors(tables: Tables) -> dict[str, tuple[float, ...]]:
    """One colour per institution, stable across all charts of a run.

    Institutions are taken in model order (banks, then platforms, as they
    first appear in the ``institutions`` table), then any others seen only in
    ``channels`` or ``funnel``.
    """
    ids: list[str] = []
    for name in ("institutions", "channels", "funnel"):
        frame = tables.get(name)
        if frame is not None and "institution" in frame.columns:
            ids += [str(i) for i in pd.unique(frame["institution"]) if str(i) not in ids]
    cmap = mpl.colormaps[PALETTE]
    return {ident: cmap(k % cmap.N) for k, ident in enumerate(ids)}
