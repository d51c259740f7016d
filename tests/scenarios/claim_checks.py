"""Helpers for the library scenarios' claim tests: each claim on common random numbers, with its ablation.

:func:`claim_results` evaluates every ``claims:`` entry of a library file with
:func:`sim.experiments.claims.evaluate_claims` at a small population (the
size is applied to the scenario, its comparisons and its ablation alike), and
:func:`assert_claims_hold_and_vanish` checks that each claim holds with the
file's levers (paired 95% interval excluding zero in the claimed direction)
and vanishes without them (the ablation's interval includes zero).
"""

from __future__ import annotations

import functools
from pathlib import Path

from sim.experiments.backends import available_cores
from sim.experiments.claims import default_metrics, evaluate_claims
from sim.scenario import load_scenario
from sim.scenario.loader import with_overrides

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: Processes the replications run on (the tables do not depend on it: replication k has its own seed).
WORKERS = min(2, available_cores())


def sized_metrics(overrides: dict):
    """A metrics factory for :func:`evaluate_claims` that runs every scenario with ``overrides`` (e.g. a size)."""
    def at(horizon):
        run = default_metrics(horizon, workers=WORKERS)
        return lambda scenario, replications, seed: run(with_overrides(scenario, overrides), replications, seed)
    return at


@functools.cache
def claim_results(name: str, size: int, replications: int, seed: int = 20241) -> list:
    """The claim results of library file ``name`` at ``size`` customers (cached for the session)."""
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    return evaluate_claims(scenario, replications=replications, seed=seed,
                           metrics=sized_metrics({"population.size": size}))


def describe(result) -> str:
    ab = result.ablation
    return (f"{result.column} {result.claim.direction} vs {result.claim.compare_to}: "
            f"{result.difference:.5g} [{result.low:.5g}, {result.high:.5g}]; "
            f"ablated {ab[0]:.5g} [{ab[1]:.5g}, {ab[2]:.5g}]")


def assert_judged_as_recorded(result, description: str) -> None:
    """A claim holds; or, recorded ``reproduced: false``, still does not (so a change that makes it hold shows)."""
    if result.claim.reproduced:
        assert result.holds, f"claim does not hold: {description}"
    else:
        assert not result.holds, (f"claim recorded as not reproduced now holds: {description}; "
                                  "set reproduced: true and update the scenario's shows")


def assert_claims_hold_and_vanish(name: str, size: int, replications: int) -> None:
    """Every claim of ``name`` is judged as recorded with its levers and vanishes when they are reset."""
    results = claim_results(name, size, replications)
    assert results, f"{name} makes no claims"
    for result in results:
        assert_judged_as_recorded(result, describe(result))
        assert result.vanishes, f"claim does not vanish without the levers: {describe(result)}"
