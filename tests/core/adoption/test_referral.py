"""Tests of mechanism 2, referral spread (:mod:`sim.core.adoption.referral`), alone and in the model.

Fixed semantics (docs/ODD.md, "Referral"): a customer who became active is a promoter for
``W`` steps; each step each promoter gives each neighbour who is not yet a
customer of that provider an independent chance ``r``, so a customer with
``m`` promoter neighbours is reached with probability ``1 - (1 - r)^m``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import sim
from sim.core.adoption.referral import spread, spread_offers
from sim.core.codes import Channel
from sim.core.touches import Touches
from sim.model import ChannelModel


def adjacency_from_edges(n: int, edges: np.ndarray) -> sp.csr_array:
    """Symmetric 0/1 CSR adjacency, the form the model uses (see sim.network.graph)."""
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    matrix = sp.csr_array((np.ones(rows.size, np.float32), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def layered_graph(sources: int, per_m: int):
    """``sources`` sharers 0..S-1; for each m = 0..S a block of ``per_m`` targets joined to sharers 0..m-1.

    Returns (adjacency, m of every node, index of the first target).
    """
    first = sources
    edges, m_of = [], np.zeros(first + per_m * (sources + 1), dtype=np.int64)
    for m in range(sources + 1):
        block = first + m * per_m + np.arange(per_m)
        m_of[block] = m
        for s in range(m):
            edges.append(np.column_stack([np.full(per_m, s), block]))
    adjacency = adjacency_from_edges(m_of.size, np.concatenate(edges))
    return adjacency, m_of, first


def test_reach_probability_is_one_minus_one_minus_r_to_the_m():
    """Per m, the touched share over many draws is within 4 binomial SEs of 1 - (1 - r)^m.

    With r = 0.2 and 30 000 trials per m, using ``r`` for any m >= 2 (e.g.
    0.2 instead of 0.488 at m = 3) or ``m r`` (0.6) would miss by > 50 SEs.
    """
    S, per_m, draws, r = 5, 2_000, 15, 0.2
    adjacency, m_of, first = layered_graph(S, per_m)
    holder = np.full(m_of.size, -1)
    holder[:S] = 0                                  # sharers are customers of institution 0
    rng = np.random.default_rng(1)
    hits = np.zeros(m_of.size, dtype=np.int64)
    for _ in range(draws):
        touches = spread(adjacency, np.arange(S), 7, Channel.REFERRAL, r, holder, 0, rng)
        assert (touches.offer == 7).all() and (touches.channel == Channel.REFERRAL).all()
        assert np.unique(touches.customer).size == touches.customer.size, "a customer touched twice"
        hits[touches.customer] += 1
    assert hits[:S].sum() == 0
    for m in range(S + 1):
        trials = per_m * draws
        p = 1 - (1 - r) ** m
        observed = hits[first:][m_of[first:] == m].sum()
        sd = np.sqrt(trials * p * (1 - p))
        assert abs(observed - trials * p) <= 4 * sd + 1e-9, (m, observed / trials, p)


def test_each_target_is_an_independent_trial():
    """Two targets sharing the same sharer are reached independently (edges, not sharers, succeed)."""
    adjacency = adjacency_from_edges(3, np.array([[0, 1], [0, 2]]))
    rng = np.random.default_rng(2)
    holder = np.full(3, -1)
    both = one = 0
    trials = 20_000
    for _ in range(trials):
        reached = spread(adjacency, np.array([0]), 0, Channel.REFERRAL, 0.3, holder, 0, rng).customer
        both += reached.size == 2
        one += reached.size == 1
    assert both == pytest.approx(trials * 0.09, abs=4 * np.sqrt(trials * 0.09 * 0.91))
    assert one == pytest.approx(trials * 0.42, abs=4 * np.sqrt(trials * 0.42 * 0.58))


def test_customers_of_the_provider_are_never_touched_but_competitors_customers_are():
    S, per_m = 3, 500
    adjacency, m_of, first = layered_graph(S, per_m)
    holder = np.full(m_of.size, -1)
    holder[first::3] = 4                            # customers of the provider (institution 4)
    holder[first + 1::3] = 9                        # customers of a competitor
    rng = np.random.default_rng(3)
    touched = np.zeros(m_of.size, dtype=bool)
    for _ in range(20):
        touched[spread(adjacency, np.arange(S), 0, Channel.REFERRAL, 0.5, holder, 4, rng).customer] = True
    assert not touched[holder == 4].any()
    assert touched[(holder == 9) & (m_of > 0)].mean() > 0.9


def test_listing_a_sharer_twice_shares_twice():
    adjacency = adjacency_from_edges(2, np.array([[0, 1]]))
    rng = np.random.default_rng(4)
    holder = np.full(2, -1)
    trials, r = 20_000, 0.25
    hits = sum(
        spread(adjacency, np.array([0, 0]), 0, Channel.REFERRAL, r, holder, 0, rng).customer.size for _ in range(trials)
    )
    p = 1 - (1 - r) ** 2
    assert abs(hits - trials * p) <= 4 * np.sqrt(trials * p * (1 - p))


def test_nothing_spreads_without_sharers_rate_or_edges():
    adjacency = adjacency_from_edges(4, np.array([[0, 1]]))
    rng = np.random.default_rng(5)
    holder = np.full(4, -1)
    assert len(spread(adjacency, np.zeros(0, np.int64), 0, Channel.REFERRAL, 0.5, holder, 0, rng)) == 0
    assert len(spread(adjacency, np.array([0]), 0, Channel.REFERRAL, 0.0, holder, 0, rng)) == 0
    assert len(spread(adjacency, np.array([2, 3]), 0, Channel.REFERRAL, 1.0, holder, 0, rng)) == 0   # isolated
    assert spread(adjacency, np.array([0]), 0, Channel.REFERRAL, 1.0, holder, 0, rng).customer.tolist() == [1]


# ------------------------------------------------------------------ in the model
WINDOW_SCENARIO = {
    "population": {"size": 400},
    "network": {"kind": "erdos_renyi", "mean_degree": 8},
    "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0, "approve": 1.0},
    "choice": {"switching": 0.0},
    "time": {"steps": 12},
    # From step 2 nobody converts, so the seed's neighbours stay reachable and
    # every step of its window shows up as referral entries into the funnel.
    "events": [{"at": 2, "set": {"funnel.interest": 0.0}}],
}


@pytest.mark.parametrize("window", [1, 3])
def test_a_new_customer_promotes_for_exactly_w_steps_from_the_next_step(make_scenario, seed_customer, window):
    """Activated at step 1 -> refers at steps 2..1+W (r = 1: every neighbour, every step), not at 1 or 2+W."""
    scenario = make_scenario(WINDOW_SCENARIO, {"banks": {"b": {"referral": {"rate": 1.0, "window": window}}}})
    model = ChannelModel(scenario, seed=6)
    degree = model.network.degree
    seed = int(np.argmax(degree))
    seed_customer(model, seed)                      # step 1
    model.run(window + 3)
    market = model.tables()["market"].set_index("step")
    funnel = model.tables()["funnel"]
    entries = funnel[(funnel.channel == "referral") & (funnel.stage == "aware")].groupby("step")["reached"].sum()
    for t in range(1, window + 5):
        promoting = 2 <= t <= 1 + window
        assert market.loc[t, "promoters"] == (1 if promoting else 0), t
        assert entries.get(t, 0) == (degree[seed] if promoting else 0), t
    neighbours = model.network.neighbours(seed)
    assert model.state.aware[neighbours, 0].all()
    assert (model.state.aware_channel[neighbours, 0] == Channel.REFERRAL).all()


def test_unlimited_window_keeps_promoting(make_scenario, seed_customer):
    scenario = make_scenario(WINDOW_SCENARIO, {"banks": {"b": {"referral": {"rate": 1.0, "window": None}}}})
    model = ChannelModel(scenario, seed=7)
    seed_customer(model, 0)
    model.run(8)
    assert (model.tables()["market"].set_index("step").loc[2:9, "promoters"] == 1).all()


def test_customers_held_before_the_run_never_promote(make_scenario):
    scenario = make_scenario({"choice": {"switching": 0.0},
                              "banks": {"b": {"offers": {"payments": {"initial_share": 0.5}}, "retention": 1.0,
                                              "referral": {"rate": 1.0, "window": None}}}})
    model = ChannelModel(scenario, seed=8)
    model.run(5)
    market = model.tables()["market"]
    assert (market["promoters"] == 0).all()
    assert not model.state.aware[model.state.provider[:, 0] < 0].any()


def test_referral_conversions_and_r_eff_are_recorded(make_scenario, seed_customer):
    scenario = make_scenario(
        {
            "population": {"size": 400},
            "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0, "approve": 1.0},
            "choice": {"switching": 0.0},
            "banks": {"b": {"referral": {"rate": 0.5, "window": 1}}},
        }
    )
    model = ChannelModel(scenario, seed=9)
    seed_customer(model, int(np.argmax(model.network.degree)))
    model.step()
    row = model.tables()["market"].iloc[-1]
    assert row["promoters"] == 1
    assert row["referral_conversions"] == row["new_active"] > 0
    assert row["r_eff"] == row["referral_conversions"] / row["promoters"]
    assert (model.state.channel[model.state.since[:, 0] == 2, 0] == Channel.REFERRAL).all()


@pytest.mark.parametrize("seed", range(6))
def test_spreading_several_offers_at_once_gives_the_touches_and_draws_of_one_spread_per_offer(seed):
    rng = np.random.default_rng(seed)
    n, offers, products = 400, 5, 2
    edges = rng.integers(0, n, (1_500, 2))
    adjacency = adjacency_from_edges(n, edges[edges[:, 0] != edges[:, 1]])
    offer_institution = np.array([0, 1, 2, 0, 1])
    offer_product = np.array([0, 0, 0, 1, 1])
    provider = np.asfortranarray(rng.integers(-1, 3, (n, products)).astype(np.int16))
    source_offer = rng.integers(0, offers, 300).astype(np.int32)
    sources = rng.integers(0, n, 300)
    sources[source_offer == 2] = 7                        # a sharer of no neighbours at all is possible
    promoted = np.flatnonzero(np.bincount(source_offer, minlength=offers))
    rates = rng.choice([0.0, 0.05, 0.3, 1.0], promoted.size)
    one, together = np.random.default_rng(seed + 100), np.random.default_rng(seed + 100)
    expected = Touches.concat([
        spread(adjacency, sources[source_offer == o], o, Channel.REFERRAL, rate,
               provider[:, offer_product[o]], offer_institution[o], one)
        for o, rate in zip(promoted, rates, strict=True)])
    got = spread_offers(adjacency, sources, source_offer, promoted, Channel.REFERRAL, rates, provider,
                        offer_institution, offer_product, together)
    starts = adjacency.indptr[sources]
    rows_known = spread_offers(adjacency, sources, source_offer, promoted, Channel.REFERRAL, rates, provider,
                               offer_institution, offer_product, np.random.default_rng(seed + 100),
                               neighbour_rows=(starts, adjacency.indptr[sources + 1] - starts))
    for field in ("customer", "offer", "channel"):
        assert np.array_equal(getattr(got, field), getattr(expected, field))
        assert getattr(got, field).dtype == getattr(expected, field).dtype
        assert np.array_equal(getattr(rows_known, field), getattr(expected, field))
    assert one.random() == together.random(), "the same draws, in the same order"


def _lasting_by_state(rows, step, window, state, catalog):
    """The promoters by reading every logged relationship's provider and start step (the rule before the log)."""
    customers, offers = [], []
    for began, c, o in rows:
        k = catalog.offer_product[o]
        keep = ((step - began >= 1) & (step - began <= window[o])
                & (state.provider[c, k] == catalog.offer_institution[o]) & (state.since[c, k] == began))
        customers.append(c[keep])
        offers.append(o[keep])
    return np.concatenate(customers), np.concatenate(offers)


