"""What a metric of a run is, and the one reduction of a run's tables to metrics.

A run's tables (see :mod:`sim.experiments.schema`) hold one row per
replication and step (and institution, channel, ...).  A *metric* is one
number per replication, read in one of two ways:

- a **level** is the value at the final step (customers, market share,
  capital): the state the run ends in;
- a **flow** is summed over steps ``1..T`` (new customers, spend, defaults):
  what happened during the run.  Step 0 is the initial state, not something
  that happened.

Ratios (CAC, default rates) are ratios of such per-replication figures,
computed before averaging over replications.  The summary
(:mod:`sim.experiments.summary`), comparisons (:func:`key_metrics`), sweeps
and sensitivity analysis (:class:`MetricSpec`, :func:`metric_by_point`) all
reduce runs with the functions here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.experiments.schema import KEYS

#: Institution columns reported at the final step (plus every ``customers_<product>``).
INSTITUTION_LEVELS: tuple[str, ...] = ("customers", "market_share", "revenue", "profit", "capital")

#: Institution columns that count money or customers during a step (summed over the run).
INSTITUTION_FLOWS: tuple[str, ...] = (
    "new_customers", "churned", "acquisition_spend", "revenue", "funding_cost", "service_cost", "margin",
    "revenue_share_paid", "platform_income", "incentives", "cost", "profit", "dividends",
    "new_loans", "applications", "approvals", "rejections", "insured_approvals", "repaid", "defaults", "losses",
    "insured_losses", "net_losses", "interest_income", "premiums_paid", "bureau_cost", "guarantee_paid",
    "credit_profit", "investor_withdrawals",
)

#: Key metrics of a comparison: market levels at the final step, and market flows over the run.
KEY_MARKET_LEVELS = ("active", "aware")
KEY_MARKET_FLOWS = ("new_active", "referral_conversions", "employee_conversions", "churned")
#: Risk flows summed over the run, when the tables have them.
KEY_MARKET_RISK_FLOWS = ("new_loans", "new_defaults", "contagion_defaults", "credit_losses", "insured_losses")
#: Per-institution risk flows summed over the run, when present.
KEY_INSTITUTION_RISK_FLOWS = ("approvals", "rejections", "insured_approvals", "defaults", "losses", "net_losses",
                              "bureau_cost")

Tables = Mapping[str, pd.DataFrame]


# --------------------------------------------------------------------------- rows and reductions
def replications_of(tables: Tables) -> list[int]:
    """Sorted replication ids found in any of the tables."""
    ids: set[int] = set()
    for frame in tables.values():
        if "replication" in frame.columns:
            ids.update(int(r) for r in frame["replication"].unique())
    return sorted(ids)


def final_rows(frame: pd.DataFrame, by: str | Sequence[str] = "replication") -> pd.DataFrame:
    """Rows at the last step of each run (``by``: a replication, or a sweep's point and replication)."""
    last = frame.groupby(by if isinstance(by, str) else list(by))["step"].transform("max")
    return frame[frame["step"] == last]


def run_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of steps ``1..T``: step 0 is the initial state, not something that happened."""
    return frame[frame["step"] >= 1]


def run_totals(frame: pd.DataFrame, columns: Sequence[str], by: str | Sequence[str] = "replication") -> pd.DataFrame:
    """Flows summed over steps ``1..T`` within each group of ``by``."""
    return run_rows(frame).groupby(by if isinstance(by, str) else list(by))[list(columns)].sum()


def metric_columns(frame: pd.DataFrame, table: str) -> list[str]:
    """The numeric columns of a table that are not part of its key: its metrics."""
    keys = set(KEYS[table])
    return [c for c in frame.columns if c not in keys and pd.api.types.is_numeric_dtype(frame[c])]


def final_step(tables: Tables) -> int | None:
    """The last step recorded in a run's tables, or None for empty tables."""
    for name in ("market", "institutions", "channels"):
        frame = tables.get(name)
        if frame is not None and not frame.empty:
            return int(frame["step"].max())
    return None


def run_default_rate(market: pd.DataFrame) -> pd.Series:
    """Per replication: defaults over the run / borrower-steps at risk (borrowers at the previous step).

    A run-level rate is far less noisy than the final step's, which depends
    on a single step's handful of defaults.
    """
    rates = {}
    for replication, rows in market.sort_values("step").groupby("replication"):
        at_risk = rows["borrowers"].shift(1).iloc[1:].sum()
        rates[replication] = rows["new_defaults"].iloc[1:].sum() / at_risk if at_risk > 0 else np.nan
    return pd.Series(rates)


def lender_default_rates(credit: pd.DataFrame | None, defaults: str = "defaults") -> pd.Series | None:
    """Per (replication, institution): ``defaults`` over loans at risk; None without credit.

    ``defaults="expected_defaults"`` gives the expected rate: the same
    quantity without the Bernoulli noise of the draws (the credit table's
    ``expected_defaults``, docs/ODD.md), resolved by far fewer replications.
    """
    if credit is None or credit.empty or defaults not in credit or credit["loans_at_risk"].sum() <= 0:
        return None        # no credit, or tables written before the column existed
    by_lender = credit.groupby(["replication", "institution"])[[defaults, "loans_at_risk"]].sum()
    return by_lender[defaults] / by_lender["loans_at_risk"].where(by_lender["loans_at_risk"] > 0)


# --------------------------------------------------------------------------- one named metric
@dataclass(frozen=True)
class MetricSpec:
    """One scalar per run read from its tables: a market column, or a column of one institution's rows.

    ``reduce`` says how: ``"final"`` (the level at the final step),
    ``"total"`` (a flow summed over steps ``1..T``) or ``"discounted"`` (a
    flow summed over steps ``1..T`` with step ``t`` weighted by
    ``(1 + discount)^-t``, ``discount`` being the rate per step).
    ``id_column`` is the column that names ``institution`` (``insurer`` in
    the insurers table).
    """

    text: str
    table: str
    column: str
    institution: str | None = None
    reduce: Literal["final", "total", "discounted"] = "final"
    discount: float = 0.0
    id_column: str = "institution"


def parse_metric(metric: str, institution_ids: Sequence[str]) -> MetricSpec:
    """Read ``COLUMN``, ``market:COLUMN`` or ``institution:ID:COLUMN`` (final-step values); check the id."""
    parts = metric.split(":") if isinstance(metric, str) else []
    if len(parts) == 1 and parts[0]:
        return MetricSpec(metric, "market", parts[0])
    if len(parts) == 2 and parts[0] == "market" and parts[1]:
        return MetricSpec(metric, "market", parts[1])
    if len(parts) == 3 and parts[0] == "institution" and parts[2]:
        if parts[1] not in institution_ids:
            raise ScenarioError.single(
                "--metric", metric, f"no institution named {parts[1]!r}", ", ".join(institution_ids)
            )
        return MetricSpec(metric, "institutions", parts[2], parts[1])
    raise ScenarioError.single("--metric", "", f"got {metric!r}",
                               "a column of the market table (e.g. active) or institution:<id>:<column>")


def metric_values(tables: Tables, metric: MetricSpec, by: Sequence[str] = ("point", "replication")) -> pd.DataFrame:
    """The metric of each run: columns ``by`` (the run's identity) and ``value``.

    Raises a ScenarioError naming the metric when its table or column is missing.
    """
    if metric.table not in tables:
        raise ScenarioError.single(
            "--metric", metric.text, f"the runs wrote no {metric.table} table", ", ".join(tables)
        )
    table = tables[metric.table]
    if metric.column not in table.columns:
        reserved = {"point", "replication", "step", "institution", "kind", "type"}
        columns = [c for c in table.columns if c not in reserved and pd.api.types.is_numeric_dtype(table[c])]
        raise ScenarioError.single("--metric", metric.text, f"no column {metric.column!r} in the {metric.table} table",
                                   ", ".join(columns))
    if metric.institution is not None:
        table = table[table[metric.id_column] == metric.institution]
    if metric.reduce == "total":
        values = run_totals(table, [metric.column], by=list(by)).reset_index()
    elif metric.reduce == "discounted":
        rows = run_rows(table)
        weight = (1.0 + metric.discount) ** -rows["step"].to_numpy(dtype=float)
        weighted = rows[list(by)].assign(**{metric.column: rows[metric.column].to_numpy(dtype=float) * weight})
        values = weighted.groupby(list(by))[[metric.column]].sum().reset_index()
    else:
        values = final_rows(table, by=list(by))[[*by, metric.column]]
    return values.rename(columns={metric.column: "value"}).reset_index(drop=True)


def metric_by_point(tables: Tables, metric: MetricSpec, n_points: int) -> np.ndarray:
    """Mean over replications of a metric, one value per design point of a sweep."""
    values = metric_values(tables, metric).groupby("point")["value"].mean()
    return values.reindex(range(n_points)).to_numpy(dtype=float)


# --------------------------------------------------------------------------- the key metrics of a run
def key_metrics(tables: Tables) -> pd.DataFrame:
    """One row per replication, one column per key metric of a run (the figures a comparison pairs).

    Market levels are final-step values; flows are whole-run totals.  Per
    institution: final-step market share and customers, whole-run CAC (spend
    over acquisitions) and profit.  With credit on: the run's default rate
    (defaults over borrower-steps at risk), market and lender credit flows
    over the run, each lender's default rate over its loans at risk, P2P
    platforms' failure share, and each insurer's final capital, premiums,
    claims and failure.
    """
    market = tables["market"]
    final = final_rows(market).set_index("replication")
    frame = pd.DataFrame(index=final.index)
    for column in KEY_MARKET_LEVELS:
        frame[column] = final[column]
    flows = KEY_MARKET_FLOWS + tuple(c for c in KEY_MARKET_RISK_FLOWS if c in market)
    totals = run_totals(market, flows)
    for column in flows:
        frame[f"{column} (run)"] = totals[column]
    if {"borrowers", "new_defaults"} <= set(market.columns) and market["borrowers"].sum() > 0:
        frame["default_rate (run)"] = run_default_rate(market)
    _institution_metrics(frame, tables)
    _insurer_metrics(frame, tables.get("insurers"))
    return frame.sort_index()


def _institution_metrics(frame: pd.DataFrame, tables: Tables) -> None:
    """Add each institution's key metrics (P2P platforms together, as a failure share) to ``frame``."""
    inst = tables["institutions"]
    last = final_rows(inst)
    risk_flows = [c for c in KEY_INSTITUTION_RISK_FLOWS if c in inst]
    totals_all = run_totals(inst, ["acquisition_spend", "new_customers", "profit", *risk_flows],
                            by=["replication", "institution"])
    lender_rates = lender_default_rates(tables.get("credit"))
    expected_rates = lender_default_rates(tables.get("credit"), "expected_defaults")
    p2p = set(last.loc[last["type"] == "p2p", "institution"]) if "type" in last else set()
    for institution in inst["institution"].unique():
        if institution in p2p:
            continue                      # reported together below
        mine = last[last["institution"] == institution].set_index("replication")
        frame[f"{institution}: market_share"] = mine["market_share"]
        frame[f"{institution}: customers"] = mine["customers"]
        totals = totals_all.xs(institution, level="institution")
        frame[f"{institution}: cac (run)"] = totals["acquisition_spend"] / totals["new_customers"].where(
            totals["new_customers"] > 0
        )
        frame[f"{institution}: profit (run)"] = totals["profit"]
        if lender_rates is not None and institution in lender_rates.index.get_level_values("institution"):
            frame[f"{institution}: default_rate (run)"] = lender_rates.xs(institution, level="institution")
            if expected_rates is not None:
                frame[f"{institution}: expected_default_rate (run)"] = expected_rates.xs(institution,
                                                                                         level="institution")
            for column in ("defaults", "losses"):
                if column in totals:
                    frame[f"{institution}: {column} (run)"] = totals[column]
    if p2p and "failed" in last:
        failed = last[last["institution"].isin(p2p)].groupby("replication")["failed"].mean()
        frame["p2p platforms failed (share)"] = failed


def _insurer_metrics(frame: pd.DataFrame, insurers: pd.DataFrame | None) -> None:
    """Add each insurer's final capital and failure, and its premiums and claims over the run, to ``frame``."""
    if insurers is None or insurers.empty:
        return
    insurer_final = final_rows(insurers)
    insurer_run = run_totals(insurers, ["premiums", "claims"], by=["replication", "insurer"])
    for insurer in insurers["insurer"].unique():
        mine = insurer_final[insurer_final["insurer"] == insurer].set_index("replication")
        frame[f"insurer {insurer}: capital"] = mine["capital"]
        frame[f"insurer {insurer}: failed"] = mine["failed"].astype(float)
        totals = insurer_run.xs(insurer, level="insurer")
        frame[f"insurer {insurer}: premiums (run)"] = totals["premiums"]
        frame[f"insurer {insurer}: claims (run)"] = totals["claims"]


__all__ = [
    "INSTITUTION_FLOWS",
    "INSTITUTION_LEVELS",
    "MetricSpec",
    "final_rows",
    "final_step",
    "key_metrics",
    "lender_default_rates",
    "metric_by_point",
    "metric_columns",
    "metric_values",
    "parse_metric",
    "replications_of",
    "run_default_rate",
    "run_rows",
    "run_totals",
]
