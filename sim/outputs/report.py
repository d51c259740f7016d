"""The comparison report: ``report.md`` and a self-contained ``report.html`` from one Jinja2 template.

The report opens with a plain-language summary (who gains and loses what
against the first scenario, with 95% intervals, in display names and units),
then says what differs between the scenarios (every resolved parameter and
the event timelines), then the key metrics grouped by market, institution and
credit risk, then (when any policy changed a lever) the institutions'
decisions, then the charts and how to read the intervals.

``report.md`` is the template rendered with images linked from ``plots/``;
``report.html`` is the same Markdown (images as base64 data URIs) converted by
the ``markdown`` library and wrapped in a page with its CSS inline, so it can
be mailed as one file.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import markdown
import pandas as pd

from sim.experiments.compare import is_rate
from sim.outputs.formats import (
    MARKET_GROUP,
    RISK_GROUP,
    MetricInfo,
    describe_metric,
    display_names,
    format_difference,
    format_interval,
    format_value,
)
from sim.outputs.report_decisions import decisions_context
from sim.outputs.report_plots import Charts, plot_comparison

TEMPLATES = Path(__file__).with_name("templates")

#: Per-institution metrics the summary reports gains and losses of, in order.
SUMMARY_INSTITUTION_METRICS = ("market_share", "profit (run)")
#: Market metrics the summary always reports.
SUMMARY_MARKET_METRICS = ("active", "default_rate (run)")


# --------------------------------------------------------------------------- the summary
def _clear(low: float, high: float) -> bool:
    return math.isfinite(low) and math.isfinite(high) and (low > 0 or high < 0)


def compare_sentence(info: MetricInfo, scenario: str, base: str, difference: float, low: float, high: float,
                     level: float = 0.95) -> str:
    """One sentence on ``scenario − base``: the bigger scenario named first, the gap and its interval.

    With an interval that includes zero (or none), says there is no clear difference.
    """
    label = info.headline
    if not _clear(low, high):
        if math.isfinite(low) and math.isfinite(high):
            span = f"{format_difference(low, info.unit)} to {format_difference(high, info.unit)}"
            return (f"{label}: no clear difference between **{scenario}** and **{base}** "
                    f"({scenario} − {base}: {span}, {level:.0%} interval).")
        return f"{label}: {scenario} − {base} = {format_difference(difference, info.unit)} (no interval)."
    bigger, smaller = (scenario, base) if difference > 0 else (base, scenario)
    size, (a, b) = abs(difference), sorted((abs(low), abs(high)))
    fmt = _gap_format(info)
    return (f"{label}: **{bigger}** is higher than **{smaller}** by {fmt(size)} "
            f"({level:.0%} interval {_span(fmt, a, b)}).")


def _gap_format(info: MetricInfo):
    if info.unit == "percent":
        return lambda v: format_difference(v, "percent").lstrip("+")
    return lambda v: format_value(v, info.unit)


def movers_sentence(differences: pd.DataFrame, suffix: str, scenario: str, base: str,
                    names: Mapping[str, str]) -> str | None:
    """Who gains and who loses one per-institution metric under ``scenario`` against ``base``.

    Only changes whose interval excludes zero count; the rest are "no clear change".
    """
    rows = differences[(differences["scenario"] == scenario) & differences["metric"].str.endswith(f": {suffix}")
                       & ~differences["metric"].str.startswith("insurer ")]
    if rows.empty:
        return None
    info = describe_metric(f"x: {suffix}")
    fmt = _gap_format(info)
    gains, losses, unclear = [], [], []
    for row in rows.sort_values("difference", ascending=False).itertuples():
        ident = row.metric[: -len(suffix) - 2]
        who = names.get(ident, ident)
        if not _clear(row.low, row.high):
            unclear.append(who)
        elif row.difference > 0:
            gains.append(f"{who} gains {fmt(row.difference)} ({_span(fmt, row.low, row.high)})")
        else:
            losses.append(f"{who} loses {fmt(-row.difference)} ({_span(fmt, -row.high, -row.low)})")
    label = info.label[0].lower() + info.label[1:]
    moves = "; ".join(gains + losses) if gains or losses else "no institution clearly gains or loses"
    text = f"{info.label}, **{scenario}** against **{base}**: {moves}."
    if unclear and (gains or losses):
        text += f" No clear change in {label} for {', '.join(unclear)}."
    return text


def _span(fmt, low: float, high: float) -> str:
    """``0.57 to 3.0 pts``: the unit once, after the upper end."""
    a, b = fmt(low), fmt(high)
    for unit in (" pts", " yuan"):
        if a.endswith(unit) and b.endswith(unit):
            return f"{a.removesuffix(unit)} to {b}"
    return f"{a} to {b}"


def summary_lines(differences: pd.DataFrame, names_order: Sequence[str], names: Mapping[str, str],
                  changed: Mapping[str, Sequence[str]] | None = None, level: float = 0.95) -> list[str]:
    """The summary's bullets: for each scenario after the first, what it changes and who gains or loses.

    Parameters
    ----------
    differences : DataFrame
        :meth:`Comparison.differences`: ``scenario, metric, difference, low, high``.
    names_order : sequence of str
        Scenario names, the reference first.
    names : mapping
        Institution ids to display names.
    changed : mapping, optional
        Scenario name to the parameters it sets differently from the reference.
    level : float, default 0.95
        The level ``differences``' intervals were computed at, quoted in the
        sentences ("95% interval"); nothing is recomputed from it.
    """
    base = names_order[0]
    lines = []
    for scenario in names_order[1:]:
        mine = differences[differences["scenario"] == scenario] if not differences.empty else differences
        block = [f"**{scenario}** against **{base}**:"]
        for metric in SUMMARY_MARKET_METRICS:
            row = mine[mine["metric"] == metric]
            if not row.empty:
                r = row.iloc[0]
                block.append(compare_sentence(describe_metric(metric, names), scenario, base,
                                              float(r["difference"]), float(r["low"]), float(r["high"]), level))
        for suffix in SUMMARY_INSTITUTION_METRICS:
            sentence = movers_sentence(mine, suffix, scenario, base, names) if not mine.empty else None
            if sentence:
                block.append(sentence)
        # clear findings first, "no clear difference" after them
        block[1:] = sorted(block[1:], key=lambda line: "no clear difference" in line)
        if changed is not None and scenario in changed:
            block.append(changed_sentence(list(changed[scenario])))
        lines.append(block)
    return lines


def changed_sentence(keys: list[str]) -> str:
    """What the scenario changed against the first one, and what that lets the comparison say."""
    if not keys:
        return "It sets no parameter differently: the differences are noise."
    if len(keys) == 1:
        return (f"It differs in one parameter only (`{keys[0]}`; see *What differs*), so the differences "
                "above are that parameter's effect.")
    shown = ", ".join(f"`{k}`" for k in keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
    return (f"These differences come from {len(keys)} parameters changed together ({shown}; see *What differs*): "
            "the comparison cannot say which of them matters — a sweep or a sensitivity analysis can.")


# --------------------------------------------------------------------------- what differs
def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def event_lines(scenario) -> list[str]:
    """The scenario's timeline, one line per event: ``step 24 — label: path = value, …``."""
    lines = []
    for event in sorted(scenario.events, key=lambda e: e.at):
        changes = ", ".join(f"`{path}` = {_value(value)}" for path, value in event.set.items())
        lines.append(f"step {event.at}{' — ' + event.label if event.label else ''}: {changes}")
    return lines