# Churn, switching, defaults and loans not renewed end relationships within the referral window.
@pytest.mark.parametrize("name", ["baseline", "p2p_collapse", "referral_bonus_war"])
def test_the_promoters_are_the_lasting_relationships_of_the_window_at_every_step(name):
    scenario = sim.load_scenario(Path(__file__).resolve().parents[3] / "scenarios" / f"{name}.yaml",
                                 overrides={"population.size": 1500, "time.burn_in": 3})
    model = ChannelModel(scenario, seed=5)
    from_log, ended = model.promoters, []

    def checked(step):
        promoters = from_log(step)
        customer, offer = promoters.customer, promoters.offer
        indptr = model.network.adjacency.indptr
        assert np.array_equal(promoters.start, indptr[customer])
        assert np.array_equal(promoters.length, indptr[customer + 1] - indptr[customer])
        cat = model.catalog
        window = cat.referral_window[cat.offer_institution]
        expected = _lasting_by_state(list(model._activations), step, window, model.state, cat)
        assert np.array_equal(customer, expected[0]) and np.array_equal(offer, expected[1]), f"step {step}"
        logged = sum(int(((step - began >= 1) & (step - began <= window[o])).sum())
                     for began, _, o in model._activations)
        ended.append(logged - customer.size)
        return promoters

    model.promoters = checked
    model.run(14)
    assert sum(ended) > 0, "some relationships should end within their referral window"
