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

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, PercentFormatter

from sim.experiments.metrics import replications_of
from sim.experiments.schema import channel_order
from sim.experiments.stats import group_mean_ci, wilson_interval
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
    smoothing,
    step_label,
    titles,
)


def has_credit(tables: Tables) -> bool:
    """Whether the run had a credit side worth charting."""
    market = tables.get("market")
    credit = tables.get("credit")
    borrowed = market is not None and "borrowers" in market.columns and (market["borrowers"] > 0).any()
    return bool(borrowed or (credit is not None and not credit.empty))


def _band(ax: Axes, series: pd.DataFrame, label: str, color) -> None:
    """Mean line and interval band of a non-negative quantity (the band is clipped at zero)."""
    ax.plot(series["step"], series["mean"], label=label, color=color, linewidth=2.2)
    if series["low"].notna().any():
        ax.fill_between(series["step"], series["low"].clip(lower=0.0), series["high"], color=color, alpha=0.18,
                        linewidth=0)


def _yuan_axis(value: float, _pos: int | None = None) -> str:
    """Tick labels in yuan without offset or scientific notation: 950, 12k, 1.5M."""
    size = abs(value)
    if size >= 1e6:
        text = f"{value / 1e6:,.1f}M".replace(".0M", "M")
    elif size >= 1e4:
        text = f"{value / 1e3:,.0f}k"
    else:
        text = f"{value:,.0f}"
    return text.replace("-", "−")


YUAN_AXIS = FuncFormatter(_yuan_axis)


def pooled_default_rates(inst: pd.DataFrame, window: int, level: float = 0.95) -> pd.DataFrame:
    """Defaults over loans at risk per lender, pooled over replications and ``window`` steps, Wilson interval.

    Loans at risk in a step are the lender's loans at the end of the previous
    step.  Returns one row per (institution, period): ``step`` (the period's
    middle step), ``defaults``, ``at_risk``, ``rate``, ``low``, ``high``.
    """
    frame = inst.sort_values(["replication", "institution", "step"]).copy()
    frame["at_risk"] = frame.groupby(["replication", "institution"])["loans"].shift()
    frame = frame[frame["step"] >= 1]
    frame["period"] = (frame["step"] - 1) // window
    pooled = frame.groupby(["institution", "period"], sort=False).agg(
        defaults=("defaults", "sum"), at_risk=("at_risk", "sum"), first=("step", "min"), last=("step", "max"))
    pooled = pooled[pooled["at_risk"] > 0].reset_index()
    rate, low, high = wilson_interval(pooled["defaults"].to_numpy(float), pooled["at_risk"].to_numpy(float), level)
    pooled["rate"], pooled["low"], pooled["high"] = rate, low, high
    pooled["step"] = (pooled["first"] + pooled["last"]) / 2.0
    return pooled[["institution", "period", "step", "defaults", "at_risk", "rate", "low", "high"]]


def plot_default_rate_by_lender(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                                title: str | None = None, level: float = 0.95, time_unit: str = "month",
                                names: Mapping[str, str] | None = None) -> Axes:
    """Default rate of each lender's loans over time, pooled by quarter, with a Wilson interval.

    Each point pools a quarter's defaults and loans at risk (loans at the end
    of the previous step) over every replication, so the rate is a proportion
    of many loan-steps and its Wilson interval stays within [0, 1]
    (:func:`~sim.experiments.stats.wilson_interval`).  The noisy per-step mean
    over replications is drawn faintly behind it.
    """
    title = title or "Default rate by lender"
    with deck_style():
        ax = axes_for(ax)
        inst = tables.get("institutions")
        if inst is None or "defaults" not in inst.columns or not (inst["loans"] > 0).any():
            no_data(ax, title, "No loans in this run")
            save_png(ax, path)
            return ax
        window, how = smoothing(time_unit)
        pooled = pooled_default_rates(inst, window, level)
        per_step = inst.sort_values(["replication", "institution", "step"]).copy()
        per_step["at_risk"] = per_step.groupby(["replication", "institution"])["loans"].shift()
        per_step = per_step[per_step["at_risk"] > 0]
        per_step["rate"] = per_step["defaults"] / per_step["at_risk"]
        colors = institution_colors(tables)
        for lender in pd.unique(pooled["institution"]):
            color = colors.get(str(lender))
            mine = pooled[pooled["institution"] == lender]
            raw = per_step[per_step["institution"] == lender].groupby("step")["rate"].mean()
            ax.plot(raw.index, raw.to_numpy(), color=color, lw=0.8, alpha=0.35)
            ax.plot(mine["step"], mine["rate"], color=color, lw=2.2, marker="o", ms=4, label=display(lender, names))
            ax.fill_between(mine["step"], mine["low"], mine["high"], color=color, alpha=0.15, lw=0)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=2))
        ax.set_xlabel(step_label(time_unit))
        ax.set_ylabel("Defaults per loan, per step")
        ax.legend(title="Lender", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        reps = len(replications_of(tables))
        titles(ax, title, f"{how} over {reps} replication{'s' if reps != 1 else ''}, band: {level:.0%} Wilson "
                          "interval; thin lines: per step")
        save_png(ax, path)
        return ax


def plot_default_rate_by_channel(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                                 title: str | None = None, names: Mapping[str, str] | None = None) -> Axes:
    """Whole-run default rate per loan-step, by the channel the loan came through, one bar group per lender."""
    title = title or "Default rate by acquisition channel"
    with deck_style():
        ax = axes_for(ax)
        credit = tables.get("credit")
        if credit is None or credit.empty or credit["loans_at_risk"].sum() == 0:
            no_data(ax, title, "No loans in this run")
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
            ax.bar(x + k * width, rate.loc[lender].to_numpy(), width, label=display(lender, names),
                   color=colors.get(str(lender)))
        ax.set_xticks(x + width * (len(rate.index) - 1) / 2, [c.replace("platform:", "") for c in rate.columns],
                      rotation=20, ha="right")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=2))
        ax.set_ylabel("Defaults per loan-step")
        ax.legend(loc="upper left")
        reps = len(replications_of(tables))
        titles(ax, title, f"pooled over the run; 'none' = loans held before it; {mean_note(reps)}")
        save_png(ax, path)
        return ax