# --------------------------------------------------------------------------- metric tables
@dataclass
class MetricRow:
    label: str
    cells: list[str]
    differences: list[str]


def metric_groups(table: pd.DataFrame, differences: pd.DataFrame, names_order: Sequence[str],
                  names: Mapping[str, str]) -> tuple[list[tuple[str, list[MetricRow]]], list[str]]:
    """Key metrics grouped (market, each institution, credit risk) and formatted; and those zero everywhere."""
    metrics = list(dict.fromkeys(table["metric"]))
    cells = table.set_index(["metric", "scenario"])
    diffs = differences.set_index(["metric", "scenario"]) if not differences.empty else None
    groups: dict[str, list[MetricRow]] = {}
    zero: list[str] = []
    for metric in metrics:
        info = describe_metric(metric, names)
        values = [cells.loc[(metric, n)] if (metric, n) in cells.index else None for n in names_order]
        means = [v["mean"] for v in values if v is not None]
        if all(not math.isfinite(m) or m == 0 for m in means):
            zero.append(info.headline)
            continue
        label = f"{info.label} (yuan)" if info.unit == "yuan" else info.label
        row = MetricRow(label,
                        [format_interval(v["mean"], v["low"], v["high"], info.unit, bare=True) if v is not None
                         else "—" for v in values], [])
        for name in names_order[1:]:
            if diffs is not None and (metric, name) in diffs.index:
                d = diffs.loc[(metric, name)]
                text = format_difference(d["difference"], info.unit, bare=True)
                if math.isfinite(d["low"]):
                    text += (f" ({format_difference(d['low'], info.unit, bare=True)} to "
                             f"{format_difference(d['high'], info.unit, bare=True)})")
                row.differences.append(text)
            else:
                row.differences.append("—")
        groups.setdefault(info.group, []).append(row)
    order = [MARKET_GROUP, *(g for g in groups if g not in (MARKET_GROUP, RISK_GROUP)), RISK_GROUP]
    return [(g, groups[g]) for g in order if g in groups], zero


