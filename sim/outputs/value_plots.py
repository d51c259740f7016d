"""Customer-value charts of a run, from ``cohorts.parquet``: retention, LTV/CAC and payback by channel.

Cohorts acquired during the run (cohort step >= 1), pooled over
institutions and products per channel; each figure is computed per
replication and then averaged, with the interval over replications.
Lifetime value is the discounted margin to the end of the run (a lower
bound for cohorts still active then); payback is the pooled payback age
(:mod:`sim.experiments.payback`), the figure ``summary.json`` reports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from sim.experiments.metrics import replications_of
from sim.experiments.payback import pooled_payback
from sim.experiments.schema import channel_order
from sim.experiments.stats import group_mean_ci
from sim.experiments.summary import cohort_ends
from sim.outputs._style import (
    PALETTE,
    Tables,
    axes_for,
    deck_style,
    no_data,
    replication_note,
    save_png,
    titles,
)

_FIXED_LABELS = {"branch": "Branch", "own_app": "Own app", "live_stream": "Live stream", "referral": "Referral",
                 "employee": "Employee self-media", "none": "Held before the run"}


def channel_label(channel: str) -> str:
    """The name a chart shows for a channel: ``Own app``, ``Platform: chatpay``."""
    if channel.startswith("platform:"):
        return f"Platform: {channel.split(':', 1)[1]}"
    return _FIXED_LABELS.get(channel, channel)


def _channel_colors(channels: list[str]) -> dict[str, tuple[float, ...]]:
    import matplotlib as mpl

    cmap = mpl.colormaps[PALETTE]
    return {c: cmap(k % cmap.N) for k, c in enumerate(channels)}


def _won(tables: Tables) -> pd.DataFrame | None:
    cohorts = tables.get("cohorts")
    if cohorts is None or cohorts.empty:
        return None
    won = cohorts[cohorts["cohort"] >= 1]
    return won if not won.empty else None


#: Fewest customers acquired by cohorts old enough to reach an age for the retention curve to be drawn there.
MIN_BASE = 30


def retention_curves(cohorts: pd.DataFrame, reps: list[int], level: float = 0.95,
                     min_base: int = MIN_BASE) -> pd.DataFrame:
    """Share of a channel's customers still held ``age`` steps after acquisition, with its interval.

    Per replication and channel, retention at age a is the relationships
    held at age a over those acquired by cohorts old enough to reach age a
    by the end of the run (so that young cohorts do not bend the curve);
    undefined (NaN) where fewer than ``min_base`` customers were acquired by
    such cohorts.

    Returns
    -------
    DataFrame
        ``channel``, ``age``, ``mean``, ``low``, ``high``, ``n``.
    """
    last = int(cohorts["step"].max())
    ends = cohort_ends(cohorts)
    rows = []
    for (rep, channel), mine in ends.groupby(["replication", "channel"]):
        acquired = np.bincount(mine["cohort"].to_numpy(), weights=mine["acquired"].to_numpy(float),
                               minlength=last + 1)
        observable = np.cumsum(acquired)[::-1][: last]            # age a: cohorts of steps <= last - a
        ages = np.arange(observable.size)
        held = cohorts[(cohorts["replication"] == rep) & (cohorts["channel"] == channel) & (cohorts["cohort"] >= 1)
                       & (cohorts["cohort"] + cohorts["age"] <= last)]
        held_by_age = np.bincount(held["age"].to_numpy(), weights=held["active"].to_numpy(float),
                                  minlength=observable.size)[: observable.size]
        # Cohorts of the last step have age 0 only: the curve starts there and ends at the oldest cohort's age.
        share = np.divide(held_by_age, observable, out=np.full(observable.size, np.nan),
                          where=observable >= max(min_base, 1))
        rows.append(pd.DataFrame({"replication": rep, "channel": channel, "age": ages, "retention": share}))
    frame = pd.concat(rows, ignore_index=True)
    frame = frame.set_index(["replication", "channel", "age"]).unstack("replication").stack(future_stack=True)
    frame = frame.reset_index().reindex(columns=["replication", "channel", "age", "retention"])
    curves = group_mean_ci(frame, ["channel", "age"], "retention", level)
    # An age is drawn only where every replication has enough customers to measure it.
    complete = frame.groupby(["channel", "age"])["retention"].apply(lambda v: bool(v.notna().all()))
    return curves[complete.reindex(pd.MultiIndex.from_frame(curves[["channel", "age"]])).to_numpy()]


def plot_retention_by_channel(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                              title: str | None = None, level: float = 0.95, time_unit: str = "month") -> Axes:
    """Retention curves: the share of each channel's new customers still held, by age since acquisition.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Needs ``cohorts``.
    path : Path, optional
        Write the chart there as PNG.
    ax : Axes, optional
        Draw on this Axes instead of a new figure.
    title : str, optional
        Default "Customers still held, by age and acquisition channel".
    level : float, default 0.95
        Level of the bands.
    time_unit : str, default "month"
        The scenario's step unit, for the x axis.
    """
    title = title or "Customers still held, by age and acquisition channel"
    with deck_style():
        ax = axes_for(ax)
        won = _won(tables)
        if won is None:
            no_data(ax, title, "No customer was acquired during the run")
            save_png(ax, path)
            return ax
        reps = replications_of(tables)
        curves = retention_curves(won, reps, level)
        channels = channel_order(pd.unique(curves["channel"]))
        colors = _channel_colors(channel_order(pd.unique(won["channel"])))
        for channel in channels:
            line = curves[curves["channel"] == channel].sort_values("age")
            if len(line) < 2:
                continue
            ax.plot(line["age"], line["mean"], color=colors[channel], linewidth=2.2, label=channel_label(channel))
            if line["low"].notna().any():
                ax.fill_between(line["age"], line["low"].clip(0, 1), line["high"].clip(0, 1), color=colors[channel],
                                alpha=0.15, linewidth=0)
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(left=0)
        ax.set_xlabel(f"Age since acquisition ({time_unit}s)")
        ax.set_ylabel("Still customers (%)")
        if ax.lines:
            ax.legend(loc="lower left", ncols=2)
        else:
            _corner_note(ax, f"No channel had {MIN_BASE} customers at two ages or more")
        titles(ax, title, f"cohorts of the run old enough to reach each age (at least {MIN_BASE} customers); "
                          f"{replication_note(len(reps), 'band', level)}")
        save_png(ax, path)
    return ax


def _per_replication(won: pd.DataFrame, reps: list[int]) -> pd.DataFrame:
    """Per (replication, channel): acquisitions, acquisition cost and LTV of the channel's cohorts."""
    ends = cohort_ends(won)
    frame = pd.DataFrame({
        "replication": ends["replication"].to_numpy(), "channel": ends["channel"].to_numpy(),
        "acquired": ends["acquired"].to_numpy(float), "cost": ends["acquisition_cost"].to_numpy(float),
        "ltv": ends["ltv"].to_numpy(float),
    })
    totals = frame.groupby(["replication", "channel"]).sum()
    full = pd.MultiIndex.from_product([reps, sorted(set(frame["channel"]))], names=["replication", "channel"])
    return totals.reindex(full, fill_value=0.0).reset_index()


