"""Helpers for the risk-side scenario tests: small runs, paired differences, Poisson bounds.

Each test runs a library scenario small next to its reference on common
random numbers — replication ``k`` of every run builds its model from the
same seed (:func:`sim.experiments.replicate.replication_seed`), exactly as
:func:`sim.experiments.compare.compare` does — and judges the claim of the
scenario's ``shows:`` by a 95% interval: a Student t interval of the mean
paired difference over replications, or an exact Poisson / binomial interval
for counts of defaults pooled over replications.  Tolerances come from the
sampling error, not from the eye; the seed is fixed, so a test either always
passes or always fails.

Runs are cached for the session, so a reference shared by several test files
runs once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.backends import ProcessPoolBackend, available_cores
from sim.experiments.replicate import replication_seed
from sim.experiments.stats import mean_ci
from sim.model import ChannelModel
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

#: Seed of every risk-scenario test.
SEED = 20241
#: Processes the replications run on (the tables do not depend on it: replication k has its own seed).
WORKERS = min(2, available_cores())

#: The three data-link scenarios (platform_data_lending, cut_direct_link_bureau,
#: cut_direct_link_jump) share their runs: customers, replications, and the first
#: step judged (one loan term after the cut in month 12).
DATA_LINK_RUNS = {"population.size": 6000}
DATA_LINK_REPLICATIONS = 6
AFTER_CUT = 25


def load(name: str, /, overrides: dict | None = None):
    """A library scenario by file stem, with dotted-path overrides."""
    return load_scenario(SCENARIOS / f"{name}.yaml", overrides=overrides or {})


@dataclass
class Replications:
    """The tables and loan books of a scenario's replications (replication k from ``replication_seed(seed, k)``)."""

    scenario: object
    tables: dict[str, pd.DataFrame]
    loans: list[pd.DataFrame]
    institution_ids: list[str]

    @property
    def replications(self) -> int:
        return len(self.loans)

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def _freeze(overrides: dict | None) -> tuple:
    return tuple(sorted((overrides or {}).items(), key=lambda kv: kv[0]))


def _replication(task: tuple) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, list[str]]:
    """Replication ``k`` of ``scenario``: its tables, its loan book and the institution ids (a pool's task)."""
    scenario, seed, k = task
    model = ChannelModel(scenario, seed=replication_seed(seed, k))
    model.run()
    return model.tables(k), model.loans(), list(model.catalog.institution_ids)


@functools.cache
def _run(name: str, frozen: tuple, replications: int, seed: int) -> Replications:
    scenario = load(name, dict((k, list(v) if isinstance(v, tuple) else v) for k, v in frozen))
    tasks = [(scenario, seed, k) for k in range(replications)]
    if WORKERS > 1 and replications > 1:
        with ProcessPoolBackend(WORKERS) as pool:
            done = {task[2]: result for task, result in pool.imap_unordered(_replication, tasks)}
        for k, result in done.items():
            if isinstance(result, BaseException):
                raise RuntimeError(f"replication {k} of {name} did not finish") from result
        runs = [done[k] for k in range(replications)]
    else:
        runs = [_replication(task) for task in tasks]
    parts: dict[str, list[pd.DataFrame]] = {}
    for tables, _, _ in runs:
        for table, frame in tables.items():
            parts.setdefault(table, []).append(frame)
    tables = {table: pd.concat(frames, ignore_index=True) for table, frames in parts.items()}
    return Replications(scenario, tables, [loans for _, loans, _ in runs], runs[0][2])


def run_library(name: str, replications: int, overrides: dict | None = None, seed: int = SEED) -> Replications:
    """Run library scenario ``name`` (with ``overrides``) for ``replications`` replications, cached."""
    frozen = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in _freeze(overrides))
    return _run(name, frozen, replications, seed)


def interval(values) -> tuple[float, float, float]:
    """(mean, low, high): the 95% Student t interval of the mean of per-replication values."""
    values = np.asarray(values, dtype=float)
    assert values.size >= 3, f"need at least 3 replications for an interval, got {values.size}"
    return mean_ci(values, 0.95)


