"""The summary of a run: final-step and whole-run figures, with 95% intervals over replications.

Every figure is computed once per replication with the reductions of
:mod:`sim.experiments.metrics` (the final-step value, or a whole-run total or
ratio) and then summarised across replications with a Student t interval
(:mod:`sim.experiments.stats`).  The result is a JSON-ready dict; the output
layer writes it (``summary.json``) and renders it (the console table).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.metrics import (
    INSTITUTION_FLOWS,
    INSTITUTION_LEVELS,
    final_rows,
    final_step,
    metric_columns,
    replications_of,
    run_rows,
    run_totals,
)
from sim.experiments.payback import pooled_payback
from sim.experiments.schema import KEYS, MARKET_FLOWS, channel_order, check_columns
from sim.experiments.stats import check_level, ratio, stat

#: v2: ``payback_age`` is the pooled payback; the per-cohort one is ``cohort_payback_age``.
#: v3: customer value's ``cac``, ``ltv_to_cac`` and ``payback_age`` count the spend of steps without acquisitions.
SUMMARY_SCHEMA = "bankplatform-sim summary v3"


def _market_section(
    market: pd.DataFrame, reps: list[int], metrics: Sequence[str] | None, level: float
) -> dict[str, Any]:
    available = metric_columns(market, "market")
    if metrics is None:
        chosen = available
    else:
        unknown = [m for m in metrics if m not in available]
        if unknown:
            raise ValueError(f"unknown market metric(s) {unknown}; available: {available}")
        chosen = list(metrics)
    final = final_rows(market).set_index("replication").reindex(reps)
    section: dict[str, Any] = {
        "final_step": {m: stat(final[m], level) for m in chosen},
        "whole_run": {},
    }
    flows = [m for m in MARKET_FLOWS if m in chosen]
    during = run_rows(market)
    if flows:
        totals = run_totals(market, flows).reindex(reps)
        section["whole_run"] = {f"{m}_total": stat(totals[m], level) for m in flows}
    if "r_eff" in chosen:
        per_rep = during.groupby("replication")["r_eff"].mean().reindex(reps)
        section["whole_run"]["r_eff_mean_over_steps"] = stat(per_rep, level)
    return section


def _institution_section(inst: pd.DataFrame, reps: list[int], level: float) -> dict[str, Any]:
    known = set(INSTITUTION_LEVELS) | set(INSTITUTION_FLOWS) | {"cac"}
    numeric = metric_columns(inst, "institutions")
    levels = [c for c in INSTITUTION_LEVELS if c in numeric]
    levels += [c for c in numeric if c.startswith("customers_")]
    levels += [c for c in numeric if c not in known and not c.startswith("customers_")]
    flows = [c for c in INSTITUTION_FLOWS if c in numeric]

    final = final_rows(inst)
    totals = run_totals(inst, flows, by=["institution", "replication"])
    section: dict[str, Any] = {}
    for ident in pd.unique(inst["institution"]):
        rows = inst[inst["institution"] == ident]
        at_end = final[final["institution"] == ident].set_index("replication").reindex(reps)
        if ident in totals.index.get_level_values(0):
            run = totals.xs(ident, level="institution").reindex(reps, fill_value=0)
        else:
            run = pd.DataFrame(0.0, index=reps, columns=flows)
        whole_run = {f"{c}_total": stat(run[c], level) for c in flows}
        if {"acquisition_spend", "new_customers"} <= set(flows):
            whole_run["cac"] = stat(ratio(run["acquisition_spend"], run["new_customers"]), level)
        section[str(ident)] = {
            "kind": _first(rows, "kind"),
            "type": _first(rows, "type"),
            "final_step": {c: stat(at_end[c], level) for c in levels},
            "whole_run": whole_run,
        }
    return section


def _first(rows: pd.DataFrame, column: str) -> str | None:
    if column not in rows.columns or rows.empty:
        return None
    return str(rows[column].iloc[0])


def _channel_stats(grid: pd.DataFrame, level: float) -> dict[str, Any]:
    """Whole-run stats per channel from a (replication × channel) grid of totals."""
    new = grid["new_customers"]
    spend = grid["spend"]
    all_new = new.sum(axis=1).to_numpy()
    out: dict[str, Any] = {}
    for channel in channel_order(new.columns):
        out[channel] = {
            "new_customers": stat(new[channel], level),
            "spend": stat(spend[channel], level),
            "cac": stat(ratio(spend[channel], new[channel]), level),
            "share_of_new_customers": stat(ratio(new[channel], all_new), level),
        }
    return out


def _totals_grid(frame: pd.DataFrame, keys: list[str], reps: list[int]) -> pd.DataFrame:
    """Whole-run totals of new customers and spend, one row per replication, columns per key.

    Replications with no rows for a channel count as zero: no rows means no
    customers and no spend, not missing data.
    """
    summed = frame.groupby(["replication", *keys])[["new_customers", "spend"]].sum()
    grid = summed.unstack(keys, fill_value=0)
    return grid.reindex(reps, fill_value=0)


def _channel_section(channels: pd.DataFrame, reps: list[int], level: float) -> dict[str, Any]:
    during = run_rows(channels)
    section: dict[str, Any] = {"by_institution": {}, "all_institutions": {}}
    if during.empty:
        return section
    for ident in pd.unique(during["institution"]):
        rows = during[during["institution"] == ident]
        section["by_institution"][str(ident)] = _channel_stats(
            _totals_grid(rows, ["channel"], reps), level
        )
    section["all_institutions"] = _channel_stats(_totals_grid(during, ["channel"], reps), level)
    return section


#: Whole-run flows of the ``products`` and ``tiers`` tables summarised per (institution, product or tier).
SEGMENT_FLOWS = {
    "products": ("new_customers", "interest_income", "margin", "acquisition_spend", "credit_costs", "profit"),
    "tiers": ("new_customers", "acquisition_spend", "margin", "profit"),
}


def _segment_section(frame: pd.DataFrame, key: str, flows: Sequence[str], reps: list[int],
                     level: float) -> dict[str, Any]:
    """Whole-run totals per (institution, ``key``), with CAC as the ratio of totals per replication."""
    during = run_rows(frame)
    section: dict[str, Any] = {}
    if during.empty:
        return section
    flows = [c for c in flows if c in during.columns]
    summed = during.groupby(["institution", key, "replication"])[flows].sum()
    for (ident, group), rows in summed.groupby(level=[0, 1]):
        run = rows.droplevel([0, 1]).reindex(reps, fill_value=0)
        entry = {f"{c}_total": stat(run[c], level) for c in flows}
        if {"acquisition_spend", "new_customers"} <= set(flows):
            entry["cac"] = stat(ratio(run["acquisition_spend"], run["new_customers"]), level)
        section.setdefault(str(ident), {})[str(group)] = entry
    return section


def cohort_ends(cohorts: pd.DataFrame) -> pd.DataFrame:
    """The last row of each cohort acquired during the run (cohort step >= 1): its value to date."""
    won = cohorts[cohorts["cohort"] >= 1]
    keys = ["replication", "cohort", "institution", "channel", "product"]
    return won.sort_values([*keys, "age"]).groupby(keys, sort=False).tail(1)


def _value_stats(ends: pd.DataFrame, payback: pd.Series, unattributed: pd.Series, reps: list[int],
                 level: float) -> dict[str, Any]:
    """Customer value of some cohorts' ends and their pooled payback age, one figure per replication.

    ``payback`` is the pooled payback age per replication
    (:func:`sim.experiments.payback.pooled_payback`); ``unattributed`` the
    group's spend in steps without acquisitions, per replication, which the
    CAC and LTV/CAC count with the cohorts' costs; ``cohort_payback_age``
    and ``paid_back_share`` are the per-cohort figures (secondary: biased by
    the size of the cohorts, see :mod:`sim.experiments.payback`).
    """
    paid = ends["payback_age"].notna()
    frame = pd.DataFrame({
        "replication": ends["replication"].to_numpy(),
        "acquired": ends["acquired"].to_numpy(float),
        "cost": ends["acquisition_cost"].to_numpy(float),
        "ltv": ends["ltv"].to_numpy(float),
        "paid": np.where(paid, ends["acquired"], 0).astype(float),
        "payback_weighted": np.where(paid, ends["payback_age"].astype("Float64").fillna(0).to_numpy(float)
                                     * ends["acquired"].to_numpy(float), 0.0),
    })
    per_rep = frame.groupby("replication").sum().reindex(reps, fill_value=0)
    per_rep["cost"] += unattributed.reindex(reps, fill_value=0.0).to_numpy(dtype=float)
    return {
        "acquired": stat(per_rep["acquired"], level),
        "cac": stat(ratio(per_rep["cost"], per_rep["acquired"]), level),
        "ltv_per_customer": stat(ratio(per_rep["ltv"], per_rep["acquired"]), level),
        "ltv_to_cac": stat(ratio(per_rep["ltv"], per_rep["cost"]), level),
        "payback_age": stat(payback.reindex(reps).astype(float), level),
        "paid_back_share": stat(ratio(per_rep["paid"], per_rep["acquired"]), level),
        "cohort_payback_age": stat(ratio(per_rep["payback_weighted"], per_rep["paid"]), level),
    }


def _cohort_section(cohorts: pd.DataFrame, channels: pd.DataFrame, reps: list[int], level: float) -> dict[str, Any]:
    """Customer value by channel (all institutions) and by institution and channel, cohorts of steps 1..T.

    Costs include the spend of steps in which a channel acquired nobody
    (``channels`` ``unattributed_spend``), so the CAC is the channel's whole
    spend over its acquisitions (:mod:`sim.experiments.payback`).
    """
    ends = cohort_ends(cohorts)
    by_channel = pooled_payback(cohorts, by=("channel",), channels=channels).set_index(
        ["channel", "replication"]).sort_index()["payback_age"]
    by_institution = pooled_payback(cohorts, by=("institution", "channel"), channels=channels).set_index(
        ["institution", "channel", "replication"]).sort_index()["payback_age"]
    idle = channels[channels["step"] >= 1]
    idle_by_channel = idle.groupby(["channel", "replication"])["unattributed_spend"].sum()
    idle_by_institution = idle.groupby(["institution", "channel", "replication"])["unattributed_spend"].sum()
    section: dict[str, Any] = {"by_channel": {}, "by_institution": {}}
    for channel in channel_order(pd.unique(ends["channel"])):
        section["by_channel"][channel] = _value_stats(ends[ends["channel"] == channel],
                                                      _select(by_channel, (channel,)),
                                                      _select(idle_by_channel, (channel,)), reps, level)
    for ident in pd.unique(ends["institution"]):
        mine = ends[ends["institution"] == ident]
        section["by_institution"][str(ident)] = {
            channel: _value_stats(mine[mine["channel"] == channel], _select(by_institution, (ident, channel)),
                                  _select(idle_by_institution, (ident, channel)), reps, level)
            for channel in channel_order(pd.unique(mine["channel"]))
        }
    return section


def _select(series: pd.Series, key: tuple) -> pd.Series:
    """The rows of ``series`` under the leading index values ``key``, indexed by replication (empty if none)."""
    try:
        return series.loc[key]
    except KeyError:
        return pd.Series(dtype=float)


# --------------------------------------------------------------------------- public API


def summarize(
    tables: Mapping[str, pd.DataFrame],
    metrics: Sequence[str] | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """Summarise a run: final-step and whole-run means with intervals over replications.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The run's tables; ``market``, ``institutions``, ``channels``,
        ``products``, ``tiers``, ``cohorts`` (with ``channels``) and
        ``decisions`` are used when present (each section is omitted if its
        table is absent, and all but ``channels`` and ``decisions`` if it is
        empty).
    metrics : sequence of str, optional
        Market columns to report. By default every numeric, non-key column,
        so columns added later (defaults, contagion) are reported too.
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    dict
        JSON-serialisable (NaN replaced by ``None``)::

            schema, replications, final_step, interval{level, method, note},
            market{final_step{metric: stat}, whole_run{<flow>_total, r_eff_mean_over_steps}},
            institutions{id: {kind, type, final_step{...}, whole_run{..., cac}}},
            acquisitions_by_channel{by_institution{id: {channel: ...}}, all_institutions{channel: ...}},
            by_product{id: {product: {<flow>_total, cac}}}, by_tier{id: {tier: {<flow>_total, cac}}},
            customer_value{by_channel{channel: value}, by_institution{id: {channel: value}}},
            decisions{changes_by_source{source: count},
                      by_owner{owner: {changes_per_replication, levers}}}

        where ``schema`` is :data:`SUMMARY_SCHEMA` (the layout's version),
        ``decisions`` is :func:`decisions_section`, ``value`` (cohorts
        acquired in steps 1..T, valued to the end of the run) is
        ``{acquired, cac, ltv_per_customer, ltv_to_cac,
        payback_age, paid_back_share, cohort_payback_age}`` (``payback_age`` the
        pooled payback age, :mod:`sim.experiments.payback`; the last two
        per cohort), and each ``stat`` is ``{mean, low, high, n}`` and ``n`` counts the
        replications in which the quantity is defined. Whole-run figures sum
        steps ``1..T`` per replication; CAC is a ratio of those sums, computed
        per replication before averaging.
    """
    check_level(level)
    for name, frame in tables.items():
        if name in KEYS:
            check_columns(name, frame)
    reps = replications_of(tables)
    summary: dict[str, Any] = {
        "schema": SUMMARY_SCHEMA,
        "replications": len(reps),
        "final_step": final_step(tables),
        "interval": {
            "level": level,
            "method": (
                "Student t interval over replications: mean ± t(n-1) · sd / sqrt(n), "
                "where n counts replications in which the value is defined"
            ),
            "note": _interval_note(len(reps)),
        },
    }
    if "market" in tables and not tables["market"].empty:
        summary["market"] = _market_section(tables["market"], reps, metrics, level)
    if "institutions" in tables and not tables["institutions"].empty:
        summary["institutions"] = _institution_section(tables["institutions"], reps, level)
    if "channels" in tables:
        summary["acquisitions_by_channel"] = _channel_section(tables["channels"], reps, level)
    if "products" in tables and not tables["products"].empty:
        summary["by_product"] = _segment_section(tables["products"], "product", SEGMENT_FLOWS["products"], reps,
                                                 level)
    if "tiers" in tables and not tables["tiers"].empty:
        summary["by_tier"] = _segment_section(tables["tiers"], "tier", SEGMENT_FLOWS["tiers"], reps, level)
    if "cohorts" in tables and not tables["cohorts"].empty:
        summary["customer_value"] = _cohort_section(tables["cohorts"], tables["channels"], reps, level)
    if "decisions" in tables:
        summary["decisions"] = decisions_section(tables["decisions"], len(reps))
    return to_jsonable(summary)


def decisions_section(decisions: pd.DataFrame, replications: int) -> dict[str, Any]:
    """Lever changes of the run: counts by source, and per owner the changes per replication and levers moved.

    ``by_owner.<owner>``: ``changes_per_replication`` (decisions only) and
    ``levers`` (the levers its decisions changed, most changed first).
    """
    by_source = decisions.groupby("source").size().to_dict() if not decisions.empty else {}
    made = decisions[decisions["source"] == "decision"] if not decisions.empty else decisions
    by_owner = {}
    for owner, group in made.groupby("owner", sort=False):
        by_owner[str(owner)] = {
            "changes_per_replication": len(group) / max(replications, 1),
            "levers": [str(k) for k in group["lever"].value_counts().index],
        }
    return {"changes_by_source": {str(k): int(v) for k, v in by_source.items()}, "by_owner": by_owner}


def _interval_note(replications: int) -> str:
    if replications == 1:
        return (
            "Only 1 replication: intervals are undefined and reported as null; "
            "run more replications to measure uncertainty."
        )
    return "Intervals are null where fewer than 2 replications define the value."


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars to Python ones and NaN/inf to ``None``.

    JSON has no NaN; strict parsers (browsers, ``jq``) reject it, so undefined
    numbers are written as ``null``.
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, (str, Path)):
        return str(obj)
    raise TypeError(f"cannot put {type(obj).__name__} into a JSON summary: {obj!r}")
