"""Funnel stage counts against binomial expectations (law of large numbers).

Setting: one bank, one product, one life stage, fixed stage probabilities,
and a choice stage whose logit has one offer against an outside option of
equal utility (all choice weights 0, ``outside_utility`` 0), so that each
customer entering the funnel passes each stage independently with a known
probability:

====================  ==========================================================
aware -> interested   interest × need[student] × (1 + targeting) = 0.4 × 0.6 × 1.5
interested -> comp.   compare = 0.7; × (1 + 0.25) = 0.875 for live-stream entries
comparing -> applied  P(offer beats outside option) × apply = 0.5 × 0.8
applied -> approved   approve = 0.9
approved -> active    1
====================  ==========================================================

Given the number reaching a stage, the number passing it is
Binomial(n, p) — also when pooled over steps, replications and customers
entering the funnel again after failing (each entry is a fresh trial).  So
each transition in the pooled funnel table is checked with a z-test,
|x − n p| ≤ 4 √(n p (1 − p)), per channel (branch, live stream, referral)
and over all channels.

Power: about 40 000 entries (23 000 by branch, 9 000 by live stream,
8 000 by referral); forgetting the need factor (0.4 × 1.5 = 0.6 instead
of 0.36), the targeting uplift (0.24), the live-stream uplift (0.7
instead of 0.875), or the outside option (0.8 instead of 0.4) each moves a
z statistic by more than 20.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim

pytestmark = pytest.mark.slow     # one module-wide run of 4 × 10 000 customers (about 3-5 s)

STAGES = ["aware", "interested", "comparing", "applied", "approved", "active"]
INTEREST = 0.4 * 0.6 * 1.5
COMPARE = {"branch": 0.7, "referral": 0.7, "live_stream": 0.7 * 1.25}
APPLIED = 0.5 * 0.8
APPROVE = 0.9


def transition_probabilities(channel: str) -> list[float]:
    return [INTEREST, COMPARE[channel], APPLIED, APPROVE, 1.0]


@pytest.fixture(scope="module")
def funnel_table(make_scenario) -> pd.DataFrame:
    scenario = make_scenario({
        "name": "funnel_binomial",
        "time": {"steps": 30},
        "population": {"size": 10_000, "life_stages": {"student": 1.0, "young_family": 0.0, "mature": 0.0}},
        "network": {"kind": "erdos_renyi", "mean_degree": 8},
        "products": {"payments": {"kind": "payments", "need": {"student": 0.6, "young_family": 1.0, "mature": 1.0}}},
        "funnel": {"interest": 0.4, "compare": 0.7, "apply": 0.8, "approve": APPROVE},
        "choice": {"price": 0.0, "convenience": 0.0, "trust": 0.0, "incentive": 0.0, "live_stream": 0.0,
                   "outside_utility": 0.0, "switching": 0.0},
        "banks": {"b": {
            "retention": 1.0,
            "targeting": 0.5,
            "branch": {"coverage": [1, 1, 1, 1], "spend": 51.2933},
            "own_app": {"followers": 0.4},
            "live_stream": {"enabled": True, "spend": 83.3816, "compare_uplift": 0.25},
            "referral": {"rate": 0.1, "window": 3},
        }},
    })
    return sim.run(scenario, replications=4, seed=99).funnel


def pooled(table: pd.DataFrame, channel: str | None = None) -> np.ndarray:
    rows = table if channel is None else table[table.channel == channel]
    counts = rows.groupby("stage")["reached"].sum()
    return np.array([int(counts.get(stage, 0)) for stage in STAGES])


@pytest.mark.parametrize("channel", ["branch", "live_stream", "referral"])
def test_each_stage_is_binomial_given_the_previous_one(funnel_table, channel):
    reached = pooled(funnel_table, channel)
    assert reached[0] > 2_000, f"too few {channel} entries for a meaningful test: {reached[0]}"
    for s, p in enumerate(transition_probabilities(channel)):
        n, x = reached[s], reached[s + 1]
        if p == 1.0:
            assert x == n, f"{channel}: {STAGES[s]} -> {STAGES[s + 1]} should pass everyone: {x}/{n}"
            continue
        z = (x - n * p) / np.sqrt(n * p * (1 - p))
        assert abs(z) <= 4, (
            f"{channel}: {STAGES[s]} -> {STAGES[s + 1]}: {x}/{n} = {x / n:.4f}, expected {p:.4f}, z = {z:.1f}"
        )


def test_pooled_over_channels(funnel_table):
    """All channels together: the same z-tests where the stage probability does not depend on the channel."""
    reached = pooled(funnel_table)
    for s in (0, 2, 3):                       # interest, choice × apply, approve
        p = transition_probabilities("branch")[s]
        n, x = reached[s], reached[s + 1]
        assert abs(x - n * p) <= 4 * np.sqrt(n * p * (1 - p)), (STAGES[s], x / n, p)
    assert reached[5] == reached[4]
    assert set(funnel_table.channel) == {"branch", "live_stream", "referral"}, "unexpected channels entered the funnel"


def test_whole_funnel_conversion(funnel_table):
    """P(active | aware) is the product of the stage probabilities (branch entries)."""
    reached = pooled(funnel_table, "branch")
    p = float(np.prod(transition_probabilities("branch")))
    n, x = reached[0], reached[5]
    assert abs(x - n * p) <= 4 * np.sqrt(n * p * (1 - p)), (x / n, p)
