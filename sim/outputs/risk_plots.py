"""Deck charts of the credit side: default rates, cascades, insurer capital, lender losses.

Same conventions as :mod:`sim.outputs.plots` (the shared look is in ``_style``): each chart is a function of
the run's tables, draws on an Axes you pass or on a new 16:9 figure, and
writes a PNG when given a path; figures are built without ``pyplot``.
:func:`plot_risk` writes them all; it writes nothing for a run without
credit (no borrowers and no ``credit`` table).

Tables read: ``market`` (new_defaults, contagion_defaults, borrowers),
``institutions`` (loans, defaults, losses, insured_losses, net_losses),
``credit`` (defaults and loans_at_risk by lender and channel) and
``insurers`` (capital, failed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from sim.experiments.metrics import replications_of
from sim.experiments.schema import channel_order
from sim.experiments.stats import group_mean_ci
from sim.outputs._style import (
    Tables,
    axes_for,
    deck_style,
    institution_colors,
    mean_note,
    no_data,
    replication_note,
    save_png,
    titles,
)


def has_credit(tables: Tables) -> bool:
    """Whether the run had a credit side worth charting."""
    market = tables.get("market")
    credit = tables.get("credit")
    borrowed = market is not None and "borrowers" in market.columns and (market["borrowers"] > 0).any()
    return bool(borrowed or (credit is not None and not credit.empty))


def _band(ax: Axes, series: pd.DataFrame, label: str, color) -> None:
    ax.plot(series["step"], series["mean"], label=label, color=color, linewidth=2.2)
    if series["low"].notna().any():
        ax.fill_between(series["step"], series["low"], series["high"], color=color, alpha=0.18, linewidth=0)


def plot_default_rate_by_lender(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                                title: str | None = None, level: float = 0.95) -> Axes:
    """Per-step default rate of each lender's loans (defaults / loans at the start of the step)."""
    title = title or "Default rate by lender"
    with deck_style():
        ax = axes_for(ax)
        inst = tables.get("institutions")
        if inst is None or "defaults" not in inst.columns or not (inst["loans"] > 0).any():
            no_data(ax, title, "no loans in this run")
            save_png(ax, path)
            return ax
        inst = inst.sort_values(["replication", "institution", "step"]).copy()
        inst["at_risk"] = inst.groupby(["replication", "institution"])["loans"].shift()
        inst = inst[inst["at_risk"] > 0]
        inst["rate"] = inst["defaults"] / inst["at_risk"]
        colors = institution_colors(tables)
        for lender in pd.unique(inst["institution"]):
            series = group_mean_ci(inst[inst["institution"] == lender], "step", "rate", level)
            _band(ax, series, str(lender), colors.get(str(lender)))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=2))
        ax.set_xlabel("step")
        ax.set_ylabel("defaults per performing loan, per step")
        ax.legend(loc="upper left")
        titles(ax, title, replication_note(len(replications_of(tables)), level=level))
        save_png(ax, path)
        return ax


def plot_default_rate_by_channel(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                                 title: str | None = None) -> Axes:
    """Whole-run default rate per loan-step, by the channel the loan came through, one bar group per lender."""
    title = title or "Default rate by acquisition channel"
    with deck_style():
        ax = axes_for(ax)
        credit = tables.get("credit")
        if credit is None or credit.empty or credit["loans_at_risk"].sum() == 0:
            no_data(ax, title, "no loans in this run")
            save_png(ax, path)
            return ax
        totals = credit.groupby(["institution", "channel"])[["defaults", "loans_at_risk"]].sum()
        totals = totals[totals["loans_at_risk"] > 0]
        rate = (totals["defaults"] / totals["loans_at_risk"]).unstack("channel")
        rate = rate[[c for c in channel_order(rate.columns)]]
        colors = institution_colors(tables)
        width = 0.8 / max(len(rate.index), 1)
        x = np.arange(len(rate.columns))
        for k, lender in enumerate(rate.index):
            ax.bar(x + k * width, rate.loc[lender].to_numpy(), width, label=str(lender),
                   color=colors.get(str(lender)))
        ax.set_xticks(x + width * (len(rate.index) - 1) / 2, [c.replace("platform:", "") for c in rate.columns],
                      rotation=20, ha="right")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=2))
        ax.set_ylabel("defaults per loan-step")
        ax.legend(loc="upper left")
        titles(
            ax, title, f"pooled over the run; 'none' = loans held before it; {mean_note(len(replications_of(tables)))}"
        )
        save_png(ax, path)
        return ax