# --------------------------------------------------------------------------- rendering
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def _cell(text: Any) -> str:
    """A Markdown table cell: no pipes or line breaks."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def report_context(comparison, charts: Charts, level: float = 0.95) -> dict[str, Any]:
    """Everything the template shows, computed once for both renderings."""
    scenarios = comparison.scenarios
    names_order = comparison.names
    names = display_names(scenarios)
    table = comparison.table(level)
    differences = comparison.differences(level)
    changed_table = comparison.parameter_differences()
    base = names_order[0]
    changed = {}
    for name in names_order[1:]:
        differs = changed_table[changed_table[name].astype(str) != changed_table[base].astype(str)] \
            if not changed_table.empty else changed_table
        changed[name] = list(differs["parameter"])
    groups, zero = metric_groups(table, differences, names_order, names)
    return {
        "title": "Scenario comparison: " + " vs ".join(names_order),
        "names": names_order,
        "base": base,
        "others": names_order[1:],
        "replications": comparison.replications,
        "seed": comparison.seed,
        "version": comparison.results[0].version,
        "level": level,
        "time_unit": scenarios[0].time.unit,
        "steps": scenarios[0].time.steps,
        "summary": summary_lines(differences, names_order, names, changed, level),
        "scenarios": [{"name": s.name, "description": (s.description or "").strip(), "shows": (s.shows or "").strip(),
                       "sources": list(s.sources), "events": event_lines(s)} for s in scenarios],
        "differs": [{"parameter": row["parameter"], "values": [_cell(_value(row[n])) for n in names_order]}
                    for _, row in changed_table.iterrows() if row["parameter"] != "events"],
        "events_differ": bool((changed_table["parameter"] == "events").any()) if not changed_table.empty else False,
        "groups": [(g, [{"label": _cell(r.label), "cells": [_cell(c) for c in r.cells],
                         "differences": [_cell(d) for d in r.differences]} for r in rows]) for g, rows in groups],
        "zero_metrics": zero,
        "charts": [{"name": p.name, "caption": charts.captions.get(p.name, p.stem)} for p in charts.paths],
        "chart_notes": charts.notes,
        "rate_interval": any(is_rate(m) for m in table["metric"]),
        "decisions": decisions_context(comparison.results, names),
        "claims": [],          # filled in by write_report (claims_context)
        "attribution": None,   # filled in by write_report when an attribution is given
    }


def render_markdown(context: Mapping[str, Any], image_src=lambda name: f"plots/{name}") -> str:
    """The report's Markdown, with each chart's source given by ``image_src(file name)``."""
    return _environment().get_template("report.md.j2").render(**context, image_src=image_src)


def render_html(context: Mapping[str, Any], plots_dir: Path) -> str:
    """The self-contained page: the same Markdown with images embedded, converted, CSS inline."""
    def embedded(name: str) -> str:
        return "data:image/png;base64," + base64.b64encode((Path(plots_dir) / name).read_bytes()).decode()

    body = markdown.markdown(render_markdown(context, embedded), extensions=["tables", "sane_lists"],
                             output_format="html")
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return _environment().get_template("report.html.j2").render(title=context["title"], css=css, body=body)


def claims_context(comparison, level: float = 0.95) -> list[dict[str, Any]]:
    """The claims of the compared scenarios made against the first one, judged on these runs."""
    from sim.experiments.claims import claims_in_comparison

    rows = []
    for name, result in claims_in_comparison(comparison, level):
        claim = result.claim
        wanted = {"higher": "> 0", "lower": "< 0"}.get(claim.direction)
        if wanted is None:
            low, high = claim.bounds()
            wanted = f"in [{low:g}, {high:g}]"
        rows.append({"scenario": name, "metric": result.column, "direction": claim.direction,
                     "claimed": wanted, "horizon": claim.horizon, "difference": result.difference,
                     "low": result.low, "high": result.high, "holds": result.holds,
                     "reproduced": claim.reproduced})
    return rows


def attribution_context(attribution, charts: Sequence[Path]) -> dict[str, Any]:
    """The "What each change did" section: per charted metric, its parts, and the waterfall files."""
    from sim.experiments.attribution import TOTAL
    from sim.outputs.attribution_plots import chosen_metrics

    metrics = chosen_metrics(attribution)
    blocks = []
    for metric, chart in zip(metrics, charts, strict=False):
        rows = [{"part": r["part"], "paths": r["paths"], "value": _cell(f"{r['contribution']:,.4g}"),
                 "interval": _cell(f"[{r['low']:,.4g}, {r['high']:,.4g}]"), "total": r["part"] == TOTAL}
                for _, r in attribution.for_metric(metric).iterrows()]
        blocks.append({"metric": metric, "rows": rows, "chart": chart.name})
    return {"base": attribution.base, "target": attribution.target, "blocks": blocks,
            "groups": {g: list(p) for g, p in attribution.groups.items()}}


def write_report(comparison, out_dir: Path, level: float = 0.95, attribution=None) -> dict[str, Path]:
    """Write the comparison's tables, plots, ``report.md`` and ``report.html`` into ``out_dir``.

    Also ``metrics.csv`` (means and intervals per scenario), ``differences.csv``
    (paired differences), ``parameters.csv`` (what differs) and
    ``comparison.json`` (seed, replications, version).  With an
    ``attribution`` (:func:`sim.experiments.attribution.attribute`), also
    ``attribution.csv``, waterfall charts and the section "What each change did".
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = display_names(comparison.scenarios)
    charts = plot_comparison(comparison, out_dir / "plots", names)
    comparison.table(level).to_csv(out_dir / "metrics.csv", index=False)
    comparison.differences(level).to_csv(out_dir / "differences.csv", index=False)
    comparison.parameter_differences().to_csv(out_dir / "parameters.csv", index=False)
    meta = {"scenarios": comparison.names, "seed": comparison.seed, "replications": comparison.replications,
            "version": comparison.results[0].version, "common_random_numbers": True}
    (out_dir / "comparison.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    context = report_context(comparison, charts, level)
    context["attribution"] = None
    context["claims"] = claims_context(comparison, level)
    if context["claims"]:
        pd.DataFrame(context["claims"]).to_csv(out_dir / "claims.csv", index=False)
    if attribution is not None:
        from sim.outputs.attribution_plots import write_waterfalls

        attribution.table.to_csv(out_dir / "attribution.csv", index=False)
        context["attribution"] = attribution_context(attribution, write_waterfalls(attribution, out_dir / "plots",
                                                                                    names=names))
    (out_dir / "report.md").write_text(render_markdown(context), encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(context, out_dir / "plots"), encoding="utf-8")
    return {"markdown": out_dir / "report.md", "html": out_dir / "report.html", "plots": out_dir / "plots"}


def metric_table(comparison, level: float = 0.95) -> pd.DataFrame:
    """Key metrics × scenarios for the terminal: display labels, formatted ``mean (low to high)``."""
    names = display_names(comparison.scenarios)
    table = comparison.table(level)
    rows = {}
    for metric in dict.fromkeys(table["metric"]):
        info = describe_metric(metric, names)
        mine = table[table["metric"] == metric].set_index("scenario")
        rows[info.headline] = {n: format_interval(*mine.loc[n, ["mean", "low", "high"]], info.unit)
                               if n in mine.index else "—" for n in comparison.names}
    return pd.DataFrame.from_dict(rows, orient="index", columns=comparison.names)


__all__ = ["compare_sentence", "display_names", "event_lines", "metric_groups", "metric_table", "movers_sentence",
           "render_html", "render_markdown", "report_context", "summary_lines", "write_report"]
