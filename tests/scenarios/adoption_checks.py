"""Helpers for the adoption-side scenario tests: small runs and paired differences.

Each test runs a library scenario small (a few thousand customers, the
replications it needs) next to its reference on common random numbers
(:func:`sim.experiments.compare.compare`: replication ``k`` of both uses the
same seed), computes one number per replication from each run, and judges
the claim of the scenario's ``shows:`` by the 95% Student t interval of the
mean (or of the mean paired difference) — a tolerance from the sampling
error, not by eye.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from claim_checks import assert_judged_as_recorded

from sim.experiments.backends import available_cores
from sim.experiments.claims import ClaimResult, evaluate_claims, up_to
from sim.experiments.compare import Comparison, check_comparable, compare
from sim.experiments.metrics import key_metrics
from sim.experiments.replicate import RunResult, run
from sim.experiments.stats import mean_ci
from sim.scenario import load_scenario
from sim.scenario.loader import with_overrides

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

#: Seed of every scenario test (fixed, so a test either always passes or always fails).
SEED = 20241
#: Processes the replications run on (the tables do not depend on it: replication k has its own seed).
WORKERS = min(2, available_cores())


def load(name: str, /, **overrides):
    """A library scenario by file stem, with dotted-path overrides (``{"population.size": 2000}``)."""
    return load_scenario(SCENARIOS / f"{name}.yaml", overrides=overrides)


def small(name: str, /, size: int = 3000, steps: int | None = None, **overrides):
    """A library scenario at ``size`` customers (and ``steps`` steps if given)."""
    overrides = {"population.size": size, **overrides}
    if steps is not None:
        overrides["time.steps"] = steps
    return load(name, **overrides)


def run_pair(reference, scenario, replications: int, seed: int = SEED) -> Comparison:
    """Both scenarios on common random numbers; the first is the reference."""
    return compare([reference, scenario], replications=replications, seed=seed, workers=WORKERS)


#: Labels that name or describe a scenario but do not enter its runs.
LABELS = {"name", "description", "sources", "shows", "levers", "claims"}
_RUNS: dict[tuple, RunResult] = {}


def cached_run(scenario, replications: int, seed: int = SEED) -> RunResult:
    """A run cached for the test session by the scenario's parameters (its labels aside), replications and seed.

    Two scenarios with the same parameters run the same model from the same
    seeds, so they share one run: the baseline runs once for every test file,
    and so does the ablation of a scenario that changes nothing but its levers
    (it has its parent's parameters, docs/claims.md).
    """
    key = (scenario.model_dump_json(exclude=LABELS), replications, seed)
    if key not in _RUNS:
        _RUNS[key] = run(scenario, replications=replications, seed=seed, workers=WORKERS)
    return dataclasses.replace(_RUNS[key], scenario=scenario, _summary=None)


def _library_run(name: str, size: int, replications: int, seed: int) -> RunResult:
    return cached_run(small(name, size), replications, seed)


def library_pair(reference: str, name: str, replications: int = 8, size: int = 3000, seed: int = SEED) -> Comparison:
    """Two library scenarios at ``size`` customers on common random numbers, as :func:`compare` runs them.

    Runs are cached for the test session, so the baseline every test compares
    against runs once.  ``compare`` would give the same: it runs replication
    ``k`` of each scenario from the same seed.
    """
    results = [_library_run(reference, size, replications, seed), _library_run(name, size, replications, seed)]
    check_comparable([r.scenario for r in results], [reference, name])
    return Comparison(results, seed, replications)


def _key_metrics(scenario, replications: int, seed: int, horizon: int | None) -> pd.DataFrame:
    return key_metrics(up_to(cached_run(scenario, replications, seed).tables, horizon))


def claim_results(name: str, size: int = 3000, replications: int = 8, seed: int = SEED) -> list[ClaimResult]:
    """A library scenario's claims judged at ``size`` customers, with their ablation (common random numbers).

    :func:`sim.experiments.claims.evaluate_claims` runs the scenario, each
    comparison and the scenario with its levers reset to the comparison's
    values; every one of them is resized to ``size`` here (the comparison
    files are loaded at their own size).  Runs come from :func:`cached_run`.
    """
    def metrics(horizon):
        def of(scenario, reps, sd):
            resized = with_overrides(scenario, {"population.size": size})
            return _key_metrics(resized, reps, sd, horizon)
        return of
    return evaluate_claims(small(name, size), replications, seed, metrics=metrics)


def describe(result: ClaimResult) -> str:
    """A claim's difference and its ablation's, for an assertion message."""
    ab = result.ablation or (float("nan"),) * 3
    return (f"{result.column} {result.claim.direction}: {result.difference:.4g} [{result.low:.4g}, {result.high:.4g}]"
            f"; without the levers {ab[0]:.4g} [{ab[1]:.4g}, {ab[2]:.4g}]")


def assert_claims_are_the_levers(results: list[ClaimResult]) -> None:
    """Every claim is judged as recorded (holds; or fails, if ``reproduced: false``) and vanishes without levers."""
    assert results, "the scenario makes no claims"
    for result in results:
        assert_judged_as_recorded(result, describe(result))
        assert result.vanishes, describe(result)


def run_one(scenario, replications: int, seed: int = SEED) -> RunResult:
    return run(scenario, replications=replications, seed=seed, workers=WORKERS)


def per_replication(result: RunResult, measure: Callable[[dict[str, pd.DataFrame]], float]) -> np.ndarray:
    """``measure`` applied to each replication's tables, in replication order."""
    values = []
    for k in range(result.replications):
        tables = {name: frame[frame["replication"] == k] for name, frame in result.tables.items()}
        values.append(float(measure(tables)))
    return np.asarray(values)


def paired(comparison: Comparison, measure: Callable[[dict[str, pd.DataFrame]], float]) -> tuple[float, float, float]:
    """Mean and 95% interval of ``measure(scenario) − measure(reference)`` over paired replications."""
    reference, scenario = comparison.results
    diff = per_replication(scenario, measure) - per_replication(reference, measure)
    return mean_ci(diff)


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% Student t interval of independent per-replication values."""
    return mean_ci(values)


# ----------------------------------------------------------------------------- measures
def run_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["step"] > 0]


def final(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["step"] == frame["step"].max()]


def institution_total(tables, institution: str, column: str) -> float:
    """Whole-run total of an institutions column for one institution."""
    inst = run_rows(tables["institutions"])
    return float(inst.loc[inst["institution"] == institution, column].sum())


def institution_final(tables, institution: str, column: str) -> float:
    inst = final(tables["institutions"])
    return float(inst.loc[inst["institution"] == institution, column].sum())


def cac(tables, institution: str) -> float:
    """Whole-run acquisition spend over new customers."""
    return institution_total(tables, institution, "acquisition_spend") / institution_total(
        tables, institution, "new_customers"
    )


def channel_total(tables, institution: str | None, channel: str | tuple[str, ...], column: str = "new_customers",
                  steps: tuple[int, int] | None = None) -> float:
    """Total of a channels column for an institution (None: all) and channel(s).

    Over the whole run, or over ``steps`` (inclusive).
    """
    ch = run_rows(tables["channels"])
    channels = (channel,) if isinstance(channel, str) else channel
    mask = ch["channel"].isin(channels)
    if institution is not None:
        mask &= ch["institution"] == institution
    if steps is not None:
        mask &= ch["step"].between(*steps)
    return float(ch.loc[mask, column].sum())


def platform_share(tables, institution: str) -> float:
    """Share of an institution's new customers over the run that came through platform channels."""
    ch = run_rows(tables["channels"])
    mine = ch[ch["institution"] == institution]
    return float(
        mine.loc[mine["channel"].str.startswith("platform:"), "new_customers"].sum() / mine["new_customers"].sum()
    )


def funnel_reached(tables, stage: str, product: str | None = None, institution: str | None = None,
                   channel: str | None = None, steps: tuple[int, int] | None = None) -> float:
    f = tables["funnel"]
    mask = f["stage"] == stage
    for column, value in (("product", product), ("institution", institution), ("channel", channel)):
        if value is not None:
            mask &= f[column] == value
    if steps is not None:
        mask &= f["step"].between(*steps)
    return float(f.loc[mask, "reached"].sum())


def loan_default_rate(tables, institution: str, steps: tuple[int, int] | None = None) -> float:
    """Defaults per loan-step at risk of an institution's loans (whole run or ``steps``)."""
    credit = tables["credit"]
    mask = credit["institution"] == institution
    if steps is not None:
        mask &= credit["step"].between(*steps)
    return float(credit.loc[mask, "defaults"].sum() / credit.loc[mask, "loans_at_risk"].sum())


def key_difference(comparison: Comparison, metric: str) -> tuple[float, float, float]:
    """Mean paired difference and 95% interval of one of ``compare``'s key metrics (e.g. ``"citic: cac (run)"``)."""
    diffs = comparison.differences().set_index("metric")
    row = diffs.loc[metric]
    return float(row["difference"]), float(row["low"]), float(row["high"])


def tier34(tables, institution: str) -> float:
    """Final-step relationships of an institution with customers in tier-3 and tier-4 cities."""
    return (institution_final(tables, institution, "customers_tier3")
            + institution_final(tables, institution, "customers_tier4"))


def approvals_by_segment(tables, institution: str, segment: str, column: str = "approvals",
                         steps: tuple[int, int] | None = None) -> float:
    """Credit-table total of ``column`` for one lender and segment (prime / subprime)."""
    credit = tables["credit"]
    mask = (credit["institution"] == institution) & (credit["segment"] == segment)
    if steps is not None:
        mask &= credit["step"].between(*steps)
    return float(credit.loc[mask, column].sum())


def subprime_share_of_approvals(tables, institution: str, steps: tuple[int, int] | None = None) -> float:
    subprime = approvals_by_segment(tables, institution, "subprime", steps=steps)
    prime = approvals_by_segment(tables, institution, "prime", steps=steps)
    return subprime / (subprime + prime)
