"""Tests of mechanism 6, churn and switching (:mod:`sim.core.adoption.churn`).

Annual retention ``R`` (SF8: 0.844 for a good scenario platform) becomes a
per-step hazard ``1 - R^(1/steps per year)``; each active customer leaves
independently with its provider's hazard.  Switching: a share of active
customers weigh the offers they know and move to a better one.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.adoption.churn import churn, leave, switch
from sim.core.adoption.funnel import binomial_approval
from sim.core.codes import NO_CHANNEL, Channel, Stage
from sim.core.params import compile_catalog
from sim.model import ChannelModel

TWO_BANKS = {
    "population": {"size": 4_000},
    "choice": {"switching": 0.0},
    "banks": {
        "b": {"retention": 0.844, "offers": {"payments": {"initial_share": 0.5}}},
        "c": {"type": "joint_stock", "retention": 0.5, "offers": {"payments": {"initial_share": 0.5}}},
    },
}


@pytest.mark.parametrize("unit, per_year", [("day", 365), ("week", 52), ("month", 12), ("quarter", 4), ("year", 1)])
def test_annual_retention_becomes_a_per_step_hazard(make_scenario, unit, per_year):
    catalog = compile_catalog(make_scenario(TWO_BANKS, {"time": {"unit": unit}}))
    assert catalog.churn == pytest.approx([1 - 0.844 ** (1 / per_year), 1 - 0.5 ** (1 / per_year)])
    # A year of steps at that hazard keeps exactly the annual retention.
    assert (1 - catalog.churn) ** per_year == pytest.approx([0.844, 0.5])


def test_per_step_churn_matches_each_providers_hazard(make_scenario):
    """Leavers per provider ~ Binomial(holders, 1 - R^(1/12)), over 20 independent draws.

    Providers with different hazards in one call: a thinning error (e.g. every
    provider churning at the highest hazard, 0.056 instead of 0.014) fails by > 20 SEs.
    """
    model = ChannelModel(make_scenario(TWO_BANKS), seed=1)
    state, catalog = model.state, model.catalog
    provider0 = state.provider[:, 0].copy()
    holders0 = np.flatnonzero(provider0 >= 0)
    channel0, since0 = state.channel[holders0, 0].copy(), state.since[holders0, 0].copy()
    rng = np.random.default_rng(2)
    left = np.zeros(2, dtype=np.int64)
    draws = 20
    for _ in range(draws):
        state.end(holders0, 0)
        for c, p, ch, s in zip(holders0, provider0[holders0], channel0, since0, strict=True):
            state.begin(np.array([c]), 0, p, ch, int(s))
        customers, providers = churn(0, state, catalog, rng)
        assert (provider0[customers] == providers).all(), "reported the wrong provider left"
        left += np.bincount(providers, minlength=2)
    for i, retention in enumerate((0.844, 0.5)):
        holders = np.count_nonzero(provider0 == i) * draws
        h = 1 - retention ** (1 / 12)
        assert abs(left[i] - holders * h) < 4 * np.sqrt(holders * h * (1 - h)), (i, left[i] / holders, h)


def test_leavers_lose_the_relationship_and_nobody_else_does(make_scenario):
    model = ChannelModel(make_scenario(TWO_BANKS), seed=3)
    state = model.state
    before = state.provider[:, 0].copy()
    customers, _ = churn(0, state, model.catalog, np.random.default_rng(4))
    assert customers.size > 0
    assert (state.stage[customers, 0] == Stage.CHURNED).all()
    assert (state.provider[customers, 0] == -1).all()
    assert (state.channel[customers, 0] == NO_CHANNEL).all()
    assert (state.since[customers, 0] == -1).all()
    stayed = np.setdiff1d(np.flatnonzero(before >= 0), customers)
    assert (state.provider[stayed, 0] == before[stayed]).all()
    assert (state.stage[stayed, 0] == Stage.ACTIVE).all()


def test_full_retention_means_no_churn(make_scenario):
    model = ChannelModel(
        make_scenario(TWO_BANKS, {"banks": {"b": {"retention": 1.0}, "c": {"retention": 1.0}}}), seed=5
    )
    customers, providers = churn(0, model.state, model.catalog, np.random.default_rng(6))
    assert customers.size == providers.size == 0


def test_leave_clears_the_relationship(make_scenario):
    model = ChannelModel(make_scenario(TWO_BANKS), seed=7)
    holders = np.flatnonzero(model.state.provider[:, 0] >= 0)[:5]
    leave(model.state, holders, 0)
    assert (model.state.provider[holders, 0] == -1).all() and (model.state.stage[holders, 0] == Stage.CHURNED).all()


# ------------------------------------------------------------------ switching
SWITCHING = {
    "population": {"size": 2_000},
    "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0, "approve": 1.0},
    "choice": {"switching": 1.0, "price": -20.0},
    "banks": {
        "b": {"retention": 1.0, "offers": {"payments": {"price": 2.0, "initial_share": 0.6}}},
        "c": {"type": "joint_stock", "retention": 1.0, "offers": {"payments": {"price": 0.0}}},
    },
}


def test_customers_who_know_a_much_better_offer_switch_to_it(make_scenario):
    model = ChannelModel(make_scenario(SWITCHING), seed=8)
    state, catalog = model.state, model.catalog
    holders = np.flatnonzero(state.provider[:, 0] == 0)
    knowing = holders[::2]
    c_offer = catalog.offer_of[1, 0]
    state.aware[knowing, c_offer] = True
    state.aware_channel[knowing, c_offer] = Channel.REFERRAL
    activations, previous = switch(
        0, state, model.population, catalog, 4, binomial_approval(1.0), np.random.default_rng(9)
    )
    assert sorted(activations.customer.tolist()) == sorted(knowing.tolist())
    assert (previous == 0).all() and previous.size == knowing.size
    assert (state.provider[knowing, 0] == 1).all()
    assert (state.channel[knowing, 0] == Channel.REFERRAL).all()
    assert (state.since[knowing, 0] == 4).all()
    unaware = np.setdiff1d(holders, knowing)
    assert (state.provider[unaware, 0] == 0).all(), "a customer switched to an offer it does not know"


def test_switching_share_and_approval(make_scenario):
    """A share ``switching`` weighs the alternatives each step; refused applicants stay."""
    model = ChannelModel(make_scenario(SWITCHING, {"choice": {"switching": 0.3}}), seed=10)
    state, catalog = model.state, model.catalog
    holders = np.flatnonzero(state.provider[:, 0] == 0)
    state.aware[holders, catalog.offer_of[1, 0]] = True
    state.aware_channel[holders, catalog.offer_of[1, 0]] = Channel.BRANCH
    activations, _ = switch(0, state, model.population, catalog, 2, binomial_approval(0.5), np.random.default_rng(11))
    n, p = holders.size, 0.3 * 0.5
    assert abs(activations.customer.size - n * p) < 4 * np.sqrt(n * p * (1 - p))


def test_no_switching_when_disabled_or_single_offer(make_scenario):
    model = ChannelModel(make_scenario(SWITCHING, {"choice": {"switching": 0.0}}), seed=12)
    activations, previous = switch(0, model.state, model.population, model.catalog, 1, binomial_approval(1.0),
                                   np.random.default_rng(13))
    assert activations.customer.size == previous.size == 0


def test_churn_and_switching_are_counted_by_the_model(make_scenario):
    model = ChannelModel(make_scenario(TWO_BANKS, {"banks": {"b": {"own_app": {"spend": 0.0}}}}), seed=14)
    start = model.ledger.customers[:, 0].copy()
    model.run(6)
    tables = model.tables()
    churned = tables["market"]["churned"].sum()
    assert churned == start.sum() - model.ledger.customers[:, 0].sum() > 0
    per_institution = tables["institutions"].groupby("institution")["churned"].sum()
    assert per_institution.sum() == churned
    assert per_institution["c"] > per_institution["b"]
