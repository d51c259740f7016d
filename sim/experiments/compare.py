"""Comparing scenarios on common random numbers, with paired differences.

Replication ``k`` of every scenario runs from the same seed stream
(:func:`~sim.experiments.replicate.replication_seed`), so the network, the
customers and much of the randomness are shared and the per-replication
difference between two scenarios has far less variance than the difference
of two independent runs.  Differences against the first scenario get a
Student t interval and a paired t-test.

A rate or share (market share, default rate, failure share) is summarised per
scenario by a percentile bootstrap of its replication means
(:func:`~sim.experiments.stats.bootstrap_mean_ci`), which stays in [0, 1];
other metrics by a Student t interval.  :func:`parameter_differences` lists
what the scenarios set differently, so a report can say what changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import Problem, ScenarioError
from sim.experiments.backends import Backend
from sim.experiments.design import check_scenario_number
from sim.experiments.metrics import key_metrics
from sim.experiments.replicate import RunResult, run, shared_backend
from sim.experiments.stats import bootstrap_mean_ci, mean_ci
from sim.scenario.schema import Scenario


def check_comparable(scenarios: list[Scenario], sources: list[str]) -> None:
    """Raise ScenarioError unless all scenarios share horizon and step unit."""
    if len(scenarios) < 2:
        raise ScenarioError.single("compare", "scenarios", f"got {len(scenarios)}", "two or more scenario files")
    first = scenarios[0]
    problems = []
    for scenario, source in zip(scenarios[1:], sources[1:], strict=True):
        if scenario.time.steps != first.time.steps:
            problems.append(Problem(f"{source}: time.steps",
                                    f"is {scenario.time.steps} but {sources[0]} has {first.time.steps}",
                                    "the same horizon in every compared scenario"))
        if scenario.time.unit != first.time.unit:
            problems.append(Problem(f"{source}: time.unit",
                                    f"is '{scenario.time.unit}' but {sources[0]} has '{first.time.unit}'",
                                    "the same step unit in every compared scenario"))
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        problems.append(Problem("name", f"scenario names repeat: {', '.join(names)}", "distinct names"))
    if problems:
        raise ScenarioError("compare", problems)


#: Parts of a metric's name that mark a rate or share in [0, 1].
RATE_MARKERS = ("market_share", "default_rate", "failed")

#: Top-level scenario keys that describe rather than parameterise it (left out of "what differs");
#: ``game`` is read by ``python -m sim game`` only, never by a run.
DESCRIPTIVE_KEYS = ("name", "description", "sources", "shows", "extends", "levers", "claims", "game")


def is_rate(metric: str) -> bool:
    """Whether a key metric is a rate or share in [0, 1] (by its name)."""
    return any(marker in metric for marker in RATE_MARKERS)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaf values of nested dicts; lists are leaves (``events`` is handled as a whole)."""
    if isinstance(data, Mapping) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def parameter_differences(scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """Every resolved parameter that differs from the first scenario's, one row per path.

    Scenarios are compared after loading (``extends`` merged, defaults filled
    in), so a key set to its default value is not a difference and an
    inherited one is.  Descriptive keys (:data:`DESCRIPTIVE_KEYS`) are left
    out; the event timeline is compared as a whole under ``events``.

    Returns
    -------
    DataFrame
        Column ``parameter`` (dotted path), then one column per scenario name
        with its value (``None`` where the path does not exist in it).
    """
    flat = []
    for scenario in scenarios:
        data = scenario.model_dump(mode="json")
        for key in DESCRIPTIVE_KEYS:
            data.pop(key, None)
        flat.append(flatten(data))
    top = list(Scenario.model_fields)
    paths = list(dict.fromkeys(p for f in flat for p in f))
    paths.sort(key=lambda p: top.index(p.split(".")[0]) if p.split(".")[0] in top else len(top))
    differing = [p for p in paths if any(f.get(p) != flat[0].get(p) for f in flat[1:])]
    # an empty mapping in one scenario where another has entries below it: the entries say it all
    differing = [p for p in differing if not any(q.startswith(p + ".") for q in differing)]
    rows = [{"parameter": p, **{s.name: f.get(p) for s, f in zip(scenarios, flat, strict=True)}} for p in differing]
    return pd.DataFrame(rows, columns=["parameter", *(s.name for s in scenarios)])


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

    @property
    def scenarios(self) -> list[Scenario]:
        return [r.scenario for r in self.results]

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """Mean and interval of each key metric per scenario (long format).

        Rates and shares (:func:`is_rate`) get a percentile bootstrap interval
        of the replication mean, inside [0, 1]; other metrics a Student t
        interval, its lower end clipped at 0 when every replication's value is
        non-negative (counts, losses).  Column ``interval`` says which.
        """
        rows = []
        for name, frame in self.metrics().items():
            for metric in frame.columns:
                values = frame[metric].to_numpy(dtype=float)
                rate = is_rate(metric)
                mean, low, high = bootstrap_mean_ci(values, level) if rate else mean_ci(values, level)
                if not rate and math.isfinite(low) and np.nanmin(values) >= 0:
                    low = max(low, 0.0)   # a count or a sum of losses is never negative
                rows.append({"scenario": name, "metric": metric, "mean": mean, "low": low, "high": high,
                             "interval": "percentile bootstrap" if rate else "student t"})
        return pd.DataFrame(rows)

    def parameter_differences(self) -> pd.DataFrame:
        """The resolved parameters that differ from the first scenario (:func:`parameter_differences`)."""
        return parameter_differences(self.scenarios)

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
            sources: list[str] | None = None, progress: bool = False, workers: int | None = None,
            backend: str | Backend | None = None) -> Comparison:
    """Run every scenario with the same seed and replications (common random numbers).

    Parameters
    ----------
    scenarios : list of Scenario
        Two or more; the first is the reference for paired differences.
    replications, seed : int, optional
        Default to the first scenario's.
    sources : list of str, optional
        File names, for error messages.
    progress : bool, default False
        Show a progress bar (tqdm) over each scenario's replications, one bar
        per scenario.
    workers, backend : optional
        Where the replications run (:func:`sim.experiments.replicate.run`);
        one pool serves every scenario.  The results do not depend on them.

    Returns
    -------
    Comparison
        One :class:`~sim.experiments.replicate.RunResult` per scenario, in the
        order given, all run on ``seed`` with ``replications`` replications:
        replication ``k`` of every scenario draws from the same seed stream,
        so their differences pair (:meth:`Comparison.differences`).

    Raises
    ------
    ScenarioError
        Fewer than two scenarios, scenarios of different horizons or step
        units, or a ``replications`` or ``seed`` the schema does not allow.
    """
    sources = sources or [s.name for s in scenarios]
    check_comparable(scenarios, sources)
    replications = scenarios[0].replications if replications is None else replications
    seed = scenarios[0].seed if seed is None else seed
    check_scenario_number("replications", replications, "--replications")
    check_scenario_number("seed", seed, "--seed")
    with shared_backend(workers, backend) as shared:
        results = [run(s, replications=replications, seed=seed, progress=progress, backend=shared)
                   for s in scenarios]
    return Comparison(results, seed, replications)