def _ratio_column(totals: pd.DataFrame, numerator: str, denominator: str) -> np.ndarray:
    num, den = totals[numerator].to_numpy(float), totals[denominator].to_numpy(float)
    return np.divide(num, den, out=np.full(num.size, np.nan), where=den > 0)


def _corner_note(ax: Axes, text: str) -> None:
    ax.text(0.99, 0.98, text, transform=ax.transAxes, ha="right", va="top", fontsize=11, color="0.35")


def _bars(ax: Axes, ci: pd.DataFrame, colors: dict) -> list[str]:
    channels = [c for c in channel_order(ci["channel"]) if c in set(ci["channel"])]
    ci = ci.set_index("channel").loc[channels]
    x = np.arange(len(channels))
    err = None
    if ci["low"].notna().any():
        err = np.vstack([(ci["mean"] - ci["low"]).clip(lower=0).fillna(0), (ci["high"] - ci["mean"]).clip(lower=0)
                         .fillna(0)])
    ax.bar(x, ci["mean"], color=[colors[c] for c in channels], yerr=err, capsize=4)
    ax.set_xticks(x, [channel_label(c) for c in channels], rotation=15, ha="right")
    ax.set_ylim(bottom=0)
    return channels


def plot_ltv_cac_by_channel(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                            title: str | None = None, level: float = 0.95) -> Axes:
    """Lifetime value over acquisition cost of each channel's new customers (1 = the channel pays for itself).

    Per replication and channel: discounted margin to the end of the run
    over acquisition cost, both summed over the channel's cohorts; channels
    that cost nothing (no CAC) are left out.
    """
    title = title or "Lifetime value per yuan of acquisition cost, by channel"
    with deck_style():
        ax = axes_for(ax)
        won = _won(tables)
        totals = _per_replication(won, replications_of(tables)) if won is not None else None
        if totals is None or not (totals["cost"] > 0).any():
            no_data(ax, title, "No acquisition had a cost")
            save_png(ax, path)
            return ax
        reps = replications_of(tables)
        totals = totals.assign(value=_ratio_column(totals, "ltv", "cost"))
        ci = group_mean_ci(totals, "channel", "value", level)
        ci = ci[ci["n"] > 0]
        channels = _bars(ax, ci, _channel_colors(channel_order(totals["channel"])))
        ax.axhline(1.0, color="0.3", linestyle="--", linewidth=1.2)
        ax.text(-0.45, 1.0, "LTV = CAC", va="bottom", ha="left", fontsize=11, color="0.3")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p=None: f"{v:g}×"))
        ax.set_ylabel("LTV / CAC")
        dropped = channel_order(set(totals["channel"]) - set(channels))
        if dropped:
            _corner_note(ax, f"No acquisition cost, left out: {', '.join(channel_label(c) for c in dropped)}")
        titles(ax, title, "discounted margin to the end of the run / acquisition cost; "
                          f"{replication_note(len(reps), 'error bars', level)}")
        save_png(ax, path)
    return ax


