"""What each change did: a difference between two scenarios split into one-at-a-time contributions.

For scenarios ``A -> B`` differing in groups of parameters ``j = 1..J`` (B's
declared ``levers:`` when it has them, else each differing dotted path, see
:func:`~sim.experiments.changes.change_units`), on common random numbers
(replication ``k`` of every run draws from the same seed stream):

- the **total** is ``M(B)_k - M(A)_k``;
- the **one-at-a-time contribution** of group ``j`` is ``M(A + j)_k - M(A)_k``,
  where ``A + j`` is ``A`` with only group ``j`` set to ``B``'s values;
- the **interaction remainder** is ``total_k - sum_j contribution_jk``.

Each is averaged over the replications where every run has the metric, with
a 95% Student t interval; the contributions and the remainder sum exactly to
the total.  For an additive model the remainder is zero and each
contribution is the group's own effect.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from sim.experiments.changes import apply_changes, change_units, group_by_levers
from sim.experiments.stats import mean_ci
from sim.scenario import Scenario

#: ``(scenario, replications, seed) -> key metrics`` (one row per replication, one column per metric).
MetricsFunction = Callable[[Scenario, int, int], pd.DataFrame]

#: Names of the two rows that are not a change.
TOTAL, REMAINDER = "total", "interaction remainder"


def change_groups(a: Scenario, b: Scenario) -> dict[str, list[str]]:
    """The groups of changes from ``a`` to ``b``: by ``b``'s levers if it declares any, else each change alone."""
    return group_by_levers(change_units(a, b), b.levers)


def model_metrics(scenario: Scenario, replications: int, seed: int, backend=None) -> pd.DataFrame:
    """Key metrics of a model run (:func:`~sim.experiments.metrics.key_metrics`), its replications on ``backend``."""
    from sim.experiments.metrics import key_metrics
    from sim.experiments.replicate import run

    return key_metrics(run(scenario, replications=replications, seed=seed, backend=backend).tables)


@dataclass
class Attribution:
    """One row per (metric, part): ``part`` is a change group, the interaction remainder, or the total."""

    table: pd.DataFrame
    groups: dict[str, list[str]]
    base: str
    target: str

    def for_metric(self, metric: str) -> pd.DataFrame:
        """The rows of one metric, in waterfall order (changes, remainder, total)."""
        return self.table[self.table["metric"] == metric].reset_index(drop=True)


def attribute(a: Scenario, b: Scenario, replications: int | None = None, seed: int | None = None,
              metrics: MetricsFunction | None = None, level: float = 0.95, workers: int | None = None,
              backend=None, base: pd.DataFrame | None = None, full: pd.DataFrame | None = None) -> Attribution:
    """Split every key metric's difference ``B - A`` into one-at-a-time contributions and a remainder.

    Parameters
    ----------
    a, b : Scenario
        The reference and the changed scenario.
    replications, seed : int, optional
        Default to ``a``'s; every run uses the same seeds (common random numbers).
    metrics : callable, optional
        ``(scenario, replications, seed) -> key metrics``; the model's
        (:func:`model_metrics`) by default.
    level : float, default 0.95
        Confidence level of each contribution's ``low``/``high``: a Student t
        interval of the mean over the paired replications
        (:func:`~sim.experiments.stats.mean_ci`).
    workers, backend : optional
        Where the default metrics' replications run, one pool for every run
        (:func:`~sim.experiments.replicate.shared_backend`; a Backend passed
        in is left open).  The result does not depend on them; a ``metrics``
        function given runs where it runs.
    base, full : DataFrame, optional
        ``a``'s and ``b``'s key metrics when already computed on these
        replications and seed (e.g. by :func:`~sim.experiments.compare.compare`):
        those runs are not made again.
    """
    from sim.experiments.replicate import shared_backend

    replications = a.replications if replications is None else replications
    seed = a.seed if seed is None else seed
    groups = change_groups(a, b)
    with shared_backend(workers, backend) if metrics is None else nullcontext() as shared:
        measure = metrics if metrics is not None else partial(model_metrics, backend=shared)
        base = measure(a, replications, seed) if base is None else base
        full = measure(b, replications, seed) if full is None else full
        single = {g: measure(apply_changes(a, b, paths, name=f"{a.name}-change{j + 1}"), replications, seed)
                  for j, (g, paths) in enumerate(groups.items())}
    rows = []
    columns = [c for c in base.columns if c in full.columns and all(c in s.columns for s in single.values())]
    for metric in columns:
        frame = pd.concat([base[metric], full[metric], *(s[metric] for s in single.values())], axis=1).dropna()
        values = frame.to_numpy(dtype=float)
        total = values[:, 1] - values[:, 0]
        parts = values[:, 2:] - values[:, [0]]
        remainder = total - parts.sum(axis=1)
        for name, diff in [*zip(groups, parts.T, strict=True), (REMAINDER, remainder), (TOTAL, total)]:
            mean, low, high = mean_ci(diff, level) if diff.size else (np.nan, np.nan, np.nan)
            rows.append({"metric": metric, "part": name, "paths": ", ".join(groups.get(name, [])),
                         "contribution": mean, "low": low, "high": high, "pairs": int(diff.size)})
    table = pd.DataFrame(rows, columns=["metric", "part", "paths", "contribution", "low", "high", "pairs"])
    return Attribution(table, groups, a.name, b.name)


__all__ = ["REMAINDER", "TOTAL", "Attribution", "attribute", "change_groups", "model_metrics"]
