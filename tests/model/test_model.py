"""Tests of the Mesa model (:class:`sim.model.ChannelModel`) from a researcher's point of view.

Build it from a scenario, step it, look at its agents, their neighbours and
holdings, and check what must hold in every run: reproducibility from one
seed, independent replication streams, one provider per product, market
shares that add up, and timeline events that act exactly at their step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.codes import STAGE_NAMES, Stage
from sim.experiments.replicate import run_replication
from sim.model import ChannelModel
from sim.model.agents import Bank, Customer, Platform

ROOT = Path(__file__).resolve().parents[2]

MARKET = {
    "population": {"size": 600},
    "time": {"steps": 12},
    "products": {"payments": {"kind": "payments"}, "credit": {"kind": "credit"}},
    "banks": {
        "b": {"offers": {"payments": {"initial_share": 0.1}, "credit": {}},
              "branch": {"coverage": [1, 1, 1, 0], "spend": 51.2933},
              "referral": {"rate": 0.05}},
        "c": {"type": "city_commercial", "offers": {"payments": {}},
              "own_app": {"spend": 105.361, "followers": 0.2}},
    },
    "platforms": {"shop": {"type": "scenario", "users": 0.5, "offers": {"payments": {}}}},
    "partnerships": {"deal": {"bank": "b", "platform": "shop", "spend": 51.2933}},
}


@pytest.fixture(scope="module")
def market_scenario(make_scenario):
    return make_scenario(MARKET)


@pytest.fixture(scope="module")
def stepped(market_scenario):
    model = ChannelModel(market_scenario, seed=3)
    model.run(6)
    return model


def test_agents_are_customers_banks_and_platforms(stepped):
    model = stepped
    n = model.network.size
    assert n == 600
    assert len(model.agents) == n + 3 + len(getattr(model, "insurers", []))
    assert len(model.customers) == n and all(isinstance(a, Customer) for a in model.customers)
    assert [a.institution_id for a in model.banks] == ["b", "c"] and all(isinstance(a, Bank) for a in model.banks)
    assert [a.institution_id for a in model.platforms] == ["shop"] and isinstance(model.institution("shop"), Platform)
    assert model.institution("c").kind == "bank"
    with pytest.raises(KeyError, match="known"):
        model.institution("nobody")
    assert model.steps == 6


def test_customer_neighbours_match_the_adjacency(stepped):
    model = stepped
    for i in range(0, model.network.size, 37):
        customer = model.customer(i)
        assert customer.index == i
        assert sorted(a.index for a in customer.neighbors) == sorted(model.network.neighbours(i).tolist())
        assert sorted(model.network.graph.neighbors(i)) == sorted(model.network.neighbours(i).tolist())


def test_a_customer_shows_its_index_and_id_and_keeps_its_index(stepped):
    customer = stepped.customer(0)
    assert customer.unique_id == 1
    assert repr(customer) == f"Customer(index=0, unique_id=1, {customer.life_stage}, tier {customer.city_tier})"
    with pytest.raises(AttributeError, match="cannot be changed"):
        customer.index = 5
    assert customer.index == 0


def test_customer_holdings_mirror_the_state(stepped):
    model = stepped
    state, cat = model.state, model.catalog
    holders = np.flatnonzero((state.provider >= 0).any(axis=1))
    assert holders.size > 0
    for i in holders[:30]:
        holdings = model.customer(int(i)).holdings
        assert list(holdings) == ["payments", "credit"]
        for k, product in enumerate(cat.products):
            h = holdings[product]
            p = int(state.provider[i, k])
            assert h["provider"] == (cat.institution_ids[p] if p >= 0 else None)
            assert h["stage"] == STAGE_NAMES[state.stage[i, k]]
            assert h["since"] == (int(state.since[i, k]) if p >= 0 else None)
            ch = int(state.channel[i, k])
            assert h["channel"] == (cat.channels[ch] if ch >= 0 else None)
    customer = model.customer(int(holders[0]))
    assert customer.life_stage in ("student", "young_family", "mature") and 1 <= customer.city_tier <= 4
    assert 0 < customer.digital_affinity < 1
    assert all("/" in offer for offer in customer.aware_of)


def test_relationships_are_consistent(stepped):
    """One provider per product (held as one column per product), and stage, provider, since agree."""
    model = stepped
    state = model.state
    held = state.provider >= 0
    assert ((state.stage == Stage.ACTIVE) == held).all()
    assert (state.since[held] >= 0).all() and (state.since[held] <= model.steps).all()
    assert (state.since[~held] == -1).all()
    for o in range(model.catalog.n_offers):
        k, i = model.catalog.offer_product[o], model.catalog.offer_institution[o]
        assert state.aware[state.provider[:, k] == i, o].all(), "a customer holds an offer it is not aware of"
    # Each (customer, product) relationship counts once, for one institution.
    assert (model.ledger.customers.sum(axis=0) == held.sum(axis=0)).all()
    assert (model.ledger.customers.sum(axis=0) <= model.network.size).all()


def test_an_institutions_accounts_and_credit_are_its_row_of_the_institutions_table():
    scenario = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml", overrides={"population.size": 500})
    model = ChannelModel(scenario, seed=1)
    model.run(4)
    rows = model.tables()["institutions"].query("step == 4").set_index("institution")
    assert model.credit is not None and (rows.credit_profit != 0).any(), "a step with credit's profit in profit"
    for agent in [*model.banks, *model.platforms]:
        row = rows.loc[agent.institution_id]
        seen = {**agent.accounts, **agent.credit}
        assert {"profit", "interest_income", "credit_profit", "capital"} <= set(seen) <= set(row.index)
        for name, value in seen.items():
            assert value == row[name] or (np.isnan(value) and np.isnan(row[name])), (agent.institution_id, name)


def test_market_shares_sum_to_one_whenever_there_are_customers(stepped):
    institutions = stepped.tables()["institutions"]
    totals = institutions.groupby("step").agg(share=("market_share", "sum"), customers=("customers", "sum"))
    assert (totals.customers > 0).all()
    assert np.allclose(totals.share, 1.0)
    for product in ("payments", "credit"):
        per_product = institutions.groupby("step").agg(s=(f"share_{product}", "sum"), c=(f"customers_{product}", "sum"))
        assert np.allclose(per_product.s[per_product.c > 0], 1.0)


def test_tables_have_one_row_per_step_and_institution(stepped):
    tables = stepped.tables()
    market, institutions = tables["market"], tables["institutions"]
    assert market.step.tolist() == list(range(7))
    assert len(institutions) == 7 * 3
    for column in (
        "replication",
        "step",
        "aware",
        "active",
        "new_active",
        "referral_conversions",
        "promoters",
        "r_eff",
    ):
        assert column in market.columns
    for column in (
        "institution",
        "kind",
        "customers",
        "market_share",
        "new_customers",
        "cac",
        "revenue",
        "cost",
        "profit",
    ):
        assert column in institutions.columns
    assert market.active.iloc[-1] == int((stepped.state.provider >= 0).any(axis=1).sum())


def tables_of(scenario, seed, steps=8):
    model = ChannelModel(scenario, seed=seed)
    model.run(steps)
    return model.tables()


def test_same_seed_gives_identical_tables_and_another_seed_does_not(market_scenario):
    first, second, other = (tables_of(market_scenario, s) for s in (11, 11, 12))
    for name in ("market", "institutions", "channels", "funnel"):
        pd.testing.assert_frame_equal(first[name], second[name])
    assert not first["market"].equals(other["market"])


def test_run_model_stops_at_the_horizon_counted_after_the_burn_in(make_scenario):
    scenario = make_scenario(MARKET, {"time": {"steps": 4, "burn_in": 3}, "population": {"size": 300}})
    model = ChannelModel(scenario, seed=5)
    assert model.running and model.steps == 0
    step, calls = model.step, []

    def bounded_step():
        calls.append(model.steps + 1)
        if len(calls) > 10:
            raise AssertionError("run_model() did not stop at the horizon")
        step()

    model.step = bounded_step
    model.run_model()
    assert calls == [1, 2, 3, 4] and not model.running
    by_run = ChannelModel(scenario, seed=5)
    by_run.run()
    for name in ("market", "institutions"):
        pd.testing.assert_frame_equal(model.tables()[name], by_run.tables()[name])
    # Stepping by hand past the horizon still works.
    model.step()
    assert model.steps == 5 and model.tables()["market"].step.max() == 5 and not model.running


def test_a_seed_sequence_is_a_seed_and_a_generator_is_refused(market_scenario):
    by_int = tables_of(market_scenario, 11, steps=3)
    by_sequence = tables_of(market_scenario, np.random.SeedSequence(11), steps=3)
    pd.testing.assert_frame_equal(by_int["institutions"], by_sequence["institutions"])
    with pytest.raises(TypeError, match="int, a numpy.random.SeedSequence or None; got Generator"):
        ChannelModel(market_scenario, seed=np.random.default_rng(1))


def test_replication_k_of_a_run_equals_that_replication_alone(make_scenario):
    scenario = make_scenario(MARKET, {"time": {"steps": 6}, "population": {"size": 300}})
    result = sim.run(scenario, replications=3, seed=21)
    assert sorted(result.market.replication.unique()) == [0, 1, 2]
    alone = run_replication(scenario, 21, 2)
    for name, table in alone.items():
        from_run = result.tables[name]
        from_run = from_run[from_run.replication == 2].reset_index(drop=True)
        pd.testing.assert_frame_equal(from_run, table.reset_index(drop=True), check_dtype=False)
    # Replications differ from one another (independent streams, not copies).
    m = result.market
    assert (
        not m[m.replication == 0]
        .active.reset_index(drop=True)
        .equals(m[m.replication == 1].active.reset_index(drop=True))
    )


def test_a_timeline_event_acts_at_its_step_and_not_before(make_scenario):
    scenario = make_scenario({
        "population": {"size": 400},
        "time": {"steps": 8},
        "funnel": {"interest": 0.0},
        "banks": {"b": {"branch": {"coverage": [1, 1, 1, 1], "spend": 0.0}}},
        "events": [{"at": 4, "set": {"banks.b.branch.spend": 1.0e5}, "label": "branches open"}],
    })
    model = ChannelModel(scenario, seed=5)
    for step in range(1, 4):
        model.step()
        assert model.catalog.branch_spend[0] == 0.0
        assert model.institution("b").levers.branch.spend == 0.0
        assert not model.state.aware.any(), f"exposure before the event, at step {step}"
    model.step()
    assert model.steps == 4
    assert model.catalog.branch_spend[0] == 1.0e5                      # p = 1 - exp(-100) = 1 on the unit curve
    assert model.institution("b").levers.branch.spend == 1.0e5
    assert model.current_scenario().banks["b"].branch.spend == 1.0e5
    assert model.scenario.banks["b"].branch.spend == 0.0                # the scenario as loaded
    assert [(c.step, c.owner, c.path, c.before, c.after) for c in model.levers.log] == [
        (4, "banks.b", "branch.spend", 0.0, 1.0e5)]
    assert model.state.aware[:, 0].all()
    market = model.tables()["market"]
    assert market.set_index("step").loc[4, "funnel_entries"] == 400


def test_ending_a_partnership_stops_its_channel(make_scenario):
    scenario = make_scenario({
        "population": {"size": 1_000},
        "time": {"steps": 8},
        "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0, "approve": 1.0},
        "banks": {"b": {"referral": {"enabled": False}}},
        "platforms": {"shop": {"type": "scenario", "users": 1.0}},
        "partnerships": {"deal": {"bank": "b", "platform": "shop", "spend": 105.361}},
        "events": [{"at": 4, "set": {"partnerships.deal.active": False}}],
    })
    model = ChannelModel(scenario, seed=6)
    model.run(7)
    channels = model.tables()["channels"]
    platform = channels[channels.channel == "platform:shop"].set_index("step")
    assert (platform.loc[1:3, "new_customers"] > 0).all()
    assert platform.index.max() == 3, "the platform channel still acquired or spent after the partnership ended"


def test_an_event_that_starts_an_employee_programme_has_employees_sharing(make_scenario):
    """Launching employee self-media (SF3) mid-run hires employees who share from then on."""
    scenario = make_scenario({
        "population": {"size": 500},
        "time": {"steps": 6},
        "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0, "approve": 1.0},
        "banks": {"b": {"employee_media": {"staff_share": 0.0, "share_rate": 0.5, "cost_per_employee": 2.0}}},
        "events": [{"at": 3, "set": {"banks.b.employee_media.staff_share": 0.1}},
                   {"at": 5, "set": {"banks.b.employee_media.staff_share": 0.04}}],
    })
    model = ChannelModel(scenario, seed=1)
    model.run(2)
    assert np.count_nonzero(model.state.employer == 0) == 0
    model.run(2)
    assert np.count_nonzero(model.state.employer == 0) == 50
    model.run(1)
    assert np.count_nonzero(model.state.employer == 0) == 20
    market = model.tables()["market"].set_index("step")
    assert market.loc[[1, 2], "employee_conversions"].sum() == 0
    assert market.loc[[3, 4], "employee_conversions"].sum() > 0
    # The programme costs its cost per employee times the employees.
    spend = model.tables()["channels"].query("channel == 'employee'").set_index("step")["spend"]
    assert spend.loc[3] == spend.loc[4] == 2.0 * 50 and spend.loc[5] == 2.0 * 20