def plot_cascade_size(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                      title: str | None = None, level: float = 0.95) -> Axes:
    """Cumulative defaults over time, and the part due to contagion (peer, threshold, failed platforms)."""
    title = title or "Defaults and contagion"
    with deck_style():
        ax = axes_for(ax)
        market = tables.get("market")
        if market is None or "new_defaults" not in market.columns or market["new_defaults"].sum() == 0:
            no_data(ax, title, "no defaults in this run")
            save_png(ax, path)
            return ax
        market = market.sort_values(["replication", "step"]).copy()
        market["all defaults"] = market.groupby("replication")["new_defaults"].cumsum()
        market["by contagion"] = market.groupby("replication")["contagion_defaults"].cumsum()
        for column, color in (("all defaults", "0.35"), ("by contagion", "tab:red")):
            _band(ax, group_mean_ci(market, "step", column, level), column, color)
        ax.set_xlabel("step")
        ax.set_ylabel("borrowers defaulted (cumulative)")
        ax.legend(loc="upper left")
        titles(ax, title, replication_note(len(replications_of(tables)), level=level))
        save_png(ax, path)
        return ax


def plot_insurer_capital(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                         title: str | None = None, level: float = 0.95) -> Axes:
    """Each credit insurer's capital over time; a cross where it failed."""
    title = title or "Credit insurers' capital"
    with deck_style():
        ax = axes_for(ax)
        insurers = tables.get("insurers")
        if insurers is None or insurers.empty:
            no_data(ax, title, "no credit insurer in this run")
            save_png(ax, path)
            return ax
        for k, (insurer, rows) in enumerate(insurers.groupby("insurer", sort=False)):
            color = f"C{k}"
            series = group_mean_ci(rows, "step", "capital", level)
            series["low"] = series["low"].clip(lower=0.0)        # capital never goes below zero
            _band(ax, series, str(insurer), color)
            failed = rows[rows["failed"]].groupby("replication")["step"].min()
            if len(failed):
                ax.scatter(failed.to_numpy(), np.zeros(len(failed)), marker="x", s=80, color=color,
                           label=f"{insurer} failed ({len(failed)} of {rows['replication'].nunique()} runs)")
        ax.set_xlabel("step")
        ax.set_ylabel("capital (yuan)")
        ax.legend(loc="upper right")
        titles(ax, title, replication_note(len(replications_of(tables)), level=level))
        save_png(ax, path)
        return ax


def plot_lender_losses(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                       title: str | None = None) -> Axes:
    """Whole-run credit losses per lender: the part insurers paid and the part the lender kept."""
    title = title or "Credit losses and who bore them"
    with deck_style():
        ax = axes_for(ax)
        inst = tables.get("institutions")
        if inst is None or "losses" not in inst.columns or inst["losses"].sum() == 0:
            no_data(ax, title, "no credit losses in this run")
            save_png(ax, path)
            return ax
        reps = max(len(replications_of(tables)), 1)
        totals = inst.groupby("institution", sort=False)[["net_losses", "insured_losses"]].sum() / reps
        totals = totals[(totals.sum(axis=1)) > 0]
        x = np.arange(len(totals))
        ax.bar(x, totals["net_losses"], color="tab:red", label="borne by the lender")
        ax.bar(x, totals["insured_losses"], bottom=totals["net_losses"], color="tab:blue", label="paid by insurers")
        ax.set_xticks(x, totals.index.astype(str))
        ax.set_ylabel("losses over the run (yuan)")
        ax.legend(loc="upper right")
        titles(ax, title, mean_note(reps))
        save_png(ax, path)
        return ax


RISK_CHARTS = (
    ("default_rate_by_lender.png", plot_default_rate_by_lender, "Default rate by lender"),
    ("default_rate_by_channel.png", plot_default_rate_by_channel, "Default rate by acquisition channel"),
    ("cascade_size.png", plot_cascade_size, "Defaults and contagion"),
    ("insurer_capital.png", plot_insurer_capital, "Credit insurers' capital"),
    ("lender_losses.png", plot_lender_losses, "Credit losses and who bore them"),
)


def plot_risk(tables: Tables, out_dir: Path, title_prefix: str = "") -> list[Path]:
    """Write the credit-side charts of a run as PNG into ``out_dir``.

    Returns the files written, in :data:`RISK_CHARTS` order; none for a run
    without credit, and no insurer chart for a run without insurers.
    """
    if not has_credit(tables):
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, draw, default_title in RISK_CHARTS:
        if draw is plot_insurer_capital and (tables.get("insurers") is None or tables["insurers"].empty):
            continue
        path = out_dir / filename
        draw(tables, path, title=f"{title_prefix}: {default_title}" if title_prefix else default_title)
        written.append(path)
    return written
