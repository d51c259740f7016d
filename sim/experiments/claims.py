"""Evaluating a scenario's claims on common random numbers, with their ablation.

A claim (``claims:`` in a scenario file, :class:`~sim.scenario.schema.ClaimSpec`)
says that a key metric is higher, lower, or within a range in this scenario
than in a comparison scenario (by default its ``extends`` parent).  It is
evaluated on paired replications: replication ``k`` of both scenarios runs
from the same seed stream, and the claim is judged on the mean of the
per-replication differences with its 95% Student t interval:

- ``higher`` holds when the interval lies above zero, ``lower`` when below;
- ``within`` holds when the interval lies inside the claimed range.

The **ablation** runs the scenario with its ``levers:`` reset to the
comparison's values; the claim is attributed to the levers when it holds
with them and *vanishes* without them (the ablation's interval includes
zero).  :func:`lever_violations` lists what a scenario changes, relative to
its parent, outside its levers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.experiments.changes import apply_changes, settable_paths
from sim.experiments.compare import parameter_differences
from sim.experiments.metrics import Tables, key_metrics
from sim.experiments.stats import mean_ci
from sim.scenario import Scenario, load_scenario
from sim.scenario.claims import metric_column
from sim.scenario.schema import ClaimSpec

#: ``(scenario, replications, seed) -> key metrics``: one row per replication, one column per metric.
MetricsFunction = Callable[[Scenario, int, int], pd.DataFrame]


def lever_violations(scenario: Scenario, parent: Scenario) -> list[str]:
    """The resolved parameters ``scenario`` sets differently from ``parent`` that none of its levers covers.

    A lever covers its own path and every path below it.  An empty list means
    the scenario changes nothing but its levers.
    """
    differences = parameter_differences([parent, scenario])["parameter"]
    return [p for p in differences
            if not any(p == lever or p.startswith(lever + ".") for lever in scenario.levers)]


def comparison_path(scenario: Scenario, claim: ClaimSpec) -> Path:
    """The comparison scenario's file, relative to the scenario's own file."""
    source = getattr(scenario, "_source", None)
    if source is None or claim.compare_to is None:
        raise ScenarioError.single(scenario.name, "claims", "the scenario was not loaded from a file",
                                   "a scenario file whose claims name compare_to files")
    return Path(source).parent / claim.compare_to


def load_comparison(scenario: Scenario, claim: ClaimSpec) -> Scenario:
    """Load the scenario a claim compares against."""
    return load_scenario(comparison_path(scenario, claim))


def ablated(scenario: Scenario, comparison: Scenario) -> Scenario:
    """``scenario`` with every lever set to ``comparison``'s value, named ``<name>-ablated``.

    A lever the comparison lacks (an added partnership) is reset by setting
    the comparison's mapping that would hold it (:func:`~sim.experiments.changes.settable_paths`).
    """
    if not scenario.levers:
        raise ScenarioError.single(scenario.name, "levers", "declares no levers, so there is nothing to ablate",
                                   "the dotted paths of the strategy")
    # A lever the comparison lacks would lead nowhere in the ablated scenario: it keeps the others.
    kept = [lever for lever in scenario.levers if settable_paths(comparison, [lever]) == [lever]]
    return apply_changes(scenario, comparison, settable_paths(comparison, scenario.levers),
                         name=f"{scenario.name}-ablated", levers=kept)


def up_to(tables: Tables, horizon: int | None) -> dict[str, pd.DataFrame]:
    """The tables cut at step ``horizon`` (all of them when None)."""
    if horizon is None:
        return dict(tables)
    return {name: frame[frame["step"] <= horizon] if "step" in frame else frame for name, frame in tables.items()}


def default_metrics(horizon: int | None = None, workers: int | None = None) -> MetricsFunction:
    """Run the model (its replications on ``workers`` local processes) and reduce its tables, cut at ``horizon``."""
    def metrics(scenario: Scenario, replications: int, seed: int) -> pd.DataFrame:
        from sim.experiments.replicate import run

        tables = run(scenario, replications=replications, seed=seed, workers=workers).tables
        return key_metrics(up_to(tables, horizon))
    return metrics


def paired_difference(treated: pd.Series, control: pd.Series, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean, interval low and high of the paired differences, and the number of pairs with both values."""
    pair = pd.concat([treated, control], axis=1, keys=["t", "c"]).dropna()
    diff = (pair["t"] - pair["c"]).to_numpy(dtype=float)
    mean, low, high = mean_ci(diff, level)
    return mean, low, high, int(diff.size)