def plot_cascade_size(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                      title: str | None = None, level: float = 0.95, time_unit: str = "month") -> Axes:
    """Cumulative defaults over time, and the part due to contagion (peer, threshold, failed platforms).

    The contagion line is drawn only when some default was due to contagion;
    otherwise the subtitle says there was none.
    """
    title = title or "Defaults and contagion"
    with deck_style():
        ax = axes_for(ax)
        market = tables.get("market")
        if market is None or "new_defaults" not in market.columns or market["new_defaults"].sum() == 0:
            no_data(ax, title, "No defaults in this run")
            save_png(ax, path)
            return ax
        market = market.sort_values(["replication", "step"]).copy()
        market["all defaults"] = market.groupby("replication")["new_defaults"].cumsum()
        contagion = "contagion_defaults" in market.columns and market["contagion_defaults"].sum() > 0
        lines = [("all defaults", "0.35")]
        if contagion:
            market["by contagion"] = market.groupby("replication")["contagion_defaults"].cumsum()
            lines.append(("by contagion", "tab:red"))
        for column, color in lines:
            _band(ax, group_mean_ci(market, "step", column, level), column, color)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p=None: f"{v:,.0f}"))
        ax.set_xlabel(step_label(time_unit))
        ax.set_ylabel("Borrowers defaulted (cumulative)")
        ax.legend(loc="upper left")
        note = replication_note(len(replications_of(tables)), level=level)
        titles(ax, title, note if contagion else f"{note}; no default was due to contagion")
        save_png(ax, path)
        return ax


def plot_insurer_capital(tables: Tables, path: Path | None = None, *, ax: Axes | None = None,
                         title: str | None = None, level: float = 0.95, time_unit: str = "month",
                         names: Mapping[str, str] | None = None) -> Axes:
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
            _band(ax, series, display(insurer, names), color)
            failed = rows[rows["failed"]].groupby("replication")["step"].min()
            if len(failed):
                runs = rows["replication"].nunique()
                ax.scatter(failed.to_numpy(), np.zeros(len(failed)), marker="x", s=80, color=color,
                           label=f"{display(insurer, names)} failed ({len(failed)} of {runs} runs)")
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(YUAN_AXIS)
        ax.set_xlabel(step_label(time_unit))
        ax.set_ylabel("Capital (yuan; k = thousand, M = million)")
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
        insured = bool((totals["insured_losses"] > 0).any())
        if insured:
            ax.bar(x, totals["insured_losses"], bottom=totals["net_losses"], color="tab:blue",
                   label="paid by insurers")
            ax.legend(loc="upper right")
        ax.set_xticks(x, totals.index.astype(str))
        ax.grid(axis="x", visible=False)
        ax.yaxis.set_major_formatter(YUAN_AXIS)
        ax.set_ylabel("Losses over the run (yuan; k = thousand, M = million)")
        titles(ax, title, mean_note(reps) + ("" if insured else "; no loss was insured, the lenders bore all"))
        save_png(ax, path)
        return ax


RISK_CHARTS = (
    ("default_rate_by_lender.png", plot_default_rate_by_lender, "Default rate by lender"),
    ("default_rate_by_channel.png", plot_default_rate_by_channel, "Default rate by acquisition channel"),
    ("cascade_size.png", plot_cascade_size, "Defaults and contagion"),
    ("insurer_capital.png", plot_insurer_capital, "Credit insurers' capital"),
    ("lender_losses.png", plot_lender_losses, "Credit losses and who bore them"),
)


#: The charts of :data:`RISK_CHARTS` with a time axis (they take ``time_unit``).
RISK_TIME_CHARTS = ("default_rate_by_lender.png", "cascade_size.png", "insurer_capital.png")
#: The charts of :data:`RISK_CHARTS` whose legends name institutions (they take ``names``).
RISK_NAMED_CHARTS = ("default_rate_by_lender.png", "default_rate_by_channel.png", "insurer_capital.png")


def plot_risk(tables: Tables, out_dir: Path, title_prefix: str = "", time_unit: str = "month",
              names: Mapping[str, str] | None = None) -> list[Path]:
    """Write the credit-side charts of a run as PNG into ``out_dir``.

    ``names`` maps institution and insurer ids to the display names the legends show.

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
        draw(tables, path, title=f"{title_prefix}: {default_title}" if title_prefix else default_title,
             **({"time_unit": time_unit} if filename in RISK_TIME_CHARTS else {}),
             **({"names": names} if filename in RISK_NAMED_CHARTS else {}))
        written.append(path)
    return written
