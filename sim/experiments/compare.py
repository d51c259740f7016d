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
from sim.experiments.design import check_scenario_number
from sim.experiments.metrics import key_metrics
from sim.experiments.replicate import RunResult, run
from sim.experiments.stats import mean_ci
from sim.scenario.schema import Scenario


def check_comparable(scenarios: list[Scenario], sources: list[str]) -> None:
    """Raise ScenarioError unless all scenarios share horizon and step unit."""
    if len(scenarios) < 2:
        raise ScenarioError.single("compare", "scenarios", f"got {len(scenarios)}", "two or more scenario files")
    first = scenarios[0]
    problems = []
    for scenario, source in zip(scenarios[1:], sources[1:], strict=True):
        if scenario.time.steps != first.time.steps:
            problems.append(
                Problem(
                    f"{source}: time.steps",
                    f"is {scenario.time.steps} but {sources[0]} has {first.time.steps}",
                    "the same horizon in every compared scenario",
                )
            )
        if scenario.time.unit != first.time.unit:
            problems.append(
                Problem(
                    f"{source}: time.unit",
                    f"is '{scenario.time.unit}' but {sources[0]} has '{first.time.unit}'",
                    "the same step unit in every compared scenario",
                )
            )
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        problems.append(Problem("name", f"scenario names repeat: {', '.join(names)}", "distinct names"))
    if problems:
        raise ScenarioError("compare", problems)


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
        """The key metrics of each scenario's run (:func:`~sim.experiments.metrics.key_metrics`), by name."""
        return {r.scenario.name: key_metrics(r.tables) for r in self.results}

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
    check_scenario_number("replications", replications, "--replications")
    check_scenario_number("seed", seed, "--seed")
    results = [run(s, replications=replications, seed=seed, progress=progress) for s in scenarios]
    return Comparison(results, seed, replications)
