"""sim.run from Python: the same checks as the command line."""

from __future__ import annotations

import pytest

import sim
from sim.errors import ScenarioError


@pytest.mark.parametrize("replications", [0, -3, 100001, 2.5])
def test_run_from_python_checks_replications_by_the_schema(make_scenario, replications):
    with pytest.raises(ScenarioError, match="replications"):
        sim.run(make_scenario(), replications=replications)


def test_run_from_python_checks_the_seed_by_the_schema(make_scenario):
    with pytest.raises(ScenarioError, match="seed"):
        sim.run(make_scenario(), replications=1, seed=-1)
