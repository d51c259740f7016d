"""sim.run from Python: the same checks as the command line, and the same tables on any number of workers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.errors import ScenarioError
from sim.experiments.backends import ProcessPoolBackend
from sim.experiments.compare import compare
from sim.scenario.loader import with_overrides

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("replications", [0, -3, 100001, 2.5])
def test_run_from_python_checks_replications_by_the_schema(make_scenario, replications):
    with pytest.raises(ScenarioError, match="replications"):
        sim.run(make_scenario(), replications=replications)


def test_run_from_python_checks_the_seed_by_the_schema(make_scenario):
    with pytest.raises(ScenarioError, match="seed"):
        sim.run(make_scenario(), replications=1, seed=-1)


@pytest.fixture(scope="module")
def three_product_scenario():
    """The baseline, small: three products, credit on, partnerships."""
    return sim.load_scenario(ROOT / "scenarios" / "baseline.yaml",
                             overrides={"population.size": 800, "time.steps": 10, "time.burn_in": 2})


def test_replications_on_a_pool_give_the_serial_tables_in_order(three_product_scenario):
    serial = sim.run(three_product_scenario, replications=5, seed=8)
    pooled = sim.run(three_product_scenario, replications=5, seed=8, workers=2)
    assert pooled.replications == 5 and pooled.seed == 8
    for name, table in serial.tables.items():
        pd.testing.assert_frame_equal(pooled.tables[name], table, check_exact=True)


def test_compare_on_a_pool_gives_the_serial_comparison(three_product_scenario):
    other = with_overrides(three_product_scenario, {"name": "bonus", "banks.citic.referral.bonus": 80})
    serial = compare([three_product_scenario, other], replications=3, seed=4)
    with ProcessPoolBackend(2) as backend:
        pool = backend._executor
        pooled = compare([three_product_scenario, other], replications=3, seed=4, backend=backend)
        again = sim.run(other, replications=3, seed=4, backend=backend)
        assert backend._executor is pool, "compare or run closed the pool its caller passed in"
    for before, after in zip(serial.results, pooled.results, strict=True):
        for name, table in before.tables.items():
            pd.testing.assert_frame_equal(after.tables[name], table, check_exact=True)
    pd.testing.assert_frame_equal(again.tables["institutions"], serial.results[1].tables["institutions"],
                                  check_exact=True)


@pytest.mark.parametrize("workers", [0, -2])
def test_run_refuses_a_pool_of_no_processes(make_scenario, workers):
    with pytest.raises(ScenarioError, match="--workers"):
        sim.run(make_scenario(), replications=2, workers=workers)
