"""Tests of the social-network builders (:mod:`sim.network`).

Mean-degree tolerances come from each generator's variance: for G(n, p) the
edge count is Binomial(n(n-1)/2, p), so the mean degree has standard
deviation about sqrt(2z/n); Watts–Strogatz and Barabási–Albert fix the edge
count exactly.
"""

from __future__ import annotations

import textwrap

import networkx as nx
import numpy as np
import pytest

import sim
from sim.errors import ScenarioError
from sim.model import ChannelModel
from sim.network import build_network
from sim.network.edgelist import edge_list_network
from sim.network.generators import (COMPLETE_GRAPH_LIMIT, barabasi_albert_network, complete_network,
                                    erdos_renyi_network, stochastic_block_network, watts_strogatz_network)
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


@pytest.mark.parametrize("n, z", [(5_000, 10.0), (2_000, 3.5)])
def test_erdos_renyi_size_and_mean_degree(n, z):
    network = erdos_renyi_network(n, z, rng(1))
    assert network.size == n
    assert_simple_undirected(network)
    assert abs(network.mean_degree - z) < 4 * np.sqrt(2 * z / n)
    # Poisson degrees: variance close to the mean.
    assert network.degree.var() == pytest.approx(z, rel=0.15)


def test_watts_strogatz_keeps_degree_k_exactly_on_average():
    network = watts_strogatz_network(3_000, 10, 0.1, rng(2))
    assert network.size == 3_000
    assert_simple_undirected(network)
    assert network.mean_degree == 10.0
    lattice = watts_strogatz_network(1_000, 6, 0.0, rng(3))
    assert (lattice.degree == 6).all()
    assert nx.average_clustering(lattice.graph) == pytest.approx(0.6)     # 3(k-2)/(4(k-1)) for k = 6


def test_barabasi_albert_edges_and_heavy_tail():
    n, m = 5_000, 5
    ba = barabasi_albert_network(n, m, rng(4))
    assert ba.size == n
    assert_simple_undirected(ba)
    assert ba.mean_degree == pytest.approx(2 * m * (n - m) / n)
    assert ba.degree.min() >= m
    er = erdos_renyi_network(n, ba.mean_degree, rng(5))
    # Scale-free tail: hubs far beyond anything a Poisson graph of the same mean degree has.
    assert ba.degree.max() > 3 * er.degree.max()
    assert np.mean(ba.degree > 3 * ba.mean_degree) > 20 * max(np.mean(er.degree > 3 * er.mean_degree), 1 / n)


def test_stochastic_block_within_and_between_degrees():
    n, within, between = 3_000, 8.0, 2.0
    network = stochastic_block_network(n, [1 / 3, 1 / 3, 1 / 3], within, between, rng(6),
                                       ["a", "b", "c"], [True, False, False])
    assert network.size == n
    assert_simple_undirected(network)
    community = network.community
    assert np.bincount(community).tolist() == [1_000, 1_000, 1_000]
    assert network.community_names == ["a", "b", "c"] and network.sanctioning.tolist() == [True, False, False]
    # Blocks are shuffled over the customer indices, not contiguous.
    assert len(set(community[:100].tolist())) == 3
    a = network.adjacency.tocoo()
    same = community[a.row] == community[a.col]
    for block in range(3):
        members = community == block
        size = members.sum()
        w = np.bincount(a.row[same], minlength=n)[members].mean()
        b = np.bincount(a.row[~same], minlength=n)[members].mean()
        assert abs(w - within) < 4 * np.sqrt(2 * within / size), (block, w)   # each edge counted twice
        assert abs(b - between) < 4 * np.sqrt(between / size), (block, b)


def test_stochastic_block_uneven_shares_keep_the_overall_between_degree():
    """With unequal blocks the between-block probability is symmetrised, so only the overall mean is exact."""
    n = 3_000
    network = stochastic_block_network(n, [0.7, 0.2, 0.1], 6.0, 1.5, rng(7))
    assert np.bincount(network.community).tolist() == [2_100, 600, 300]
    assert_simple_undirected(network)
    a = network.adjacency.tocoo()
    between = np.count_nonzero(network.community[a.row] != network.community[a.col]) / n
    assert abs(between - 1.5) < 4 * np.sqrt(2 * 1.5 / n)


def test_complete_graph_and_its_size_limit():
    network = complete_network(50, rng(8))
    assert network.size == 50 and (network.degree == 49).all()
    assert_simple_undirected(network)
    with pytest.raises(ValueError, match=str(COMPLETE_GRAPH_LIMIT)):
        complete_network(COMPLETE_GRAPH_LIMIT + 1, rng(9))


def test_complete_graph_limit_is_a_scenario_error(make_scenario):
    with pytest.raises(ScenarioError) as info:   # refused when the scenario is validated, before any model
        make_scenario({"network": {"kind": "complete"}, "population": {"size": COMPLETE_GRAPH_LIMIT + 1}})
    message = str(info.value)
    assert "network" in message and str(COMPLETE_GRAPH_LIMIT) in message


def test_generators_are_seeded_by_the_stream():
    a = erdos_renyi_network(500, 6, rng(10)).adjacency
    b = erdos_renyi_network(500, 6, rng(10)).adjacency
    c = erdos_renyi_network(500, 6, rng(11)).adjacency
    assert (a != b).nnz == 0
    assert (a != c).nnz > 0


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
