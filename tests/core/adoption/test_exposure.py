"""Tests of mechanism 1, exposure (:mod:`sim.core.adoption.exposure`), alone and in the model.

Semantics (docs/ODD.md, "Exposure"): each step a paid channel exposes each
*reachable* customer to each advertised offer with the probability its spend
buys, p = p_max (1 - exp(-spend / s0)), aware or not (frequency); branches
reach covered city tiers, platform ads the platform's users, the own app and
live streaming the institution's private domain.  The tests in the model use
the unit curve of the test scenarios (p = 1 - exp(-spend / 1000)).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.adoption.exposure import (
    branch_reach,
    expose,
    per_reachable_spend,
    platform_users,
    response,
    spend_for,
)
from sim.core.codes import Channel
from sim.model import ChannelModel


def binomial_ok(count: int, n: int, p: float, z: float = 4.0) -> bool:
    return abs(count - n * p) <= z * np.sqrt(n * p * (1 - p)) + 1e-9


# ------------------------------------------------------------------ the kernel
def test_expose_touches_reachable_customers_aware_or_not_at_rate_p():
    rng = np.random.default_rng(1)
    n, offers = 50_000, np.array([0, 2])
    reachable = np.arange(0, n, 2)                  # even customers only
    p = 0.07
    touches = expose(reachable, offers, Channel.BRANCH, p, rng)

    assert np.isin(touches.customer, reachable).all()
    assert (touches.channel == Channel.BRANCH).all()
    assert set(np.unique(touches.offer)) <= {0, 2}
    on0 = touches.customer[touches.offer == 0]
    on2 = touches.customer[touches.offer == 2]
    assert binomial_ok(on0.size, reachable.size, p)
    assert binomial_ok(on2.size, reachable.size, p)
    # One touch per customer and offer; the two offers are drawn independently.
    assert np.unique(on0).size == on0.size and np.unique(on2).size == on2.size
    assert binomial_ok(np.intersect1d(on0, on2).size, reachable.size, p * p)


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_expose_extremes(p):
    rng = np.random.default_rng(2)
    touches = expose(np.arange(10), np.array([0]), Channel.OWN_APP, p, rng)
    expected = [] if p == 0.0 else list(range(10))
    assert sorted(touches.customer.tolist()) == expected


def test_the_response_curve_saturates_at_p_max_and_inverts():
    spend = np.array([0.0, 100.0, 1_000.0, 1.0e6])
    p = response(spend, 0.1, 500.0)
    assert p[0] == 0.0 and p[-1] == pytest.approx(0.1)
    assert np.all(np.diff(p) > 0)
    assert p[1] == pytest.approx(0.1 * (1 - np.exp(-0.2)))
    assert spend_for(p[:3], 0.1, 500.0) == pytest.approx(spend[:3])


def test_a_budget_spends_its_share_of_the_population_whatever_the_reach():
    own, budget, share = np.array([50.0, 50.0, 50.0]), np.array([np.nan, 200.0, 200.0]), np.array([0.3, 0.3, 0.3])
    reachable = np.array([400, 400, 0])
    per_thousand = per_reachable_spend(own, budget, share, 2_000, reachable)
    assert per_thousand[0] == 50.0                               # no budget: the channel's own spend
    assert per_thousand[1] * 400 / 1000 == pytest.approx(200.0 * 0.3 * 2_000 / 1000)
    assert per_thousand[2] == 0.0                                # reaches nobody: spends nothing


def test_branch_reach_follows_coverage_by_tier():
    rng = np.random.default_rng(3)
    tiers = np.repeat(np.arange(4), 20_000)
    coverage = np.array([1.0, 0.6, 0.2, 0.0])
    reach = branch_reach(tiers, coverage, rng)
    assert reach[tiers == 0].all()
    assert not reach[tiers == 3].any()
    for tier in (1, 2):
        assert binomial_ok(np.count_nonzero(reach[tiers == tier]), 20_000, coverage[tier])


def test_platform_users_exact_share_weighted_by_affinity():
    rng = np.random.default_rng(4)
    affinity = np.concatenate([np.full(5_000, 0.9), np.full(5_000, 0.1)])
    users = platform_users(affinity, 0.3, rng)
    assert users.sum() == 3_000
    assert users[:5_000].sum() > 2 * users[5_000:].sum()
    assert not platform_users(affinity, 0.0, rng).any()


# ------------------------------------------------------------------ in the model
#: Nobody converts (interest 0) and nobody refers, so awareness only reflects exposure.
PASSIVE = {"population": {"size": 2_000}, "funnel": {"interest": 0.0}, "choice": {"switching": 0.0},
           "banks": {"b": {"referral": {"enabled": False}}}}


def test_branches_reach_only_covered_tiers_at_rate_p(make_scenario):
    p, steps = 0.1, 5
    spend = float(spend_for(p, 1.0, 1000.0))                     # the unit curve of the test scenarios
    scenario = make_scenario(PASSIVE, {"banks": {"b": {"branch": {"coverage": [1, 0.5, 0, 0], "spend": spend}}}})
    model = ChannelModel(scenario, seed=5)
    model.run(steps)
    tiers = model.population.city_tier
    aware = model.state.aware[:, 0]
    assert not aware[tiers >= 2].any(), "branches exposed customers in uncovered tiers"
    assert (model.state.aware_channel[aware, 0] == Channel.BRANCH).all()
    reach = model.state.branch_reach[:, 0]
    assert reach[tiers == 0].all() and not reach[tiers >= 2].any()
    assert binomial_ok(np.count_nonzero(reach[tiers == 1]), np.count_nonzero(tiers == 1), 0.5)
    # Each reachable customer is exposed with probability p each step; its first exposure makes it aware.
    assert binomial_ok(np.count_nonzero(aware[reach]), np.count_nonzero(reach), 1 - (1 - p) ** steps)
    assert not aware[~reach].any()


def test_platform_ads_reach_only_platform_users(make_scenario):
    scenario = make_scenario(PASSIVE, {
        "platforms": {"shop": {"type": "scenario", "users": 0.25}},
        "partnerships": {"deal": {"bank": "b", "platform": "shop", "spend": 356.675}},
    })
    model = ChannelModel(scenario, seed=6)
    model.run(4)
    users = model.state.platform_user[:, 0]
    assert users.sum() == round(0.25 * scenario.population.size)
    aware = model.state.aware[:, 0]
    channel = model.catalog.platform_channel(0)
    assert aware.any()
    assert users[aware].all(), "platform ads reached a non-user"
    assert (model.state.aware_channel[aware, 0] == channel).all()
    assert binomial_ok(np.count_nonzero(aware), int(users.sum()), 1 - 0.7**4)
    # Users are drawn weighted by digital affinity.
    affinity = model.population.digital_affinity
    assert affinity[users].mean() > affinity[~users].mean()


def test_own_app_and_live_stream_reach_only_the_private_domain(make_scenario):
    scenario = make_scenario(PASSIVE, {
        "products": {"payments": {"kind": "payments"}, "wealth": {"kind": "wealth"}},
        "banks": {"b": {"offers": {"payments": {"initial_share": 0.1}, "wealth": {}},
                        "own_app": {"spend": 510.826, "followers": 0.05},
                        "live_stream": {"enabled": True, "spend": 510.826}}},
    })
    model = ChannelModel(scenario, seed=7)
    state = model.state
    private = (state.provider[:, 0] == 0) | state.follower[:, 0]
    model.run(3)
    wealth = model.catalog.offer_of[0, 1]
    aware = state.aware[:, wealth]
    assert aware.any()
    assert private[aware].all(), "the own app reached a customer outside the private domain"
    assert set(np.unique(state.aware_channel[aware, wealth])) <= {Channel.OWN_APP, Channel.LIVE_STREAM}
    assert binomial_ok(np.count_nonzero(state.follower[:, 0] & ~(state.provider[:, 0] == 0)),
                       model.network.size, 0.05 * 0.9, z=5)
    # Two independent channels at 0.4 a step: unaware after 3 steps with (0.6 * 0.6)^3.
    assert binomial_ok(np.count_nonzero(aware), int(private.sum()), 1 - 0.36**3)


def test_no_exposure_without_advertising(make_scenario):
    model = ChannelModel(make_scenario(PASSIVE, {}), seed=8)
    model.run(3)
    assert not model.state.aware.any()
    assert (model.tables()["market"]["aware"] == 0).all()
