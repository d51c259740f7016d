"""Tests of mechanism 3, the funnel (:mod:`sim.core.adoption.funnel`).

``run_funnel`` is called directly on the state, population and catalog of a
small model with no advertising, with touches built by hand, so each test
controls exactly who enters the funnel, through which channel, for which offer.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.adoption.frequency import counting_touches
from sim.core.adoption.funnel import FUNNEL_COLUMNS, binomial_approval, run_funnel
from sim.core.codes import Channel, Stage
from sim.core.touches import Touches
from sim.model import ChannelModel

ONES = {"interest": 1.0, "compare": 1.0, "apply": 1.0, "approve": 1.0}
STAGE_COLUMNS = [Stage.AWARE, Stage.INTERESTED, Stage.COMPARING, Stage.APPLIED, Stage.APPROVED, Stage.ACTIVE]


def small_model(make_scenario, *changes, size: int = 2_000, seed: int = 1) -> ChannelModel:
    base = {"population": {"size": size}, "choice": {"switching": 0.0}}
    return ChannelModel(make_scenario(base, *changes), seed=seed)


def touch(model, customers, offer: int, channel: int) -> Touches:
    """Touches as the model makes them: the customers become aware of the offer through the channel."""
    customers = np.asarray(customers, dtype=np.int64)
    model.state.aware[customers, offer] = True
    model.state.aware_channel[customers, offer] = channel
    return Touches.of(customers, offer, channel)


def funnel(model, touches, product=0, approve=None, seed=0, step=3):
    cat = model.catalog
    counts = np.zeros((cat.n_institutions, cat.n_channels, 6), dtype=np.int64)
    approve_fn = approve or binomial_approval(float(cat.approve[product]))
    activations, rejected = run_funnel(product, touches, model.state, model.population, cat, step,
                                       approve_fn, np.random.default_rng(seed), counts)
    return activations, rejected, counts


def test_all_stages_one_turns_every_fresh_touch_into_a_customer(make_scenario):
    model = small_model(make_scenario, {"funnel": ONES})
    customers = np.arange(0, 600, 3)
    activations, rejected, counts = funnel(model, touch(model, customers, 0, Channel.BRANCH))
    assert sorted(activations.customer.tolist()) == customers.tolist()
    assert rejected.size == 0
    state = model.state
    assert (state.stage[customers, 0] == Stage.ACTIVE).all()
    assert (state.provider[customers, 0] == 0).all()
    assert (state.channel[customers, 0] == Channel.BRANCH).all()
    assert (state.since[customers, 0] == 3).all()
    untouched = np.setdiff1d(np.arange(model.network.size), customers)
    assert (state.stage[untouched, 0] == Stage.NONE).all() and (state.provider[untouched, 0] == -1).all()
    assert counts[0, Channel.BRANCH].tolist() == [customers.size] * 6
    assert counts.sum() == 6 * customers.size


def test_customers_who_hold_the_product_do_not_enter(make_scenario):
    model = small_model(make_scenario, {"funnel": ONES})
    funnel(model, touch(model, [1, 2, 3], 0, Channel.BRANCH))
    activations, _, counts = funnel(model, touch(model, [2, 3, 4], 0, Channel.REFERRAL), step=4)
    assert activations.customer.tolist() == [4]
    assert counts[0, Channel.REFERRAL, FUNNEL_COLUMNS[Stage.AWARE]] == 1
    assert (model.state.since[[2, 3], 0] == 3).all(), "an existing relationship was restarted"


def test_a_customer_touched_twice_enters_once_with_a_uniformly_drawn_trigger(make_scenario):
    model = small_model(make_scenario, {"funnel": {"interest": 0.0}})
    customers = np.arange(1_000)
    both = Touches.concat([touch(model, customers, 0, Channel.BRANCH), touch(model, customers, 0, Channel.REFERRAL)])
    entries = np.zeros(2, dtype=np.int64)
    for seed in range(10):
        model.state.stage[:] = Stage.NONE
        model.state.exposures[:] = 0                     # every branch touch a first exposure
        ordered = counting_touches(both, model.state, model.catalog, 3, np.random.default_rng(100 + seed))
        assert len(ordered) == len(both)
        _, _, counts = funnel(model, ordered, seed=seed)
        assert counts[0, :, FUNNEL_COLUMNS[Stage.AWARE]].sum() == customers.size
        entries += counts[0, [Channel.BRANCH, Channel.REFERRAL], FUNNEL_COLUMNS[Stage.AWARE]]
    n = entries.sum()
    assert abs(entries[0] - n / 2) < 4 * np.sqrt(n / 4), entries


@pytest.mark.parametrize("failing, stops_at", [
    ({"interest": 0.0}, Stage.AWARE),
    ({"compare": 0.0}, Stage.INTERESTED),
    ({"apply": 0.0}, Stage.COMPARING),
])
def test_a_stage_with_probability_zero_stops_everyone_there(make_scenario, failing, stops_at):
    model = small_model(make_scenario, {"funnel": {**ONES, **failing}})
    customers = np.arange(500)
    activations, _, counts = funnel(model, touch(model, customers, 0, Channel.OWN_APP))
    assert activations.customer.size == 0
    assert (model.state.stage[customers, 0] == stops_at).all()
    assert (model.state.provider[customers, 0] == -1).all()
    reached = counts[0, Channel.OWN_APP]
    last = STAGE_COLUMNS.index(stops_at)
    assert (reached[: last + 1] == customers.size).all() and (reached[last + 1:] == 0).all()


def test_refused_applicants_are_rejected_and_returned(make_scenario):
    model = small_model(make_scenario, {"funnel": ONES})
    customers = np.arange(100)
    def refuse_odd(c, o, rng):
        return c % 2 == 0
    activations, rejected, counts = funnel(model, touch(model, customers, 0, Channel.BRANCH), approve=refuse_odd)
    assert sorted(rejected.tolist()) == list(range(1, 100, 2))
    assert (model.state.stage[rejected, 0] == Stage.REJECTED).all()
    assert sorted(activations.customer.tolist()) == list(range(0, 100, 2))
    assert counts[0, Channel.BRANCH, FUNNEL_COLUMNS[Stage.APPLIED]] == 100
    assert (
        counts[0, Channel.BRANCH, FUNNEL_COLUMNS[Stage.APPROVED]]
        == counts[0, Channel.BRANCH, FUNNEL_COLUMNS[Stage.ACTIVE]]
        == 50
    )


def test_interest_is_scaled_by_need_of_the_life_stage_and_targeting(make_scenario):
    """p(interested) = interest × need[life stage] × (1 + targeting), checked per life stage.

    Six funnel passes over 5 000 customers; with 4-SE bounds, forgetting the
    need (x2 or x4) or the targeting (x1.5) misses by far more.
    """
    model = small_model(make_scenario, {
        "funnel": {**ONES, "interest": 0.4, "compare": 0.0},
        "products": {"payments": {"need": {"student": 1.0, "young_family": 0.5, "mature": 0.25}}},
        "banks": {"b": {"targeting": 0.5}},
    }, size=5_000)
    customers = np.arange(model.network.size)
    touches = touch(model, customers, 0, Channel.BRANCH)
    interested = np.zeros(customers.size, dtype=np.int64)
    passes = 6
    for seed in range(passes):
        funnel(model, touches, seed=seed)
        interested += model.state.stage[:, 0] == Stage.INTERESTED
    for code, need in enumerate((1.0, 0.5, 0.25)):
        members = model.population.life_stage == code
        n, p = members.sum() * passes, 0.4 * need * 1.5
        assert abs(interested[members].sum() - n * p) < 4 * np.sqrt(n * p * (1 - p)), (
            code,
            interested[members].sum() / n,
            p,
        )


def test_interest_is_capped_at_one(make_scenario):
    model = small_model(make_scenario, {"funnel": {**ONES, "interest": 0.8}, "banks": {"b": {"targeting": 1.0}}})
    customers = np.arange(1_000)
    activations, _, _ = funnel(model, touch(model, customers, 0, Channel.BRANCH))
    assert activations.customer.size == customers.size


def test_live_stream_raises_the_comparing_probability(make_scenario):
    model = small_model(make_scenario, {
        "funnel": {**ONES, "compare": 0.4, "apply": 0.0},
        "banks": {"b": {"live_stream": {"enabled": True, "compare_uplift": 0.5}}},
    }, size=5_000)
    live, app = np.arange(0, 5_000, 2), np.arange(1, 5_000, 2)
    touches = Touches.concat([touch(model, live, 0, Channel.LIVE_STREAM), touch(model, app, 0, Channel.OWN_APP)])
    comparing = np.zeros(2, dtype=np.int64)
    passes = 8
    for seed in range(passes):
        _, _, counts = funnel(model, touches, seed=seed)
        comparing += counts[0, [Channel.LIVE_STREAM, Channel.OWN_APP], FUNNEL_COLUMNS[Stage.COMPARING]]
    for got, customers, p in ((comparing[0], live, 0.6), (comparing[1], app, 0.4)):
        n = customers.size * passes
        assert abs(got - n * p) < 4 * np.sqrt(n * p * (1 - p)), (got / n, p)


def test_choice_may_pick_a_competitor_and_attribution_follows_the_chosen_offer(make_scenario):
    """Triggered by bank b's branch, a customer who knows c's (much better) offer through referral takes c's."""
    model = small_model(make_scenario, {
        "funnel": ONES,
        "choice": {"price": -10.0},
        "banks": {"b": {"offers": {"payments": {"price": 2.0}}},
                  "c": {"type": "joint_stock", "offers": {"payments": {"price": 0.0}}}},
    })
    customers = np.arange(300)
    b_offer, c_offer = model.catalog.offer_of[0, 0], model.catalog.offer_of[1, 0]
    touch(model, customers, c_offer, Channel.REFERRAL)           # known from an earlier step
    activations, _, counts = funnel(model, touch(model, customers, b_offer, Channel.BRANCH))
    assert (activations.offer == c_offer).all()
    assert (model.state.provider[customers, 0] == 1).all()
    assert (model.state.channel[customers, 0] == Channel.REFERRAL).all(), (
        "the channel is where the chosen offer was met"
    )
    assert (activations.channel == Channel.REFERRAL).all()
    # Up to comparing the counts belong to the trigger (b's branch); from applied on to the
    # offer chosen and its credited channel (c's referral), as the ledger's acquisitions.
    comparing, applied = FUNNEL_COLUMNS[Stage.COMPARING], FUNNEL_COLUMNS[Stage.APPLIED]
    assert (counts[0, Channel.BRANCH, : comparing + 1] == customers.size).all()
    assert counts[0, :, applied:].sum() == 0
    assert (counts[1, Channel.REFERRAL, applied:] == customers.size).all()
    assert counts[1].sum() == 3 * customers.size


