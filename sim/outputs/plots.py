"""Deck-ready charts of a run: market share, funnel, acquisition cost, adoption.

Every chart is a plain function of the run's tables. It draws on an Axes you
pass (for notebooks and multi-panel figures) or on a new 16:9 figure, and
writes a PNG when given a path. Figures are built with
:class:`matplotlib.figure.Figure` rather than ``pyplot``: no GUI backend is
touched, nothing is registered in pyplot's global figure list (so nothing is
left open to close), and PNGs are rendered by Agg, which makes the functions
safe in worker processes and on headless machines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter, StrMethodFormatter

from sim.experiments.metrics import replications_of, run_rows
from sim.experiments.schema import STAGES, channel_order, check_columns, require_tables
from sim.experiments.stats import group_mean_ci
from sim.outputs._style import (
    Tables,
    axes_for,
    deck_style,
    display,
    institution_colors,
    mean_note,
    no_data,
    replication_note,
    save_png,
    step_label,
    titles,
)


def _kinds(tables: Tables) -> dict[str, str]:
    inst = tables.get("institutions")
    if inst is None or inst.empty or "kind" not in inst.columns:
        return {}
    first = inst.drop_duplicates("institution")
    return dict(zip(first["institution"].astype(str), first["kind"].astype(str), strict=True))


def _whole_run_by_rep(
    frame: pd.DataFrame, keys: list[str], values: list[str], reps: list[int]
) -> pd.DataFrame:
    """Totals over steps 1..T per replication and key, with absent combinations as zero.

    A channel or stage with no rows in a replication brought nobody in that
    replication, so it counts as 0 in the mean, not as missing. ``reps`` are
    all replications of the run (a replication may have no rows in a sparse
    table such as ``funnel``).
    """
    totals = run_rows(frame).groupby(["replication", *keys])[values].sum()
    combos = totals.index.droplevel("replication").unique() if len(totals) else None
    if combos is None:
        return pd.DataFrame(columns=["replication", *keys, *values])
    combos = combos if isinstance(combos, pd.MultiIndex) else pd.MultiIndex.from_arrays([combos], names=keys)
    full = pd.MultiIndex.from_tuples(
        [(r, *c) for r in reps for c in combos], names=["replication", *keys]
    )
    return totals.reindex(full, fill_value=0).reset_index()


# --------------------------------------------------------------------------- charts


def plot_market_share(
    tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
    title: str | None = None, level: float = 0.95, time_unit: str = "month",
    names: Mapping[str, str] | None = None,
) -> Axes:
    """Market share of each institution over time, mean over replications with a band.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Needs ``institutions``.
    path : Path, optional
        Write the chart there as PNG.
    ax : Axes, optional
        Draw on this Axes instead of a new figure.
    title : str, optional
        Chart title; default "Market share by institution".
    level : float, default 0.95
        Level of the shaded interval (Student t over replications).
    time_unit : str, default "month"
        What a step is (the scenario's ``time.unit``), for the x-axis label.
    names : mapping of str to str, optional
        Institution ids to the names shown in the legend (the scenario's
        ``name`` entries, :func:`sim.outputs.results.institution_names`); an id
        not in it is shown as is.

    Returns
    -------
    Axes
        The Axes drawn on.

    Notes
    -----
    An institution without a row at some (replication, step) is counted as
    holding no share there. Banks are solid lines, platforms dashed. Bands
    are clipped to [0, 100%] for display (a t interval of a share can
    overshoot with few replications); ``summary.json`` keeps them unclipped.
    """
    require_tables(tables, ["institutions"])
    inst = tables["institutions"]
    check_columns("institutions", inst)
    title = title or "Market share by institution"
    with deck_style():
        ax = axes_for(ax)
        if inst.empty:
            no_data(ax, title, "No institution rows in this run")
            save_png(ax, path)
            return ax
        ids = [str(i) for i in pd.unique(inst["institution"])]
        frame = inst.assign(institution=inst["institution"].astype(str))
        pairs = frame[["replication", "step"]].drop_duplicates()
        full = pairs.merge(pd.DataFrame({"institution": ids}), how="cross")
        full = full.merge(frame[["replication", "step", "institution", "market_share"]],
                          how="left", on=["replication", "step", "institution"])
        full["market_share"] = full["market_share"].fillna(0.0)
        ci = group_mean_ci(full, ["institution", "step"], "market_share", level)
        colors, kinds = institution_colors(tables), _kinds(tables)
        for ident in ids:
            rows = ci[ci["institution"] == ident]
            kind = kinds.get(ident, "")
            label = f"{display(ident, names)} ({kind})" if kind else display(ident, names)
            style = "--" if kind == "platform" else "-"
            ax.plot(rows["step"], rows["mean"], style, color=colors[ident], lw=2.2, label=label)
            ax.fill_between(rows["step"], rows["low"].clip(0, 1), rows["high"].clip(0, 1),
                            color=colors[ident], alpha=0.18, lw=0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(bottom=0)
        ax.set_xlabel(step_label(time_unit))
        ax.set_ylabel("Share of customers")
        ax.legend(title="Institution", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        titles(ax, title, replication_note(len(replications_of(tables)), level=level))
        save_png(ax, path)
    return ax


def plot_funnel_by_channel(
    tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
    title: str | None = None, product: str | None = None, institution: str | None = None,
) -> Axes:
    """Customers reaching each funnel stage, by the channel that brought them in.

    Grouped bars: one group per entry channel, one bar per stage (aware →
    active), whole run (steps 1..T), mean over replications. Each bar after
    the first is labelled with its conversion from the previous stage, and
    each channel's tick label carries its aware → active conversion.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Needs ``funnel``.
    path : Path, optional
        Write the chart there as PNG.
    ax : Axes, optional
        Draw on this Axes instead of a new figure.
    title : str, optional
        Chart title; default "Acquisition funnel by entry channel".
    product, institution : str, optional
        Restrict to one product and/or one institution (default: all).

    Returns
    -------
    Axes
        The Axes drawn on.

    Notes
    -----
    Conversion percentages are ratios of the replication means. The y axis
    switches to a log scale when counts span more than two orders of
    magnitude, so late stages stay visible; the axis label says so.
    """
    require_tables(tables, ["funnel"])
    funnel = tables["funnel"]
    check_columns("funnel", funnel)
    title = title or "Acquisition funnel by entry channel"
    with deck_style():
        ax = axes_for(ax)
        if not funnel.empty:
            if product is not None:
                funnel = funnel[funnel["product"] == product]
            if institution is not None:
                funnel = funnel[funnel["institution"] == institution]
        if funnel.empty or run_rows(funnel).empty:
            no_data(ax, title, "No customers entered the funnel")
            save_png(ax, path)
            return ax
        reps = replications_of(tables)
        totals = _whole_run_by_rep(funnel, ["channel", "stage"], ["reached"], reps)
        means = totals.groupby(["channel", "stage"])["reached"].mean().unstack("stage", fill_value=0.0)
        stages = [s for s in STAGES if s in means.columns]
        stages += sorted(s for s in means.columns if s not in STAGES)
        channels = channel_order(means.index)
        means = means.reindex(index=channels, columns=stages, fill_value=0.0)
        _draw_funnel_bars(ax, means)
        scope = ", ".join(x for x in (product, institution) if x) or "all products and institutions"
        titles(ax, title, f"whole run, {scope}; {mean_note(len(reps))}; "
                           "labels: % of previous stage")
        save_png(ax, path)
    return ax


def _draw_funnel_bars(ax: Axes, means: pd.DataFrame) -> None:
    """Grouped bars of a (channel × stage) table of mean counts, with conversion labels."""
    channels, stages = list(means.index), list(means.columns)
    values = means.to_numpy(dtype=float)
    x = np.arange(len(channels))
    width = 0.84 / len(stages)
    shades = mpl.colormaps["Blues"](np.linspace(0.35, 0.95, len(stages)))
    for j, stage in enumerate(stages):
        offset = (j - (len(stages) - 1) / 2) * width
        ax.bar(x + offset, values[:, j], width, color=shades[j], label=stage)
        if j == 0:
            continue
        prev = values[:, j - 1]
        for i in range(len(channels)):
            if prev[i] > 0 and values[i, j] > 0:
                ax.annotate(f"{values[i, j] / prev[i]:.0%}", (x[i] + offset, values[i, j]),
                            xytext=(0, 2), textcoords="offset points", ha="center",
                            va="bottom", rotation=90, fontsize=8, color="0.25")
    first, last = values[:, 0], values[:, -1]
    ticks = [
        f"{name}\n{last[i] / first[i]:.1%} overall" if first[i] > 0 else f"{name}\n—"
        for i, name in enumerate(channels)
    ]
    ax.set_xticks(x, ticks, fontsize=10 if len(channels) > 4 else None)
    ax.grid(axis="x", visible=False)
    positive = values[values > 0]
    if positive.size and positive.max() / positive.min() > 100:
        ax.set_yscale("log")
        ax.set_ylabel("Customers reaching stage (log scale)")
        ax.set_ylim(top=positive.max() * 4)
    else:
        ax.set_ylabel("Customers reaching stage")
        ax.set_ylim(top=max(positive.max(), 1.0) * 1.15 if positive.size else 1.0)
    ax.set_xlabel("Entry channel")
    ax.legend(title="Stage", loc="upper left", bbox_to_anchor=(1.01, 1.0))


def plot_cac_by_channel(
    tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
    title: str | None = None, level: float = 0.95, names: Mapping[str, str] | None = None,
) -> Axes:
    """Acquisition cost per new customer by channel and institution, whole run.

    CAC is computed per replication as total spend over total new customers
    (steps 1..T) for each (institution, channel), then averaged over
    replications; error bars are the interval at ``level``. Combinations that
    never brought a customer have no CAC and are left out.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Needs ``channels``.
    path : Path, optional
        Write the chart there as PNG.
    ax : Axes, optional
        Draw on this Axes instead of a new figure.
    title : str, optional
        Chart title; default "Acquisition cost per new customer, by channel".
    level : float, default 0.95
        Level of the error bars.
    names : mapping of str to str, optional
        Institution ids to the names shown in the legend (the scenario's
        ``name`` entries, :func:`sim.outputs.results.institution_names`); an id
        not in it is shown as is.

    Returns
    -------
    Axes
        The Axes drawn on.
    """
    require_tables(tables, ["channels"])
    channels = tables["channels"]
    check_columns("channels", channels)
    title = title or "Acquisition cost per new customer, by channel"
    with deck_style():
        ax = axes_for(ax)
        reps = replications_of(tables)
        ci = _cac_table(channels, reps, level) if not channels.empty else None
        if ci is None or ci.empty:
            no_data(ax, title, "No channel brought a new customer")
            save_png(ax, path)
            return ax
        _draw_cac_bars(ax, ci, institution_colors(tables), names)
        titles(ax, title, f"whole run; {replication_note(len(reps), 'error bars', level)}")
        save_png(ax, path)
    return ax


def _cac_table(channels: pd.DataFrame, reps: list[int], level: float) -> pd.DataFrame:
    """Mean and interval of whole-run CAC per (institution, channel); undefined ones dropped."""
    frame = channels.assign(institution=channels["institution"].astype(str))
    totals = _whole_run_by_rep(frame, ["institution", "channel"], ["new_customers", "spend"], reps)
    if totals.empty:
        return totals
    new = totals["new_customers"].to_numpy(dtype=float)
    spend = totals["spend"].to_numpy(dtype=float)
    cac = np.full(new.shape, np.nan)
    np.divide(spend, new, out=cac, where=new > 0)
    ci = group_mean_ci(totals.assign(cac=cac), ["institution", "channel"], "cac", level)
    return ci[ci["n"] > 0]


def _draw_cac_bars(ax: Axes, ci: pd.DataFrame, colors: Mapping[str, tuple],
                   names: Mapping[str, str] | None = None) -> None:
    channels = channel_order(ci["channel"])
    ids = [i for i in colors if i in set(ci["institution"])]
    x = np.arange(len(channels))
    width = 0.8 / len(ids)
    for j, ident in enumerate(ids):
        rows = ci[ci["institution"] == ident].set_index("channel").reindex(channels)
        mean = rows["mean"].to_numpy(dtype=float)
        keep = ~np.isnan(mean)
        err = np.vstack([mean - rows["low"].to_numpy(float), rows["high"].to_numpy(float) - mean])
        err = err[:, keep]
        yerr = np.where(np.isnan(err), 0.0, err) if np.isfinite(err).any() else None
        pos = x[keep] + (j - (len(ids) - 1) / 2) * width
        bars = ax.bar(pos, mean[keep], width, color=colors[ident], label=display(ident, names),
                      yerr=yerr, capsize=3, error_kw={"elinewidth": 1, "ecolor": "0.3"})
        ax.bar_label(bars, labels=[("" if v == 0 else f"{v:,.0f}" if v >= 10 else f"{v:,.2f}") for v in mean[keep]],
                     padding=2, fontsize=9, color="0.25")
    ax.set_xticks(x, channels)
    ax.grid(axis="x", visible=False)
    ax.set_ylim(bottom=0)
    if not np.nanmax(np.abs(ci["mean"].to_numpy(float))) > 0:
        ax.text(0.5, 0.6, "No acquisition spend recorded in this run", transform=ax.transAxes,
                ha="center", va="center", fontsize=14, color="0.4")
    ax.set_xlabel("Acquisition channel")
    ax.set_ylabel("Spend per new customer")
    ax.legend(title="Institution", loc="upper left", bbox_to_anchor=(1.01, 1.0))


def plot_adoption(
    tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
    title: str | None = None, level: float = 0.95, time_unit: str = "month",
) -> Axes:
    """Active customers over time, and the cumulative share of them won by referral.

    Left axis: active customers (mean over replications, band at ``level``).
    Right axis: referral conversions so far / new active customers so far,
    computed per replication and then averaged — how much of the growth the
    word-of-mouth mechanism (mechanism 2, docs/ODD.md, "Referral") is carrying.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Needs ``market``.
    path : Path, optional
        Write the chart there as PNG.
    ax : Axes, optional
        Draw on this Axes (a twin Axes is added for the share).
    title : str, optional
        Chart title; default "Adoption and the share won by referral".
    level : float, default 0.95
        Level of the shaded intervals.
    time_unit : str, default "month"
        What a step is (the scenario's ``time.unit``), for the x-axis label.

    Returns
    -------
    Axes
        The left (active customers) Axes.
    """
    require_tables(tables, ["market"])
    market = tables["market"]
    check_columns("market", market)
    title = title or "Adoption and the share won by referral"
    with deck_style():
        ax = axes_for(ax)
        if market.empty:
            no_data(ax, title, "No market rows in this run")
            save_png(ax, path)
            return ax
        active = group_mean_ci(market, "step", "active", level)
        line_active = ax.plot(active["step"], active["mean"], color="tab:blue", lw=2.4,
                              label="Active customers")
        ax.fill_between(active["step"], active["low"].clip(lower=0), active["high"], color="tab:blue",
                        alpha=0.18, lw=0)
        ax.set_ylim(bottom=0)
        ax.set_xlabel(step_label(time_unit))
        ax.set_ylabel("Active customers")
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))

        share = group_mean_ci(_cumulative_referral_share(market), "step", "share", level)
        right = ax.twinx()
        right.grid(False)
        right.spines["right"].set_visible(True)
        line_share = right.plot(share["step"], share["mean"], "--", color="tab:orange", lw=2.2,
                                label="Cumulative share of new customers by referral")
        right.fill_between(share["step"], share["low"].clip(0, 1), share["high"].clip(0, 1),
                           color="tab:orange", alpha=0.15, lw=0)
        right.yaxis.set_major_formatter(PercentFormatter(1.0))
        right.set_ylim(0, _share_top(share))
        right.set_ylabel("Won by referral (cumulative)")
        lines = line_active + line_share
        # on the twin Axes: it is drawn on top, so the legend is not hidden by its band
        right.legend(lines, [ln.get_label() for ln in lines], loc="lower right", frameon=True,
                  facecolor="white", framealpha=0.85, edgecolor="none")
        titles(ax, title, replication_note(len(replications_of(tables)), level=level))
        save_png(ax, path)
    return ax


def _cumulative_referral_share(market: pd.DataFrame) -> pd.DataFrame:
    """Per replication and step: referral conversions so far / new active customers so far."""
    frame = run_rows(market).sort_values(["replication", "step"])
    grouped = frame.groupby("replication")
    referral = grouped["referral_conversions"].cumsum().to_numpy(dtype=float)
    new = grouped["new_active"].cumsum().to_numpy(dtype=float)
    share = np.full(new.shape, np.nan)
    np.divide(referral, new, out=share, where=new > 0)
    return pd.DataFrame({"replication": frame["replication"].to_numpy(),
                         "step": frame["step"].to_numpy(), "share": share})


def _share_top(share: pd.DataFrame) -> float:
    highest = np.nanmax(share[["mean", "high"]].to_numpy(float)) if share["n"].sum() else np.nan
    if not np.isfinite(highest):
        return 1.0
    return float(min(1.0, max(0.05, highest * 1.15)))


__all__ = [
    "institution_colors",
    "plot_adoption",
    "plot_cac_by_channel",
    "plot_funnel_by_channel",
    "plot_market_share",
]
