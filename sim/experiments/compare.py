"""Comparing scenarios on common random numbers, with paired differences.

Replication ``k`` of every scenario runs from the same seed stream
(:func:`~sim.experiments.replicate.replication_seed`), so the network, the
customers and much of the randomness are shared and the per-replication
difference between two scenarios has far less variance than the difference
of two independent runs.  Differences against the first scenario get a
Student t interval and a paired t-test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import Problem, ScenarioError
from sim.experiments.replicate import RunResult, run
from sim.outputs.summary import mean_ci
from sim.scenario.schema import Scenario

#: Market metrics compared at the final step, and summed over the run.
MARKET_LEVELS = ("active", "aware")
MARKET_FLOWS = ("new_active", "referral_conversions", "employee_conversions", "churned")
#: Risk flows summed over the run, when the tables have them.
MARKET_RISK_FLOWS = ("new_loans", "new_defaults", "contagion_defaults", "credit_losses", "insured_losses")
#: Per-institution risk flows summed over the run, when present.
INSTITUTION_RISK_FLOWS = ("approvals", "rejections", "insured_approvals", "defaults", "losses", "net_losses", "bureau_cost")


def _run_default_rate(market: pd.DataFrame) -> pd.Series:
    """Per replication: defaults over the run / borrower-steps at risk (borrowers at the previous step).

    A run-level rate is far less noisy than the final step's, which depends
    on a single step's handful of defaults.
    """
    rates = {}
    for replication, rows in market.sort_values("step").groupby("replication"):
        at_risk = rows["borrowers"].shift(1).iloc[1:].sum()
        rates[replication] = rows["new_defaults"].iloc[1:].sum() / at_risk if at_risk > 0 else np.nan
    return pd.Series(rates)


def check_comparable(scenarios: list[Scenario], sources: list[str]) -> None:
    """Raise ScenarioError unless all scenarios share horizon and step unit."""
    if len(scenarios) < 2:
        raise ScenarioError.single("compare", "scenarios", f"got {len(scenarios)}", "two or more scenario files")
    first = scenarios[0]
    problems = []
    for scenario, source in zip(scenarios[1:], sources[1:]):
        if scenario.time.steps != first.time.steps:
            problems.append(Problem(f"{source}: time.steps", f"is {scenario.time.steps} but {sources[0]} has {first.time.steps}",
                                    "the same horizon in every compared scenario"))
        if scenario.time.unit != first.time.unit:
            problems.append(Problem(f"{source}: time.unit", f"is '{scenario.time.unit}' but {sources[0]} has '{first.time.unit}'",
                                    "the same step unit in every compared scenario"))
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        problems.append(Problem("name", f"scenario names repeat: {', '.join(names)}", "distinct names"))
    if problems:
        raise ScenarioError("compare", problems)


def key_metrics(result: RunResult) -> pd.DataFrame:
    """One row per replication, one column per key metric of a run.

    Market levels are final-step values; flows are whole-run totals.  Per
    institution: final-step market share and customers, whole-run CAC (spend
    over acquisitions) and profit.  With credit on: the run's default rate
    (defaults over borrower-steps at risk), market and lender credit flows
    over the run, each lender's default rate over its loans at risk, P2P
    platforms' failure share, and each insurer's final capital, premiums,
    claims and failure.
    """
    market, inst = result.market, result.institutions
    final_step = market["step"].max()
    final = market[market["step"] == final_step].set_index("replication")
    frame = pd.DataFrame(index=final.index)
    for column in MARKET_LEVELS:
        frame[column] = final[column]
    flows = market[market["step"] > 0].groupby("replication")
    for column in MARKET_FLOWS + tuple(c for c in MARKET_RISK_FLOWS if c in market):
        frame[f"{column} (run)"] = flows[column].sum()
    if {"borrowers", "new_defaults"} <= set(market.columns) and market["borrowers"].sum() > 0:
        frame["default_rate (run)"] = _run_default_rate(market)
    last = inst[inst["step"] == final_step]
    run_rows = inst[inst["step"] > 0]
    risk_flows = [c for c in INSTITUTION_RISK_FLOWS if c in inst]
    run_totals = run_rows.groupby(["replication", "institution"])[["acquisition_spend", "new_customers", "profit", *risk_flows]].sum()
    credit = result.tables.get("credit")
    lender_rates = None
    if credit is not None and not credit.empty and credit["loans_at_risk"].sum() > 0:
        by_lender = credit.groupby(["replication", "institution"])[["defaults", "loans_at_risk"]].sum()
        lender_rates = by_lender["defaults"] / by_lender["loans_at_risk"].where(by_lender["loans_at_risk"] > 0)
    p2p = set(last.loc[last["type"] == "p2p", "institution"]) if "type" in last else set()
    for institution in inst["institution"].unique():
        if institution in p2p:
            continue                      # reported together below
        mine = last[last["institution"] == institution].set_index("replication")
        frame[f"{institution}: market_share"] = mine["market_share"]
        frame[f"{institution}: customers"] = mine["customers"]
        totals = run_totals.xs(institution, level="institution")
        frame[f"{institution}: cac (run)"] = totals["acquisition_spend"] / totals["new_customers"].where(totals["new_customers"] > 0)
        frame[f"{institution}: profit (run)"] = totals["profit"]
        if lender_rates is not None and institution in lender_rates.index.get_level_values("institution"):
            frame[f"{institution}: default_rate (run)"] = lender_rates.xs(institution, level="institution")
            for column in ("defaults", "losses"):
                if column in totals:
                    frame[f"{institution}: {column} (run)"] = totals[column]
    if p2p and "failed" in last:
        failed = last[last["institution"].isin(p2p)].groupby("replication")["failed"].mean()
        frame["p2p platforms failed (share)"] = failed
    insurers = result.tables.get("insurers")
    if insurers is not None and not insurers.empty:
        insurer_final = insurers[insurers["step"] == insurers["step"].max()]
        insurer_run = insurers[insurers["step"] > 0].groupby(["replication", "insurer"])[["premiums", "claims"]].sum()
        for insurer in insurers["insurer"].unique():
            mine = insurer_final[insurer_final["insurer"] == insurer].set_index("replication")
            frame[f"insurer {insurer}: capital"] = mine["capital"]
            frame[f"insurer {insurer}: failed"] = mine["failed"].astype(float)
            totals = insurer_run.xs(insurer, level="insurer")
            frame[f"insurer {insurer}: premiums (run)"] = totals["premiums"]
            frame[f"insurer {insurer}: claims (run)"] = totals["claims"]
    return frame.sort_index()


@dataclass
class Comparison:
    """Runs of several scenarios on common random numbers, and their key metrics."""

    results: list[RunResult]
    seed: int
    replications: int

    @property
    def names(self) -> list[str]:
        return [r.scenario.name for r in self.results]

    def metrics(self) -> dict[str, pd.DataFrame]:
        return {r.scenario.name: key_metrics(r) for r in self.results}

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """Mean and interval of each key metric per scenario (long format)."""
        rows = []
        for name, frame in self.metrics().items():
            for metric in frame.columns:
                mean, low, high = mean_ci(frame[metric].to_numpy(dtype=float), level)
                rows.append({"scenario": name, "metric": metric, "mean": mean, "low": low, "high": high})
        return pd.DataFrame(rows)

    def differences(self, level: float = 0.95) -> pd.DataFrame:
        """Paired differences (scenario − first scenario) with interval and paired t-test p-value."""
        metrics = self.metrics()
        base_name = self.names[0]
        base = metrics[base_name]
        rows = []
        for name in self.names[1:]:
            other = metrics[name]
            for metric in base.columns.intersection(other.columns):
                pair = pd.concat([base[metric], other[metric]], axis=1, keys=["base", "other"]).dropna()
                diff = (pair["other"] - pair["base"]).to_numpy(dtype=float)
                mean, low, high = mean_ci(diff, level)
                p_value = math.nan
                if diff.size >= 2 and np.std(diff) > 0:
                    p_value = float(stats.ttest_rel(pair["other"], pair["base"]).pvalue)
                rows.append({"scenario": name, "against": base_name, "metric": metric, "difference": mean,
                             "low": low, "high": high, "p_value": p_value, "pairs": int(diff.size)})
        return pd.DataFrame(rows)


def compare(scenarios: list[Scenario], replications: int | None = None, seed: int | None = None,
            sources: list[str] | None = None, progress: bool = False) -> Comparison:
    """Run every scenario with the same seed and replications (common random numbers).

    Parameters
    ----------
    scenarios : list of Scenario
        Two or more; the first is the reference for paired differences.
    replications, seed : int, optional
        Default to the first scenario's.
    sources : list of str, optional
        File names, for error messages.
    """
    sources = sources or [s.name for s in scenarios]
    check_comparable(scenarios, sources)
    replications = scenarios[0].replications if replications is None else replications
    seed = scenarios[0].seed if seed is None else seed
    results = [run(s, replications=replications, seed=seed, progress=progress) for s in scenarios]
    return Comparison(results, seed, replications)
