"""Tests of :mod:`sim.network`: the dispatcher and networks read from files.

The generators' statistical tests are in ``tests/network/test_generators.py``.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import sim
from sim.errors import ScenarioError
from sim.model import ChannelModel
from sim.network import build_network
from sim.network.edgelist import edge_list_network
from sim.network.generators import COMPLETE_GRAPH_LIMIT
from sim.scenario.loader import validate_data


def assert_simple_undirected(network) -> None:
    """Symmetric 0/1 adjacency without self-loops, agreeing with the networkx graph."""
    a = network.adjacency
    assert a.shape == (network.size, network.size)
    assert (a != a.T).nnz == 0, "adjacency is not symmetric"
    assert a.diagonal().sum() == 0, "self-loops"
    assert np.all(a.data == 1)
    assert a.nnz == 2 * network.graph.number_of_edges()
    assert sorted(network.graph.nodes) == list(range(network.size))
    for u, v in list(network.graph.edges)[:200]:
        assert v in network.neighbours(u) and u in network.neighbours(v)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_complete_graph_limit_is_a_scenario_error(make_scenario):
    with pytest.raises(ScenarioError) as info:   # refused when the scenario is validated, before any model
        make_scenario({"network": {"kind": "complete"}, "population": {"size": COMPLETE_GRAPH_LIMIT + 1}})
    message = str(info.value)
    assert "network" in message and str(COMPLETE_GRAPH_LIMIT) in message


@pytest.mark.parametrize("spec, n", [
    ({"kind": "erdos_renyi", "mean_degree": 4}, 300),
    ({"kind": "watts_strogatz", "mean_degree": 4, "rewiring": 0.2}, 300),
    ({"kind": "barabasi_albert", "attachment": 2}, 300),
    ({"kind": "stochastic_block", "blocks": {"x": {"share": 0.5}, "y": {"share": 0.5}}}, 300),
    ({"kind": "complete"}, 40),
])
def test_build_network_dispatches_every_kind(make_scenario, spec, n):
    scenario = make_scenario({"network": spec, "population": {"size": n}})
    network = build_network(scenario.network, n, rng(12))
    assert network.size == n
    assert_simple_undirected(network)


# ------------------------------------------------------------------ edge lists
def write(path, text: str):
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_edge_list_without_node_file_uses_the_ids_it_names(tmp_path):
    edges = write(tmp_path / "edges.csv", """
        source,target
        alice,bob
        bob,carol
        carol,alice
        dave,alice
        dave,dave
        """)
    network = edge_list_network(edges)
    assert network.size == 4
    # The self-loop is dropped from both the adjacency and the graph Mesa sits on, so a
    # customer's Mesa neighbours match the kernels' (it used to stay in the graph only).
    assert network.graph.number_of_edges() == 4
    assert_simple_undirected(network)
    assert sorted(network.degree.tolist()) == [1, 2, 2, 3]


def test_edge_list_with_node_file_keeps_isolated_nodes_and_attributes(tmp_path):
    write(tmp_path / "edges.csv", """
        source,target
        a,b
        b,c
        """)
    write(tmp_path / "nodes.csv", """
        id,life_stage,city_tier,community
        a,student,1,alumni
        b,mature,4,alumni
        c,,2,village
        d,young_family,,village
        """)
    scenario_file = write(tmp_path / "net.yaml", """
        name: net
        population: {size: 4}
        network: {kind: edge_list, path: edges.csv, nodes: nodes.csv}
        banks: {b: {type: state, offers: {payments: {}}}}
        """)
    model = ChannelModel(sim.load_scenario(scenario_file), seed=1)
    assert model.network.size == 4
    assert model.network.degree.tolist() == [1, 2, 1, 0]
    assert [model.customer(i).life_stage for i in (0, 1, 3)] == ["student", "mature", "young_family"]
    assert [model.customer(i).city_tier for i in (0, 1, 2)] == [1, 4, 2]
    assert [model.customer(i).community for i in range(4)] == ["alumni", "alumni", "village", "village"]
    assert model.customer(3).neighbors == []


def test_edge_list_unknown_node_id_names_file_and_row(tmp_path):
    edges = write(tmp_path / "edges.csv", """
        source,target
        a,b
        b,zed
        """)
    nodes = write(tmp_path / "nodes.csv", """
        id
        a
        b
        """)
    with pytest.raises(ScenarioError) as info:
        edge_list_network(edges, nodes)
    message = str(info.value)
    assert "edges.csv" in message and "row 3" in message and "zed" in message


def test_edge_list_missing_file_or_column(tmp_path):
    with pytest.raises(ScenarioError, match="not found"):
        edge_list_network(tmp_path / "absent.csv")
    bad = write(tmp_path / "bad.csv", """
        from,to
        a,b
        """)
    with pytest.raises(ScenarioError) as info:
        edge_list_network(bad)
    assert "bad.csv" in str(info.value) and "source" in str(info.value)


def test_edge_list_size_mismatch_is_reported(tmp_path):
    write(tmp_path / "edges.csv", "source,target\na,b\n")
    data = {"name": "x", "population": {"size": 10},
            "network": {"kind": "edge_list", "path": str(tmp_path / "edges.csv")},
            "banks": {"b": {"type": "state", "offers": {"payments": {}}}}}
    with pytest.raises(ScenarioError, match="population.size"):
        ChannelModel(validate_data(data, "x.yaml"), seed=1)
