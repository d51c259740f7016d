"""The comparison report's charts: time series with event markers, and bars by institution.

Each chart is drawn on a :class:`~matplotlib.figure.Figure` (no ``pyplot``),
with the deck's look (``_style``), honest axes (counts and money start at zero,
no offset or scientific notation, "Step (month)" from the scenario's time unit)
and display names.  A chart whose quantity is zero in every scenario is not
drawn; :func:`plot_comparison` returns a note saying so instead.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.experiments.stats import group_mean_ci
from sim.outputs._style import deck_style, save_png, titles
from sim.outputs.formats import axis_formatter, describe_metric, step_label

#: Size of a report chart: a little smaller than a slide, so the page stays light.
REPORT_FIGSIZE = (10.0, 5.4)
COLORS = [f"C{i}" for i in range(10)]


@dataclass
class Charts:
    """The charts written (path and caption) and notes on charts left out."""

    paths: list[Path] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _figure() -> Axes:
    return Figure(figsize=REPORT_FIGSIZE, layout="constrained").add_subplot()


def event_markers(ax: Axes, scenarios, colors: list[str]) -> bool:
    """Dotted vertical lines at each scenario's timeline events, labelled at the top; whether any was drawn."""
    drawn = False
    seen: dict[int, int] = {}
    for j, scenario in enumerate(scenarios):
        for event in scenario.events:
            label = event.label or ", ".join(event.set)
            row = seen.get(event.at, 0)
            seen[event.at] = row + 1
            ax.axvline(event.at, color=colors[j % len(colors)], ls=":", lw=1.6, alpha=0.9)
            right_half = event.at > scenario.time.steps / 2     # write towards the middle, away from the legend
            ax.annotate(f"{label} ({scenario.name})", (event.at, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(-4 if right_half else 4, -6 - 14 * row), textcoords="offset points", fontsize=9,
                        color=colors[j % len(colors)], va="top", ha="right" if right_half else "left")
            drawn = True
    return drawn


def plot_time_series(results, column: str, path: Path, *, title: str, ylabel: str, cumulative: bool = False,
                     level: float = 0.95) -> Path:
    """One market column over time, a line (mean) and band per scenario, with the timeline events marked."""
    scenarios = [r.scenario for r in results]
    with deck_style():
        ax = _figure()
        for j, result in enumerate(results):
            market = result.tables["market"].sort_values(["replication", "step"])
            if cumulative:
                market = market.assign(**{column: market.groupby("replication")[column].cumsum()})
            series = group_mean_ci(market, "step", column, level)
            color = COLORS[j % len(COLORS)]
            ax.plot(series["step"], series["mean"], color=color, lw=2.2, label=result.scenario.name)
            if series["low"].notna().any():
                ax.fill_between(series["step"], series["low"].clip(lower=0), series["high"], color=color,
                                alpha=0.15, lw=0)
        marked = event_markers(ax, scenarios, COLORS)
        ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * (1.12 if marked else 1.0))
        ax.set_xlim(left=0)
        ax.yaxis.set_major_formatter(axis_formatter("count"))
        ax.set_xlabel(step_label(scenarios[0].time.unit))
        ax.set_ylabel(ylabel)
        ax.legend(title="Scenario", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        reps = results[0].tables["market"]["replication"].nunique()
        note = f"mean of {reps} replications, band: {level:.0%} t interval" if reps > 1 else "1 replication"
        titles(ax, title, note + ("; dotted lines: timeline events" if marked else ""))
        save_png(ax, path)
    return path


def plot_institution_bars(table: pd.DataFrame, suffix: str, names: list[str], labels: Mapping[str, str],
                          path: Path, *, title: str, subtitle: str) -> tuple[Path | None, list[str]]:
    """Grouped bars of one per-institution metric (``<id>: <suffix>``), a bar per scenario, with intervals.

    Institutions whose value is zero or undefined in every scenario get no
    bar; they are returned so the report can say so.  Nothing is drawn (and
    ``None`` returned) when no institution is left.
    """
    rows = table[table["metric"].str.endswith(f": {suffix}") & ~table["metric"].str.startswith("insurer ")].copy()
    rows["institution"] = rows["metric"].str[: -len(suffix) - 2]
    institutions = list(dict.fromkeys(rows["institution"]))
    empty = [i for i in institutions
             if not (rows.loc[rows["institution"] == i, "mean"].fillna(0).abs() > 0).any()]
    keep = [i for i in institutions if i not in empty]
    if not keep:
        return None, empty
    unit = describe_metric(f"x: {suffix}").unit
    with deck_style():
        ax = _figure()
        x = np.arange(len(keep))
        width = 0.8 / len(names)
        for j, name in enumerate(names):
            mine = rows[rows["scenario"] == name].set_index("institution").reindex(keep)
            mean = mine["mean"].to_numpy(dtype=float)
            err = np.vstack([mean - mine["low"].to_numpy(float), mine["high"].to_numpy(float) - mean])
            err = np.where(np.isfinite(err), np.maximum(err, 0), 0.0)
            ax.bar(x + (j - (len(names) - 1) / 2) * width, np.nan_to_num(mean), width, yerr=err,
                   color=COLORS[j % len(COLORS)], label=name, capsize=3,
                   error_kw={"elinewidth": 1, "ecolor": "0.25"})
        ax.set_xticks(x, [textwrap.fill(labels.get(i, i), 16) for i in keep])
        ax.grid(axis="x", visible=False)
        ax.axhline(0, color="0.4", lw=0.8)
        if (rows["mean"].fillna(0) >= 0).all():
            ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(axis_formatter(unit))
        ax.set_ylabel({"percent": "Share", "yuan": "Yuan (k = thousand, M = million)"}.get(unit, "Customers"))
        ax.legend(title="Scenario", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        titles(ax, title, subtitle)
        save_png(ax, path)
    return path, empty


def plot_comparison(comparison, out_dir: Path, labels: Mapping[str, str]) -> Charts:
    """Every chart of the report into ``out_dir``, with captions and notes on what was left out."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = Charts()
    results, names = comparison.results, comparison.names
    reps = comparison.replications

    path = plot_time_series(results, "active", out_dir / "active_customers.png",
                            title="Active customers over time", ylabel="Customers with at least one product")
    charts.paths.append(path)
    charts.captions[path.name] = "Active customers over time, by scenario."

    if all("new_defaults" in r.tables["market"] for r in results):
        if any(r.tables["market"]["new_defaults"].sum() > 0 for r in results):
            path = plot_time_series(results, "new_defaults", out_dir / "defaults.png", cumulative=True,
                                    title="Defaults so far", ylabel="Borrowers defaulted (cumulative)")
            charts.paths.append(path)
            charts.captions[path.name] = "Cumulative defaults, by scenario."
        else:
            charts.notes.append("No defaults chart: no borrower defaulted in any scenario.")

    table = comparison.table()
    interval = f"mean of {reps} replications, {{}}" if reps > 1 else "1 replication (no interval)"
    for suffix, title, how, filename in (
            ("market_share", "Market share at the end", "bars: 95% percentile bootstrap interval", "market_share.png"),
            ("profit (run)", "Profit over the run", "bars: 95% t interval", "profit.png"),
            ("cac (run)", "Acquisition cost per new customer (whole run)", "bars: 95% t interval", "cac.png")):
        subtitle = interval.format(how)
        path, empty = plot_institution_bars(table, suffix, names, labels, out_dir / filename, title=title,
                                            subtitle=subtitle)
        what = title[0].lower() + title[1:]
        if path is None:
            charts.notes.append(f"No chart of {what}: it is zero or undefined for every institution.")
            continue
        charts.paths.append(path)
        charts.captions[path.name] = f"{title}, by institution and scenario."
        if empty:
            charts.notes.append(f"Left out of the chart of {what} (zero or undefined in every scenario): "
                                + ", ".join(labels.get(i, i) for i in empty) + ".")
    return charts


__all__ = ["Charts", "event_markers", "plot_comparison", "plot_institution_bars", "plot_time_series"]