def plot_payback_by_channel(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                            title: str | None = None, level: float = 0.95, time_unit: str = "month") -> Axes:
    """Steps until a channel's new customers pay back their acquisition cost: the pooled payback age.

    Per replication and channel, the age at which the margin per customer
    acquired by the channel's cohorts (every institution and product) first
    covers the channel's CAC (:func:`sim.experiments.payback.pooled_payback`,
    ``summary.json`` ``payback_age``); bars are its mean over the replications in which it
    happened within the run, each labelled with how many did.
    """
    title = title or f"{time_unit.capitalize()}s to pay back the acquisition cost, by channel"
    with deck_style():
        ax = axes_for(ax)
        won = _won(tables)
        reps = replications_of(tables)
        ages = pooled_payback(tables["cohorts"], channels=tables.get("channels")) if won is not None else None
        if ages is None or not ages["payback_age"].notna().any():
            no_data(ax, title, "No channel paid back its acquisition cost within the run")
            save_png(ax, path)
            return ax
        full = pd.MultiIndex.from_product([reps, sorted(set(ages["channel"]))], names=["replication", "channel"])
        ages = ages.set_index(["replication", "channel"]).reindex(full).reset_index()
        ci = group_mean_ci(ages, "channel", "payback_age", level)
        ci = ci[ci["n"] > 0]
        channels = _bars(ax, ci, _channel_colors(channel_order(ages["channel"])))
        runs = ci.set_index("channel")["n"]
        top = ci.set_index("channel")["high"].fillna(ci.set_index("channel")["mean"])
        for x, channel in enumerate(channels):
            ax.text(x, float(top[channel]), f"{int(runs[channel])} of {len(reps)} runs", ha="center", va="bottom",
                    fontsize=11)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"Age at payback ({time_unit}s)")
        never = channel_order(set(ages["channel"]) - set(channels))
        if never:
            _corner_note(ax, f"Never paid back (or no cost): {', '.join(channel_label(c) for c in never)}")
        titles(ax, title, "age at which the margin per customer acquired covers the CAC; "
                          f"{replication_note(len(reps), 'error bars', level)}")
        save_png(ax, path)
    return ax
