"""One-screen terminal view of a run's summary (rich tables, at most 100 columns).

Numbers are shown as ``mean ± h`` where ``h`` is the half-width of the
interval in the summary (Student t intervals are symmetric), which keeps
every cell short enough for a 100-column terminal.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

Formatter = Callable[[float, float], str]
"""``fmt(value, reference)``: format ``value`` with the precision suited to ``reference``
(the mean), so that a mean and its half-width share one unit and number of decimals."""

#: Rows of the market table: (section, key, label, formatter name).
_MARKET_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("final_step", "active", "Active customers, final step", "count"),
    ("whole_run", "new_active_total", "New active customers, whole run", "count"),
    ("whole_run", "referral_conversions_total", "Referral conversions, whole run", "count"),
    ("whole_run", "employee_conversions_total", "Employee conversions, whole run", "count"),
    ("whole_run", "churned_total", "Churned, whole run", "count"),
    ("final_step", "r_eff", "r_eff, final step", "ratio"),
    ("whole_run", "r_eff_mean_over_steps", "r_eff, mean over steps", "ratio"),
    ("final_step", "default_rate", "Default rate, final step", "percent"),
    ("whole_run", "new_defaults_total", "Defaults, whole run", "count"),
    ("whole_run", "contagion_defaults_total", "Contagion defaults, whole run", "count"),
)


def _count(x: float, reference: float) -> str:
    return f"{x:,.0f}"


def _ratio(x: float, reference: float) -> str:
    return f"{x:.2f}"


def _percent(x: float, reference: float) -> str:
    return f"{x:.1%}"


def _money(x: float, reference: float) -> str:
    """Compact money (1,234 / 12.3k / 4.56M / 7.89B) in the unit and precision of ``reference``."""
    size = abs(reference)
    scale, suffix = next(((limit, s) for limit, s in ((1e9, "B"), (1e6, "M"), (1e4, "k"))
                          if size >= limit), (1.0, ""))
    scaled = size / scale
    decimals = 0 if scaled >= 100 else 1 if scaled >= 10 else 2
    return f"{x / scale:,.{decimals}f}{suffix}"


_FORMATTERS: Mapping[str, Formatter] = {
    "count": _count, "ratio": _ratio, "percent": _percent, "money": _money,
}


def format_stat(stat: Mapping[str, Any] | None, fmt: Formatter = _count) -> str:
    """``mean ± half-width`` of a summary entry, ``mean`` alone without interval, ``—`` if undefined."""
    if not stat or stat.get("mean") is None:
        return "—"
    mean, low, high = stat["mean"], stat.get("low"), stat.get("high")
    if low is None or high is None or not math.isfinite(low) or not math.isfinite(high):
        return fmt(mean, mean)
    return f"{fmt(mean, mean)} ± {fmt((high - low) / 2.0, mean)}"


def _get(entry: Mapping[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(entry, Mapping):
            return None
        entry = entry.get(key)
    return entry


def _header(summary: Mapping[str, Any], scenario_name: str) -> Text:
    reps = summary.get("replications", 0)
    level = _get(summary, "interval", "level") or 0.95
    text = Text()
    text.append(f"{scenario_name}", style="bold")
    text.append(f"  ·  {reps} replication{'s' if reps != 1 else ''}")
    text.append(f"  ·  {summary.get('final_step')} steps")
    text.append(f"  ·  ± = half-width of {level:.0%} interval")
    if reps == 1:
        text.append("\nOnly 1 replication: no intervals.", style="yellow")
    return text


def _institutions_table(summary: Mapping[str, Any]) -> Table:
    table = Table(title="Institutions", title_justify="left", expand=False)
    table.add_column("Institution", no_wrap=True, max_width=22)
    for name in ("Customers", "Share", "CAC (run)", "Profit (run)"):
        table.add_column(name, justify="right", no_wrap=True)
    for ident, entry in (summary.get("institutions") or {}).items():
        kind = entry.get("kind")
        table.add_row(
            f"{ident} ({kind})" if kind else ident,
            format_stat(_get(entry, "final_step", "customers"), _count),
            format_stat(_get(entry, "final_step", "market_share"), _percent),
            format_stat(_get(entry, "whole_run", "cac"), _money),
            format_stat(_get(entry, "whole_run", "profit_total"), _money),
        )
    return table


def _segment_table(summary: Mapping[str, Any], section: str, title: str, label: str) -> Table | None:
    """Whole-run margin, CAC and profit per (institution, product or tier); None without the section."""
    rows = summary.get(section) or {}
    if not rows:
        return None
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("Institution", no_wrap=True, max_width=16)
    table.add_column(label, no_wrap=True, max_width=14)
    for name in ("Margin (run)", "CAC (run)", "Profit (run)"):
        table.add_column(name, justify="right", no_wrap=True)
    for ident, groups in rows.items():
        for group, entry in groups.items():
            table.add_row(ident, group, format_stat(entry.get("margin_total"), _money),
                          format_stat(entry.get("cac"), _money), format_stat(entry.get("profit_total"), _money))
    return table


def _value_table(summary: Mapping[str, Any]) -> Table | None:
    """Customer value by channel: CAC, lifetime value to date, their ratio, payback (cohorts of the run)."""
    by_channel = _get(summary, "customer_value", "by_channel")
    if not by_channel:
        return None
    table = Table(title="Customer value by channel (cohorts of the run, valued to its end)", title_justify="left",
                  expand=False)
    table.add_column("Channel", no_wrap=True, max_width=22)
    for name in ("CAC", "LTV", "LTV/CAC", "Payback (steps)"):
        table.add_column(name, justify="right", no_wrap=True)
    for channel, entry in by_channel.items():
        table.add_row(
            channel,
            format_stat(entry.get("cac"), _money),
            format_stat(entry.get("ltv_per_customer"), _money),
            format_stat(entry.get("ltv_to_cac"), _ratio),
            format_stat(entry.get("payback_age"), _ratio),
        )
    return table


def _market_table(summary: Mapping[str, Any]) -> Table:
    table = Table(title="Market", title_justify="left", expand=False)
    table.add_column("Metric", no_wrap=True)
    table.add_column("Value", justify="right", no_wrap=True)
    market = summary.get("market") or {}
    for section, key, label, fmt in _MARKET_ROWS:
        stat = _get(market, section, key)
        if stat is not None:
            table.add_row(label, format_stat(stat, _FORMATTERS[fmt]))
    return table


def _decisions_line(summary: Mapping[str, Any]) -> Text:
    """One line on the lever changes (decisions.parquet): how many by policies and events, and who moved."""
    section = summary.get("decisions") or {}
    counts = section.get("changes_by_source") or {}
    text = Text()
    if not counts:
        text.append("Decisions: no lever changed (every policy fixed, no events).", style="dim")
        return text
    made, events = counts.get("decision", 0), counts.get("event", 0)
    text.append(f"Decisions: {made} lever change{'s' if made != 1 else ''} by policies, "
                f"{events} by events (decisions.parquet)")
    owners = section.get("by_owner") or {}
    if owners:
        movers = ", ".join(f"{owner.split('.', 1)[-1]} ({', '.join(entry['levers'][:2])})"
                           for owner, entry in list(owners.items())[:4])
        text.append(f"; moved: {movers}" + (" …" if len(owners) > 4 else ""))
    return text


def summary_renderable(summary: Mapping[str, Any], scenario_name: str) -> Group:
    """The rich renderable of :func:`render_summary`, to print on any rich Console."""
    parts = [_header(summary, scenario_name), _institutions_table(summary), _value_table(summary),
             _segment_table(summary, "by_product", "Profit by product (interest included)", "Product"),
             _segment_table(summary, "by_tier", "Acquisition cost and profit by city tier", "Tier"),
             _market_table(summary), _decisions_line(summary)]
    return Group(*(part for part in parts if part is not None))


def render_summary(summary: Mapping[str, Any], scenario_name: str, width: int = 100) -> str:
    """Plain-text, one-screen view of a run summary.

    Parameters
    ----------
    summary : mapping
        Output of :func:`sim.outputs.summarize` (or read back from ``summary.json``).
    scenario_name : str
        Shown in the header line.
    width : int, default 100
        Maximum line width in characters.

    Returns
    -------
    str
        Institutions (customers and share at the final step, whole-run CAC
        and profit), customer value by channel (CAC, lifetime
        value per customer to date, LTV/CAC and the pooled payback age in
        steps, :mod:`sim.experiments.payback`), whole-run margin, CAC
        and profit by product and by city tier (when the run has those
        tables) and market (active customers, conversions, r_eff, and
        defaults when present), each cell ``mean ± half-width``.
    """
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False,
                      legacy_windows=False)
    console.print(summary_renderable(summary, scenario_name))
    return buffer.getvalue()


def print_summary(
    summary: Mapping[str, Any], scenario_name: str, console: Console | None = None
) -> None:
    """Print the one-screen summary view on ``console`` (a new stdout Console by default)."""
    (console or Console()).print(summary_renderable(summary, scenario_name))
