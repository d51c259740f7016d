"""Load-time checks of a scenario's ``levers:`` and ``claims:``, and the names a claim may use.

The metric names are those of the comparison's key metrics
(:func:`sim.experiments.metrics.key_metrics`); they are listed here, below the
experiments layer, so that a misspelt metric is an error when the file is
loaded rather than after the runs.  A test checks that the reducer produces
every name listed.
"""

from __future__ import annotations

from pathlib import Path

from sim.errors import Problem
from sim.scenario.paths import check_dotted
from sim.scenario.schema import Scenario
from sim.scenario.tree import walk

#: Market-wide key metrics a claim may name (no ``institution``).
MARKET_METRICS: tuple[str, ...] = (
    "active", "aware",
    "new_active (run)", "referral_conversions (run)", "employee_conversions (run)", "churned (run)",
    "new_loans (run)", "new_defaults (run)", "contagion_defaults (run)", "credit_losses (run)",
    "insured_losses (run)", "default_rate (run)", "p2p platforms failed (share)",
)

#: Per-institution key metrics a claim may name (with ``institution``); the column is ``"<id>: <metric>"``.
INSTITUTION_METRICS: tuple[str, ...] = (
    "market_share", "customers", "cac (run)", "profit (run)", "default_rate (run)", "expected_default_rate (run)",
    "defaults (run)", "losses (run)",
)


def metric_column(metric: str, institution: str | None) -> str:
    """The key-metrics column a claim reads: ``metric`` or ``"<institution>: <metric>"``."""
    return metric if institution is None else f"{institution}: {metric}"


def check_levers(scenario: Scenario) -> list[Problem]:
    """Every lever path that leads nowhere in the schema or names an institution nobody defines."""
    data = scenario.model_dump(mode="python")
    problems = []
    for i, path in enumerate(scenario.levers):
        malformed = check_dotted(path)
        if malformed is not None:
            problems.append(Problem(f"levers[{i}]", f"'{path}' {malformed.message}", malformed.allowed))
            continue
        place = walk(Scenario, data, path.split("."), strict=True)
        if isinstance(place, Problem):
            problems.append(Problem(f"levers[{i}]", f"'{path}': {place.path}: {place.message}", place.allowed))
    if len(set(scenario.levers)) != len(scenario.levers):
        problems.append(Problem("levers", "lists a path twice", "distinct dotted paths"))
    return problems


def check_claims(scenario: Scenario, base_dir: Path | None = None) -> list[Problem]:
    """Claims naming an unknown metric or institution, a horizon past the run, or a missing comparison file.

    ``base_dir`` is the folder of the scenario file; without it the
    comparison files are not looked for.
    """
    problems = []
    institutions = scenario.institution_ids
    for i, claim in enumerate(scenario.claims):
        where = f"claims[{i}]"
        if claim.institution is None:
            if claim.metric not in MARKET_METRICS:
                hint = " (an institution's metric: give institution)" if claim.metric in INSTITUTION_METRICS else ""
                problems.append(Problem(f"{where}.metric", f"unknown market metric '{claim.metric}'{hint}",
                                        ", ".join(MARKET_METRICS)))
        else:
            if claim.institution not in institutions:
                problems.append(Problem(f"{where}.institution", f"no bank or platform named '{claim.institution}'",
                                        ", ".join(institutions)))
            if claim.metric not in INSTITUTION_METRICS:
                problems.append(Problem(f"{where}.metric", f"unknown institution metric '{claim.metric}'",
                                        ", ".join(INSTITUTION_METRICS)))
        if claim.horizon is not None and claim.horizon > scenario.time.steps:
            problems.append(Problem(f"{where}.horizon", f"step {claim.horizon} is past the run's "
                                    f"{scenario.time.steps} steps", f"1..{scenario.time.steps}"))
        if claim.compare_to is None:
            problems.append(Problem(f"{where}.compare_to", "is required in a file without extends",
                                    "a scenario file path relative to this file"))
        elif base_dir is not None and not (base_dir / claim.compare_to).is_file():
            problems.append(Problem(f"{where}.compare_to", f"'{claim.compare_to}' not found next to this file",
                                    "a scenario file path relative to this file"))
    return problems


__all__ = ["INSTITUTION_METRICS", "MARKET_METRICS", "check_claims", "check_levers", "metric_column"]
