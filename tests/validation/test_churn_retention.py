"""Cohort retention against SF8: a good scenario platform keeps 84.4% of its customers a year.

Setting: every customer holds the product at step 0 (one cohort), annual
retention R = 0.844, nothing else happens (no advertising, no referral, no
switching).  With a per-step hazard 1 − R^(1/steps per year), each
customer independently survives a year with probability R, so the cohort
after k years is Binomial(N, R^k), and survivors of year k given year
k − 1 are Binomial(n_{k−1}, R).  Checked with z-tests (|z| ≤ 4) for monthly
steps over three years and for quarterly steps.

Power: with N = 20 000, a linearised hazard (1 − R)/12 per month keeps
0.624 after three years instead of 0.601 (z ≈ 6.5); applying the annual
rate every month keeps 0.13.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import ChannelModel

N = 20_000
RETENTION = 0.844


def cohort(make_scenario, unit: str, steps: int, seed: int) -> np.ndarray:
    """Customers still holding the product after each step 0..steps."""
    scenario = make_scenario({
        "time": {"steps": steps, "unit": unit},
        "population": {"size": N},
        "network": {"kind": "erdos_renyi", "mean_degree": 2},
        "choice": {"switching": 0.0},
        "banks": {"b": {"retention": RETENTION, "offers": {"payments": {"initial_share": 1.0}},
                        "referral": {"enabled": False}}},
    })
    model = ChannelModel(scenario, seed=seed)
    model.run()
    holders = model.tables()["institutions"].set_index("step")["customers"].to_numpy()
    assert holders[0] == N
    assert model.tables()["market"]["new_active"].sum() == 0
    return holders


def z_binomial(x: int, n: int, p: float) -> float:
    return (x - n * p) / np.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("unit, per_year", [("month", 12), ("quarter", 4)])
def test_yearly_retention_of_a_cohort(make_scenario, unit, per_year):
    years = 3
    holders = cohort(make_scenario, unit, years * per_year, seed=per_year)
    for k in range(1, years + 1):
        before, after = holders[(k - 1) * per_year], holders[k * per_year]
        z = z_binomial(after, before, RETENTION)
        assert abs(z) <= 4, f"year {k}: kept {after}/{before} = {after / before:.4f}, expected {RETENTION}, z = {z:.1f}"
        z = z_binomial(after, N, RETENTION ** k)
        assert abs(z) <= 4, f"after {k} years: {after / N:.4f}, expected {RETENTION ** k:.4f}, z = {z:.1f}"
    # Per step: leavers given holders are Binomial with the per-step hazard.
    hazard = 1 - RETENTION ** (1 / per_year)
    left = holders[:-1] - holders[1:]
    z = (left.sum() - (holders[:-1] * hazard).sum()) / np.sqrt((holders[:-1] * hazard * (1 - hazard)).sum())
    assert abs(z) <= 4, z