def holds(claim: ClaimSpec, low: float, high: float) -> bool:
    """Whether an interval of the difference supports the claim (False when it is not defined)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return False
    if claim.direction == "higher":
        return low > 0
    if claim.direction == "lower":
        return high < 0
    lo, hi = claim.bounds()
    return lo <= low and high <= hi


def vanishes(low: float, high: float) -> bool:
    """Whether an interval of the difference includes zero (no effect can be told from noise)."""
    return bool(np.isfinite(low) and np.isfinite(high) and low <= 0 <= high)


@dataclass
class ClaimResult:
    """A claim's paired difference against its comparison, and its ablation's."""

    claim: ClaimSpec
    column: str
    difference: float
    low: float
    high: float
    pairs: int
    holds: bool
    ablation: tuple[float, float, float] | None = None

    @property
    def vanishes(self) -> bool | None:
        """Whether the ablation's interval includes zero (None without an ablation)."""
        return None if self.ablation is None else vanishes(self.ablation[1], self.ablation[2])

    def row(self) -> dict:
        """The result as a flat table row."""
        ab = self.ablation or (np.nan, np.nan, np.nan)
        return {"metric": self.column, "direction": self.claim.direction, "compare_to": self.claim.compare_to,
                "horizon": self.claim.horizon, "difference": self.difference, "low": self.low, "high": self.high,
                "pairs": self.pairs, "holds": self.holds, "reproduced": self.claim.reproduced,
                "ablation_difference": ab[0], "ablation_low": ab[1], "ablation_high": ab[2], "vanishes": self.vanishes}


def judge(claim: ClaimSpec, treated: pd.DataFrame, control: pd.DataFrame, level: float = 0.95,
          ablation: pd.DataFrame | None = None) -> ClaimResult:
    """Judge a claim from key metrics of the scenario, its comparison and (optionally) its ablation."""
    column = metric_column(claim.metric, claim.institution)
    for frame in (treated, control, *([] if ablation is None else [ablation])):
        if column not in frame.columns:
            raise ScenarioError.single("claims", column, "the runs produced no such key metric",
                                       ", ".join(frame.columns))
    mean, low, high, pairs = paired_difference(treated[column], control[column], level)
    result = ClaimResult(claim, column, mean, low, high, pairs, holds(claim, low, high))
    if ablation is not None:
        result.ablation = paired_difference(ablation[column], control[column], level)[:3]
    return result


def evaluate_claims(scenario: Scenario, replications: int | None = None, seed: int | None = None,
                    ablate: bool = True, level: float = 0.95,
                    metrics: Callable[[int | None], MetricsFunction] = default_metrics) -> list[ClaimResult]:
    """Evaluate every claim of a scenario on common random numbers (and its ablation when it has levers).

    Runs are shared: the scenario and each comparison run once per horizon.

    Parameters
    ----------
    scenario : Scenario
        Loaded from a file (comparison files are relative to it).
    replications, seed : int, optional
        Default to the scenario's.
    ablate : bool
        Also run the scenario with its levers reset to each comparison's values.
    level : float, default 0.95
        Confidence level of the Student t interval of each paired difference
        (and of its ablation's); a claim holds when that interval supports it
        (:func:`holds`), so a higher level is a stricter test.
    metrics : callable
        ``horizon -> (scenario, replications, seed) -> key metrics``; the model by default.
    """
    replications = scenario.replications if replications is None else replications
    seed = scenario.seed if seed is None else seed
    cache: dict[tuple, pd.DataFrame] = {}

    def metrics_of(key: tuple, make: Callable[[], Scenario], horizon: int | None) -> pd.DataFrame:
        if (key, horizon) not in cache:
            cache[(key, horizon)] = metrics(horizon)(make(), replications, seed)
        return cache[(key, horizon)]

    results = []
    for claim in scenario.claims:
        comparison = load_comparison(scenario, claim)
        treated = metrics_of(("scenario",), lambda: scenario, claim.horizon)
        control = metrics_of(("compare", claim.compare_to), lambda c=comparison: c, claim.horizon)
        ablation = None
        if ablate and scenario.levers:
            ablation = metrics_of(("ablated", claim.compare_to), lambda c=comparison: ablated(scenario, c),
                                  claim.horizon)
        results.append(judge(claim, treated, control, level, ablation))
    return results


def claims_in_comparison(comparison, level: float = 0.95) -> list[tuple[str, ClaimResult]]:
    """Judge, from a comparison's runs, the claims of its scenarios that are made against its first scenario.

    A claim is judged when its ``compare_to`` file is the first scenario's
    file; the runs already share seeds, so nothing more is run.
    """
    first = comparison.results[0]
    base_file = getattr(first.scenario, "_source", None)
    if base_file is None:
        return []
    found = []
    for result in comparison.results[1:]:
        for claim in result.scenario.claims:
            try:
                against = comparison_path(result.scenario, claim).resolve()
            except ScenarioError:
                continue
            if against != Path(base_file).resolve():
                continue
            treated = key_metrics(up_to(result.tables, claim.horizon))
            control = key_metrics(up_to(first.tables, claim.horizon))
            found.append((result.scenario.name, judge(claim, treated, control, level)))
    return found


def claims_table(results: Sequence[ClaimResult]) -> pd.DataFrame:
    """One row per claim result (:meth:`ClaimResult.row`)."""
    return pd.DataFrame([r.row() for r in results])


__all__ = ["ClaimResult", "ablated", "claims_in_comparison", "claims_table", "comparison_path", "default_metrics",
           "evaluate_claims", "holds", "judge", "lever_violations", "load_comparison", "paired_difference", "up_to",
           "vanishes"]
