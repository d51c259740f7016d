"""The Mesa side of the customers is built on first access, and is then what an eager build gives.

A run never reads the networkx graph, the ``Network`` space or the Customer
agents, so :class:`~sim.model.ChannelModel` builds them only when a
researcher asks (``model.customers``, ``model.agents``, ``model.grid``,
``model.customer(i)``).  These tests check that building and running a model
does not build them, and that asking for them gives the agents, ids, cells
and order an eager build would.
"""

from __future__ import annotations

import pandas as pd
import pytest

import sim
from sim.model import ChannelModel
from sim.model.agents import Bank, Customer, Insurer, Platform

SCENARIO = {
    "population": {"size": 400},
    "time": {"steps": 5},
    "products": {"payments": {"kind": "payments"}, "loan": {"kind": "credit"}},
    "banks": {
        "b": {"offers": {"payments": {"initial_share": 0.1}, "loan": {"initial_share": 0.05}},
              "branch": {"coverage": [1, 1, 1, 0], "spend": 51.2933}, "referral": {"rate": 0.05}},
        "c": {"type": "city_commercial", "offers": {"payments": {}}, "own_app": {"spend": 105.361}},
    },
    "platforms": {"shop": {"type": "scenario", "users": 0.5, "offers": {"payments": {}}}},
    "partnerships": {"deal": {"bank": "b", "platform": "shop", "spend": 51.2933}},
}


@pytest.fixture(scope="module")
def scenario(make_scenario):
    return make_scenario(SCENARIO)


def assert_mesa_side_not_built(model: ChannelModel) -> None:
    assert model.network._graph is None, "the networkx graph was built"
    assert model._grid is None, "the Mesa Network space was built"
    assert model._customer_list is None and Customer not in model._agents_by_type, "Customer agents were created"


def test_building_running_and_tables_do_not_build_the_mesa_side(scenario):
    model = ChannelModel(scenario, seed=4)
    assert_mesa_side_not_built(model)
    model.run()
    model.tables()
    model.loans()
    assert [b.institution_id for b in model.banks] == ["b", "c"]
    assert model.institution("shop").kind == "platform"
    assert_mesa_side_not_built(model)


def test_sim_run_never_creates_customer_agents(scenario, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the Mesa side was built during sim.run")

    monkeypatch.setattr(Customer, "__init__", refuse)
    monkeypatch.setattr("sim.model.model.Network", refuse)
    monkeypatch.setattr("sim.network.graph.graph_of", refuse)
    sim.run(scenario, replications=1, seed=2)


def test_accessing_the_mesa_side_gives_the_eager_build(scenario):
    model = ChannelModel(scenario, seed=4)
    model.run(3)
    n = model.network.size
    institutions = [*model.banks, *model.platforms, *model.insurers]
    customers = model.customers
    # Ids as an eager build gives them: customers 1..n in node order, then the institutions.
    assert [c.unique_id for c in customers] == list(range(1, n + 1))
    assert [c.index for c in customers] == list(range(n))
    assert [a.unique_id for a in institutions] == list(range(n + 1, n + 1 + len(institutions)))
    # model.agents holds them all, customers first; agents_by_type likewise.
    assert list(model.agents) == [*customers, *institutions]
    assert list(model.agents_by_type)[0] is Customer
    assert set(model.agent_types) >= {Customer, Bank, Platform}
    assert model.banks is model.agents_by_type[Bank] and isinstance(model.institution("shop"), Platform)
    assert Insurer not in model.agent_types or len(model.insurers) == len(model.agents_by_type[Insurer])
    # Each customer sits in its node's cell of the space, alone.
    assert model.customer(7) is list(customers)[7]
    for i in range(0, n, 23):
        customer = model.customer(i)
        assert customer.cell is model.grid[i] and customer.cell.coordinate == i
        assert list(customer.cell.agents) == [customer]
        assert sorted(a.index for a in customer.neighbors) == sorted(model.network.neighbours(i).tolist())
    # Built once: asking again gives the same objects.
    assert model.customers is customers and model.grid is model.grid
    assert len(model.agents) == n + len(institutions)


def test_reading_the_grid_first_places_every_customer_in_its_cell(scenario):
    model = ChannelModel(scenario, seed=4)
    grid = model.grid
    assert [list(grid[i].agents) for i in range(model.network.size)] == [[c] for c in model.customers]
    assert grid[10].agents[0].index == 10 and grid[10].agents[0] is model.customer(10)
    assert model.grid is grid and len(model.customers) == model.network.size, "built once"


@pytest.mark.parametrize("index", [-1, 400])
def test_a_customer_index_out_of_range_is_refused_with_the_range(scenario, index):
    model = ChannelModel(scenario, seed=4)
    with pytest.raises(IndexError, match=r"customer index -?\d+ is out of range: the customers are 0\.\.399"):
        model.customer(index)
    assert model.customer(399).index == 399


def test_accessing_the_mesa_side_does_not_change_the_run(scenario):
    lazy, eager = ChannelModel(scenario, seed=9), ChannelModel(scenario, seed=9)
    assert len(eager.customers) == scenario.population.size
    lazy.run()
    eager.run()
    for name, frame in lazy.tables().items():
        pd.testing.assert_frame_equal(frame, eager.tables()[name], obj=name)
    assert [c.unique_id for c in lazy.customers] == [c.unique_id for c in eager.customers]
    assert [a.unique_id for a in lazy.banks] == [a.unique_id for a in eager.banks]


def test_a_customer_created_after_the_reserved_block_gets_the_next_free_id(scenario):
    model = ChannelModel(scenario, seed=4)
    n = model.network.size
    last = max(a.unique_id for a in model.agents)
    extra = Customer(model, 0, model.grid[0])
    assert last == n + len(model.banks) + len(model.platforms) + len(model.insurers)
    assert extra.unique_id == last + 1