def credit_rate(result: Replications, institution: str | None = None, start: int = 1,
                stop: int | None = None) -> np.ndarray:
    """Per replication: defaults / loans at risk (per loan-step) of ``institution`` (all lenders when None)."""
    credit = result.table("credit")
    rows = credit[(credit["step"] >= start) & (credit["step"] <= (stop if stop is not None else credit["step"].max()))]
    if institution is not None:
        rows = rows[rows["institution"] == institution]
    sums = rows.groupby("replication")[["defaults", "loans_at_risk"]].sum().reindex(range(result.replications))
    return (sums["defaults"] / sums["loans_at_risk"]).to_numpy(dtype=float)


def subprime_share(result: Replications, institution: str, start: int = 1) -> np.ndarray:
    """Per replication: the subprime share of ``institution``'s loan-steps at risk from step ``start``."""
    credit = result.table("credit")
    rows = credit[(credit["institution"] == institution) & (credit["step"] >= start)]
    by = rows.groupby(["replication", "segment"])["loans_at_risk"].sum().unstack(fill_value=0.0)
    return (by["subprime"] / by.sum(axis=1)).reindex(range(result.replications)).to_numpy()


def pooled_counts(result: Replications, institution: str, start: int = 1) -> tuple[float, float]:
    """(defaults, loan-steps at risk) of ``institution`` from step ``start``, summed over replications."""
    credit = result.table("credit")
    rows = credit[(credit["institution"] == institution) & (credit["step"] >= start)]
    return float(rows["defaults"].sum()), float(rows["loans_at_risk"].sum())


def expected_rate(result: Replications, institution: str | None, start: int = 1) -> np.ndarray:
    """Per replication: expected defaults / loans at risk from step ``start`` (``institution`` None: every lender).

    The credit table's ``expected_defaults`` is, per step, the sum over the
    loans at risk of each one's default probability given the state before
    the draw (hazard, macro level, social collateral, peer effect, threshold
    tipping, strategic default): what the realized default rate estimates,
    without its Bernoulli noise.  What contagion and the macro path add
    between steps stays in it, so replications still differ.  Seeded
    defaults are not in it (asserted absent).
    """
    assert not result.scenario.credit.seed_defaults, "expected_rate leaves out seeded defaults"
    credit = result.table("credit")
    rows = credit[credit["step"] >= start]
    if institution is not None:
        rows = rows[rows["institution"] == institution]
    sums = rows.groupby("replication")[["expected_defaults", "loans_at_risk"]].sum().reindex(range(result.replications))
    return (sums["expected_defaults"] / sums["loans_at_risk"]).to_numpy(dtype=float)


def poisson_interval(count: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) two-sided interval for a Poisson mean given an observed ``count``."""
    alpha = 1.0 - level
    low = 0.0 if count == 0 else stats.chi2.ppf(alpha / 2, 2 * count) / 2
    high = stats.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2
    return float(low), float(high)


def rate_ratio_interval(d1: float, exposure1: float, d2: float, exposure2: float,
                        level: float = 0.95) -> tuple[float, float, float]:
    """(ratio, low, high): rate ratio (d1/exposure1) / (d2/exposure2) with an exact conditional interval.

    Given d1 + d2, d1 is binomial with p = r·e1 / (r·e1 + e2) under a ratio
    r; the Clopper–Pearson interval for p maps to one for r.  Two-sided at
    ``level`` (use 0.90 for a one-sided 95% bound).
    """
    total = int(round(d1 + d2))
    ci = stats.binomtest(int(round(d1)), total).proportion_ci(confidence_level=level, method="exact")
    def to_ratio(p):
        return (p / (1.0 - p)) * (exposure2 / exposure1) if p < 1 else np.inf
    ratio = (d1 / exposure1) / (d2 / exposure2)
    return float(ratio), float(to_ratio(ci.low)), float(to_ratio(ci.high))