def test_binomial_approval_rate():
    rng = np.random.default_rng(2)
    approve = binomial_approval(0.7)
    decisions = approve(np.arange(50_000), np.zeros(50_000, dtype=np.int32), rng)
    assert abs(decisions.sum() - 35_000) < 4 * np.sqrt(50_000 * 0.21)
    assert binomial_approval(1.0)(np.arange(10), np.zeros(10, np.int32), rng).all()
    assert not binomial_approval(0.0)(np.arange(10), np.zeros(10, np.int32), rng).any()


def test_the_model_funnel_table_matches_state(make_scenario):
    """Over a run without churn, the table's 'active' entries equal the customers the run created."""
    scenario = make_scenario({
        "population": {"size": 1_000},
        "funnel": {"interest": 0.6, "compare": 0.8, "apply": 0.7, "approve": 0.9},
        "choice": {"switching": 0.0},
        "banks": {"b": {"retention": 1.0, "branch": {"coverage": [1, 1, 1, 1], "spend": 105.361},
                        "referral": {"rate": 0.05}}},
    })
    model = ChannelModel(scenario, seed=3)
    model.run(8)
    tables = model.tables()
    funnel_table = tables["funnel"]
    active = funnel_table[funnel_table.stage == "active"]["reached"].sum()
    assert active == (model.state.provider[:, 0] >= 0).sum() == tables["market"]["new_active"].sum()
    per_stage = funnel_table.groupby("stage")["reached"].sum()
    order = ["aware", "interested", "comparing", "applied", "approved", "active"]
    assert all(per_stage[a] >= per_stage[b] for a, b in zip(order, order[1:], strict=False))
    assert per_stage["aware"] == tables["market"]["funnel_entries"].sum()
