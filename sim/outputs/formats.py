"""Numbers as a strategy team reads them: yuan, percentages, thousands, and what each key metric is.

Every formatter takes a float (NaN or ``None`` gives "—") and returns a short
string; :func:`format_value` picks one by unit.  :func:`describe_metric` turns
a key metric's name (:func:`sim.experiments.metrics.key_metrics`) into its
group (market, an institution, risk), a plain label and its unit, with
institutions under their display names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from matplotlib.ticker import Formatter, FuncFormatter, PercentFormatter

from sim.outputs._style import step_label

Unit = Literal["count", "yuan", "percent", "ratio"]
MINUS = "−"


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(float(value))


def _sign(value: float) -> str:
    return MINUS if value < 0 else ""


def thousands(value: float | None) -> str:
    """A count: ``850``, ``6,600``, ``12.3 thousand``, ``1.25 million`` (rounded, never ``1e6``)."""
    if _missing(value):
        return "—"
    size = abs(float(value))
    if size >= 1e6:
        return f"{_sign(value)}{size / 1e6:,.2f} million"
    if size >= 1e4:
        return f"{_sign(value)}{size / 1e3:,.1f} thousand"
    if size >= 10 or size == round(size):
        return f"{_sign(value)}{size:,.0f}"
    return f"{_sign(value)}{size:,.1f}"


def yuan(value: float | None) -> str:
    """Money: ``850 yuan``, ``12,300 yuan``, ``1.25 million yuan``, ``3.4 billion yuan``."""
    if _missing(value):
        return "—"
    size = abs(float(value))
    if size >= 1e9:
        text = f"{size / 1e9:,.2f} billion"
    elif size >= 1e6:
        text = f"{size / 1e6:,.2f} million"
    elif size >= 10 or size == 0:
        text = f"{size:,.0f}"
    else:
        text = f"{size:,.2f}"
    return f"{_sign(value)}{text} yuan"


def percent(value: float | None) -> str:
    """A share or rate given as a fraction: ``0.25%``, ``12.5%``, ``100%``; small values keep two decimals."""
    if _missing(value):
        return "—"
    pct = float(value) * 100
    size = abs(pct)
    if size == 0:
        return "0%"
    if size >= 99.95 and size <= 100.05:
        return f"{_sign(pct)}100%"
    decimals = 2 if size < 1 else 1
    if size < 0.005:
        return f"{_sign(pct)}<0.01%"
    return f"{_sign(pct)}{size:.{decimals}f}%"


def points(value: float | None) -> str:
    """A difference of two shares, in percentage points: ``+2.1 pts``, ``−0.35 pts``."""
    if _missing(value):
        return "—"
    pts = float(value) * 100
    size = abs(pts)
    decimals = 2 if size < 1 else 1
    sign = MINUS if pts < 0 else "+" if pts > 0 else ""
    return f"{sign}{size:.{decimals}f} pts"


def ratio(value: float | None) -> str:
    if _missing(value):
        return "—"
    return f"{float(value):.2f}"


FORMATTERS = {"count": thousands, "yuan": yuan, "percent": percent, "ratio": ratio}


def format_value(value: float | None, unit: Unit) -> str:
    """``value`` in ``unit`` (``count``, ``yuan``, ``percent`` or ``ratio``)."""
    return FORMATTERS[unit](value)


def format_interval(mean: float | None, low: float | None, high: float | None, unit: Unit,
                    bare: bool = False) -> str:
    """``mean (low to high)``, or the mean alone when there is no interval.

    ``bare``: money without the word "yuan" (for a table whose row label carries the unit).
    """
    if _missing(mean):
        return "—"
    fmt = (lambda v: yuan(v).removesuffix(" yuan")) if bare and unit == "yuan" else FORMATTERS[unit]
    if _missing(low) or _missing(high):
        return fmt(mean)
    return f"{fmt(mean)} ({fmt(low)} to {fmt(high)})"


def format_difference(value: float | None, unit: Unit, bare: bool = False) -> str:
    """A signed difference: shares in percentage points, others with an explicit ``+``."""
    if unit == "percent":
        return points(value)
    if _missing(value):
        return "—"
    text = format_value(abs(float(value)), unit)
    if bare:
        text = text.removesuffix(" yuan")
    return f"{MINUS if value < 0 else '+' if value > 0 else ''}{text}"


# --------------------------------------------------------------------------- axis formatters
def _axis_minus(text: str) -> str:
    return text.replace("-", MINUS)


def _axis_count(value: float, _pos: int | None = None) -> str:
    size = abs(value)
    if size >= 1e6:
        return _axis_minus(f"{value / 1e6:,.1f}M".replace(".0M", "M"))
    if size >= 1e4:
        return _axis_minus(f"{value / 1e3:,.0f}k")
    return _axis_minus(f"{value:,.0f}" if value == round(value) else f"{value:,.1f}")


def _axis_yuan(value: float, _pos: int | None = None) -> str:
    size = abs(value)
    if size >= 1e9:
        return _axis_minus(f"{value / 1e9:,.1f}bn".replace(".0bn", "bn"))
    return _axis_count(value)


def axis_formatter(unit: Unit) -> Formatter:
    """A tick formatter with no offset or scientific notation: ``6,600``, ``12k``, ``1.5M``, ``25%``."""
    if unit == "percent":
        return PercentFormatter(1.0)   # decimals chosen from the axis range, so ticks never repeat
    if unit == "yuan":
        return FuncFormatter(_axis_yuan)
    if unit == "ratio":
        return FuncFormatter(lambda v, _p=None: f"{v:.2f}")
    return FuncFormatter(_axis_count)


def axis_label(unit: Unit) -> str:
    """The unit note for an axis label: ``(yuan; k = thousand, M = million)`` and so on."""
    return {"yuan": "yuan (k = thousand, M = million)", "count": "customers", "percent": "%", "ratio": ""}[unit]


def display_names(scenarios: Sequence[Any]) -> dict[str, str]:
    """Institution and insurer ids to the names the scenarios give them (the first scenario naming one wins)."""
    names: dict[str, str] = {}
    for scenario in scenarios:
        for group in (scenario.banks, scenario.platforms, scenario.insurers):
            for ident, spec in group.items():
                if ident not in names and spec.name:
                    names[ident] = spec.name
    return names


# --------------------------------------------------------------------------- key metrics
@dataclass(frozen=True)
class MetricInfo:
    """What a key metric is: its group, the institution it belongs to (if any), a label and a unit."""

    metric: str
    group: str
    institution: str | None
    label: str
    unit: Unit

    @property
    def headline(self) -> str:
        """The label with its subject, for a sentence: ``Large state bank: market share at the end``."""
        if self.institution and self.group != RISK_GROUP:
            return f"{self.group}: {self.label[0].lower()}{self.label[1:]}"
        return self.label


#: (name in key_metrics, label, unit) of market and risk metrics.
_MARKET = {
    "active": ("Active customers at the end", "count"),
    "aware": ("Customers aware of an offer at the end", "count"),
    "new_active (run)": ("New active customers over the run", "count"),
    "referral_conversions (run)": ("Won by referral over the run", "count"),
    "employee_conversions (run)": ("Won by employees' media over the run", "count"),
    "churned (run)": ("Customers lost (churn) over the run", "count"),
}
_RISK = {
    "new_loans (run)": ("New loans over the run", "count"),
    "new_defaults (run)": ("Defaults over the run", "count"),
    "contagion_defaults (run)": ("Defaults by contagion over the run", "count"),
    "credit_losses (run)": ("Credit losses over the run", "yuan"),
    "insured_losses (run)": ("Losses paid by insurers over the run", "yuan"),
    "default_rate (run)": ("Default rate per borrower-step over the run", "percent"),
    "p2p platforms failed (share)": ("P2P platforms failed (share of runs × platforms)", "percent"),
}
_INSTITUTION = {
    "market_share": ("Market share at the end", "percent"),
    "customers": ("Customers at the end", "count"),
    "cac (run)": ("Acquisition cost per new customer", "yuan"),
    "profit (run)": ("Profit over the run", "yuan"),
    "default_rate (run)": ("Default rate per loan-step", "percent"),
    "defaults (run)": ("Defaults over the run", "count"),
    "losses (run)": ("Credit losses over the run", "yuan"),
}
_INSURER = {
    "capital": ("Capital at the end", "yuan"),
    "failed": ("Failed (share of runs)", "percent"),
    "premiums (run)": ("Premiums over the run", "yuan"),
    "claims (run)": ("Claims over the run", "yuan"),
}

MARKET_GROUP = "Market"
RISK_GROUP = "Credit risk"


def _plain(name: str) -> str:
    return name.replace("_", " ").replace(" (run)", " over the run").capitalize()


def describe_metric(metric: str, names: Mapping[str, str] | None = None) -> MetricInfo:
    """Group, label and unit of a key metric's name; institutions under their display ``names``."""
    names = names or {}
    if metric in _MARKET:
        return MetricInfo(metric, MARKET_GROUP, None, *_MARKET[metric])
    if metric in _RISK:
        return MetricInfo(metric, RISK_GROUP, None, *_RISK[metric])
    if metric.startswith("insurer ") and ": " in metric:
        ident, column = metric[len("insurer "):].split(": ", 1)
        label, unit = _INSURER.get(column, (_plain(column), "count"))
        return MetricInfo(metric, RISK_GROUP, ident, f"Insurer {names.get(ident, ident)}: {label.lower()}", unit)
    if ": " in metric:
        ident, column = metric.split(": ", 1)
        label, unit = _INSTITUTION.get(column, (_plain(column), "count"))
        return MetricInfo(metric, names.get(ident, ident), ident, label, unit)
    unit: Unit = "percent" if "rate" in metric or "share" in metric else "count"
    return MetricInfo(metric, MARKET_GROUP, None, _plain(metric), unit)


__all__ = [
    "MetricInfo",
    "axis_formatter",
    "axis_label",
    "describe_metric",
    "display_names",
    "format_difference",
    "format_interval",
    "format_value",
    "percent",
    "points",
    "ratio",
    "step_label",
    "thousands",
    "yuan",
]
