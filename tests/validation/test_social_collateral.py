"""SF1, social collateral: loans inside a sanctioning community default far less.

SoFi lent inside alumni circles that publicly blacklist defaulters and
reports a default rate of 0.02% against 8–12% for federal student loans.
Configured for it (a community lender, a sanctioning alumni circle, social
collateral multiplier 0.01 — still far milder than SoFi's 1/500), one run must show loans inside the circle
defaulting at no more than a twentieth of the rate of otherwise identical
loans outside it: same lender, same terms, same cut-off (everyone approved),
borrowers' hazards drawn from the same distribution in both communities.

Rates are defaults per loan-step at risk, from the run's ``credit`` table.
The measured ratio sits above the multiplier: outside the circle the riskiest
borrowers default early and leave the pool, inside they stay (frailty
selection), so per loan-step the inside pool is the riskier one.
The inside rate's one-sided 95% upper bound (Poisson, normal approximation)
must be at most 1/20 of the outside rate; a control run without sanction
(multiplier 1) must give a ratio within four standard errors of 1, and a weak
sanction (0.2) a ratio above 1/20 — so the test can fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import ChannelModel
from sim.scenario.loader import validate_data


def alumni_market(social_collateral: float):
    data = {
        "name": "sf1_test", "sources": ["SF1"],
        "time": {"steps": 60},
        "population": {"size": 10_000, "credit": {"subprime_share": 0.3}},
        "network": {"kind": "stochastic_block", "degree_within": 8, "degree_between": 2,
                    "blocks": {"alumni": {"share": 0.5, "sanctioning": True}, "others": {"share": 0.5}}},
        "products": {"loan": {"kind": "credit", "loan": {"size_sd": 0.0, "term": 1000}}},
        "choice": {"switching": 0.0},
        "credit": {"enabled": True, "social_collateral": social_collateral},
        "banks": {"sofi": {"type": "joint_stock", "retention": 1.0,
                           "credit": {"cutoff": 1.0, "community_lending": True},
                           "offers": {"loan": {"price": 1.0, "initial_share": 1.0}}}},
    }
    return validate_data(data, "sf1.yaml")


def inside_outside(social_collateral: float, seed: int = 1) -> dict:
    model = ChannelModel(alumni_market(social_collateral), seed=seed)
    model.run()
    table = model.recorder.tables()["credit"]
    by = table.groupby("inside_community")[["defaults", "loans_at_risk"]].sum()
    d_in, l_in = by.loc[True]
    d_out, l_out = by.loc[False]
    return {"d_in": d_in, "l_in": l_in, "d_out": d_out, "l_out": l_out,
            "ratio": (d_in / l_in) / (d_out / l_out)}


@pytest.mark.slow
def test_loans_inside_a_sanctioning_community_default_at_most_a_twentieth():
    r = inside_outside(0.01)
    assert r["l_in"] > 100_000 and r["l_out"] > 100_000       # both sides carry many loan-steps
    assert r["d_out"] > 500
    upper_in = (r["d_in"] + 1.645 * np.sqrt(max(r["d_in"], 1.0))) / r["l_in"]
    assert upper_in / (r["d_out"] / r["l_out"]) <= 1 / 20


@pytest.mark.slow
def test_without_sanction_inside_and_outside_loans_are_identical():
    r = inside_outside(1.0)
    # standard error of log ratio: sqrt(1/d_in + 1/d_out)
    se = np.sqrt(1 / r["d_in"] + 1 / r["d_out"])
    assert abs(np.log(r["ratio"])) < 4 * se


@pytest.mark.slow
def test_a_weak_sanction_does_not_meet_sf1():
    assert inside_outside(0.2)["ratio"] > 1 / 20
