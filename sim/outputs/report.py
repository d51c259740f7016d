"""The comparison report: tables, overlay plots, ``report.md`` and a self-contained ``report.html``."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.experiments.stats import mean_ci


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude < 0.01:
        return f"{value:.2e}"
    if magnitude < 10:
        return f"{value:.3f}"
    return f"{value:,.0f}"


def _interval(mean, low, high) -> str:
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return _fmt(mean)
    return f"{_fmt(mean)} [{_fmt(low)}, {_fmt(high)}]"


def _p(value: float) -> str:
    if value is None or math.isnan(value):
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def metric_table(comparison) -> pd.DataFrame:
    """Metrics × scenarios, each cell 'mean [low, high]'."""
    table = comparison.table()
    table["cell"] = [_interval(m, lo, hi) for m, lo, hi in zip(table["mean"], table["low"], table["high"], strict=True)]
    wide = table.pivot(index="metric", columns="scenario", values="cell")
    order = list(dict.fromkeys(table["metric"]))
    return wide.reindex(index=order, columns=comparison.names).fillna("—")


def difference_table(comparison) -> pd.DataFrame:
    """Paired differences against the first scenario, formatted."""
    diff = comparison.differences()
    if diff.empty:
        return diff
    return pd.DataFrame(
        {
            "scenario": diff["scenario"],
            "metric": diff["metric"],
            "difference [95% CI]": [
                _interval(m, lo, hi) for m, lo, hi in zip(diff["difference"], diff["low"], diff["high"], strict=True)
            ],
            "paired t-test p": [_p(p) for p in diff["p_value"]],
        }
    )


def plot_overlays(comparison, out_dir: Path) -> list[Path]:
    """Overlay charts across scenarios: adoption over time, final shares, CAC and profit by institution."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    colors = [f"C{i}" for i in range(10)]

    fig = Figure(figsize=(10, 5.5))
    ax = fig.subplots()
    for j, result in enumerate(comparison.results):
        wide = result.market.pivot(index="step", columns="replication", values="active")
        stats = np.array([mean_ci(row) for row in wide.to_numpy()])
        color = colors[j % len(colors)]
        ax.plot(wide.index, stats[:, 0], color=color, lw=2, label=result.scenario.name)
        if comparison.replications > 1:
            ax.fill_between(wide.index, stats[:, 1], stats[:, 2], color=color, alpha=0.15)
    ax.set(title="Active customers over time (mean, 95% band)", xlabel="Step", ylabel="Customers with ≥ 1 product")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    paths.append(_save(fig, out_dir / "active_customers.png"))

    table = comparison.table()
    for suffix, title, filename in ((": market_share", "Final market share by institution", "market_share.png"),
                                     (": cac (run)", "Acquisition cost per new customer (whole run)", "cac.png"),
                                     (": profit (run)", "Profit over the run", "profit.png")):
        rows = table[table["metric"].str.endswith(suffix)].copy()
        if rows.empty:
            continue
        rows["institution"] = rows["metric"].str[: -len(suffix)]
        institutions = list(dict.fromkeys(rows["institution"]))
        width = 0.8 / len(comparison.names)
        fig = Figure(figsize=(max(8, 1.4 * len(institutions) + 3), 5))
        ax = fig.subplots()
        x = np.arange(len(institutions))
        for j, name in enumerate(comparison.names):
            mine = rows[rows["scenario"] == name].set_index("institution").reindex(institutions)
            err = np.vstack([mine["mean"] - mine["low"], mine["high"] - mine["mean"]])
            err = np.where(np.isfinite(err), err, 0.0)
            ax.bar(x + (j - (len(comparison.names) - 1) / 2) * width, mine["mean"], width, yerr=err,
                   color=colors[j % len(colors)], label=name, capsize=3)
        ax.set_xticks(x, institutions, rotation=20, ha="right")
        ax.set(title=f"{title} (mean, 95% interval)")
        ax.legend(frameon=False)
        ax.grid(axis="y", alpha=0.3)
        paths.append(_save(fig, out_dir / filename))
    return paths


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def write_report(comparison, out_dir: Path) -> dict[str, Path]:
    """Write the comparison's tables, plots, report.md and report.html into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = plot_overlays(comparison, out_dir / "plots")
    raw = comparison.table()
    diffs = comparison.differences()
    raw.to_csv(out_dir / "metrics.csv", index=False)
    diffs.to_csv(out_dir / "differences.csv", index=False)
    metrics = metric_table(comparison)
    differences = difference_table(comparison)
    meta = {"scenarios": comparison.names, "seed": comparison.seed, "replications": comparison.replications,
            "version": comparison.results[0].version, "common_random_numbers": True}
    (out_dir / "comparison.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    intro = _intro(comparison)
    md = [f"# Scenario comparison: {' vs '.join(comparison.names)}", "", *intro, "",
          "## Key metrics (mean [95% interval] over replications)", "", _md_table(metrics.reset_index()), "",
          f"## Differences against `{comparison.names[0]}` (paired by replication)", "",
          _md_table(differences) if not differences.empty else "(no common metrics)", "", "## Charts", ""]
    md += [f"![{p.stem}](plots/{p.name})" for p in plots]
    (out_dir / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")

    images = "".join(
        f'<figure><img alt="{p.stem}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}"></figure>'
        for p in plots)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Scenario comparison: {html.escape(" vs ".join(comparison.names))}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:0.85em;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
th:first-child,td:first-child{{text-align:left}}img{{max-width:100%}}</style></head><body>
<h1>Scenario comparison: {html.escape(" vs ".join(comparison.names))}</h1>
{"".join(f"<p>{html.escape(line)}</p>" for line in intro if line)}
<h2>Key metrics (mean [95% interval] over replications)</h2>{metrics.to_html(escape=True)}
<h2>Differences against {html.escape(comparison.names[0])} (paired by replication)</h2>
{differences.to_html(index=False, escape=True) if not differences.empty else "<p>(no common metrics)</p>"}
<h2>Charts</h2>{images}</body></html>"""
    (out_dir / "report.html").write_text(page, encoding="utf-8")
    return {"markdown": out_dir / "report.md", "html": out_dir / "report.html", "plots": out_dir / "plots"}


def _intro(comparison) -> list[str]:
    lines = [f"{comparison.replications} replications per scenario from seed {comparison.seed}, on common random "
             f"numbers (replication k of every scenario uses the same random stream); package version "
             f"{comparison.results[0].version}."]
    for result in comparison.results:
        s = result.scenario
        text = f"**{s.name}**: {s.description.strip() or '(no description)'}"
        if s.shows:
            text += f" Shows: {s.shows.strip()}"
        if s.sources:
            text += f" Sources: {', '.join(s.sources)}."
        lines += ["", text]
    return lines


def _md_table(frame: pd.DataFrame) -> str:
    """A pipe table without extra dependencies."""
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
