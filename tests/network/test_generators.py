"""Statistical tests of the network generators (:mod:`sim.network.generators`).

The generators draw the CSR adjacency directly with numpy; these tests check
that the distribution over graphs is the one of the published model (and of
the NetworkX generator of the same name), with tolerances from sampling
error:

- a count ``X ~ Binomial(N, p)`` is compared with ``|X - Np| < 4 sqrt(Np(1-p))``;
- a mean over ``R`` independent graphs is compared with a reference (a
  formula, or the mean over ``R`` NetworkX graphs) by a z-score
  ``|z| < 4`` with the standard error from the replicates;
- a whole distribution is compared with NetworkX's by a two-sample test with
  ``p > 1e-3``.

On tiny graphs every labelled pair's edge frequency over thousands of
graphs is compared with NetworkX's (or with ``p``).  That checks the
order-dependent parts exactly: the rewiring order of Watts–Strogatz, the
distinct-target rule of Barabási–Albert, where conflicts are frequent.
"""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from sim.network.generators import (
    COMPLETE_GRAPH_LIMIT,
    barabasi_albert_network,
    complete_network,
    erdos_renyi_network,
    stochastic_block_network,
    watts_strogatz_network,
)

Z = 4.0


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_simple_undirected(network) -> None:
    """Symmetric 0/1 float32 adjacency with sorted int64 indices and no self-loops."""
    a = network.adjacency
    assert a.shape == (network.size, network.size)
    assert a.dtype == np.float32 and a.indices.dtype == np.int64 and a.has_canonical_format
    assert (a != a.T).nnz == 0, "adjacency is not symmetric"
    assert a.diagonal().sum() == 0, "self-loops"
    assert np.all(a.data == 1)


def pair_frequencies(draw, n: int, reps: int) -> np.ndarray:
    """Share of ``reps`` graphs from ``draw(rep)`` (an adjacency) in which each pair ``i < j`` is an edge."""
    counts = np.zeros((n, n))
    for rep in range(reps):
        counts += draw(rep).toarray()
    return counts[np.triu_indices(n, 1)] / reps


def two_proportion_z(p1: np.ndarray, p2: np.ndarray, reps: int) -> np.ndarray:
    pooled = (p1 + p2) / 2
    se = np.sqrt(np.maximum(2 * pooled * (1 - pooled) / reps, 1e-12))
    return (p1 - p2) / se


def nx_adjacency(graph: nx.Graph):
    return nx.to_scipy_sparse_array(graph, nodelist=range(graph.number_of_nodes()))


# --------------------------------------------------------------------------- Erdős–Rényi
@pytest.mark.parametrize("n, z", [(20_000, 8.0), (2_000, 3.5)])
def test_erdos_renyi_degree_mean_and_variance_are_binomial(n, z):
    network = erdos_renyi_network(n, z, rng(1))
    assert network.size == n
    assert_simple_undirected(network)
    p = z / (n - 1)
    # 2M/n with M ~ Binomial(n(n-1)/2, p): sd sqrt(2 z (1-p) / n).
    assert abs(network.mean_degree - z) < Z * np.sqrt(2 * z * (1 - p) / n)
    # Degrees ~ Binomial(n-1, p); the sample variance has sd about sqrt((2 s^4 + s^2 ...)/n), s^2 = z(1-p).
    variance = z * (1 - p)
    assert abs(network.degree.var() - variance) < Z * np.sqrt((2 * variance**2 + variance) / n)


def test_erdos_renyi_edge_count_is_binomial_over_replications():
    n, z, reps = 60, 3.0, 400
    pairs, p = n * (n - 1) // 2, z / (n - 1)
    counts = np.array([erdos_renyi_network(n, z, rng(100 + r)).adjacency.nnz // 2 for r in range(reps)])
    assert abs(counts.mean() - pairs * p) < Z * np.sqrt(pairs * p * (1 - p) / reps)
    # Variance of a Binomial: the sample variance's sd is about var sqrt(2/reps).
    assert abs(counts.var(ddof=1) / (pairs * p * (1 - p)) - 1) < Z * np.sqrt(2 / reps)


def test_erdos_renyi_every_pair_has_probability_p():
    n, z, reps = 8, 2.1, 3_000
    freq = pair_frequencies(lambda r: erdos_renyi_network(n, z, rng(r)).adjacency, n, reps)
    p = z / (n - 1)
    assert np.all(np.abs(freq - p) < Z * np.sqrt(p * (1 - p) / reps)), freq


# --------------------------------------------------------------------------- Watts–Strogatz
def test_watts_strogatz_edge_count_degrees_and_lattice():
    n, k = 3_000, 10
    network = watts_strogatz_network(n, k, 0.1, rng(2))
    assert network.size == n
    assert_simple_undirected(network)
    assert network.adjacency.nnz == n * k          # n k / 2 edges, each stored twice
    assert network.degree.min() >= k // 2          # every node keeps the edges it rewires
    lattice = watts_strogatz_network(1_000, 6, 0.0, rng(3))
    assert (lattice.degree == 6).all()
    assert nx.average_clustering(lattice.graph) == pytest.approx(0.6)     # 3(k-2)/(4(k-1)) for k = 6
    full = watts_strogatz_network(200, 8, 1.0, rng(4))
    assert full.adjacency.nnz == 200 * 8


@pytest.mark.slow
def test_watts_strogatz_clustering_matches_networkx_and_the_formula():
    """Average clustering against networkx's generator; transitivity against Barrat–Weigt.

    Barrat and Weigt (2000): a lattice triangle survives when none of its
    three edges is rewired, so the triangle count is C(0)(1-p)^3 of the
    lattice's, C(0) = 3(k-2)/(4(k-1)).  The connected triples grow with the
    degree variance, Var d = (k/2) p (2 - p) (kept and rewired edge ends), so
    transitivity ~ C(0)(1-p)^3 k(k-1) / (k(k-1) + Var d); the terms left out
    are O(k/n).
    """
    n, k, p, reps = 3_000, 10, 0.1, 8
    ours = [watts_strogatz_network(n, k, p, rng(20 + r)).graph for r in range(reps)]
    theirs = [nx.watts_strogatz_graph(n, k, p, seed=40 + r) for r in range(reps)]
    c_ours = np.array([nx.average_clustering(g) for g in ours])
    c_theirs = np.array([nx.average_clustering(g) for g in theirs])
    se = np.sqrt((c_ours.var(ddof=1) + c_theirs.var(ddof=1)) / reps)
    assert abs(c_ours.mean() - c_theirs.mean()) < Z * se, (c_ours.mean(), c_theirs.mean(), se)

    t_ours = np.array([nx.transitivity(g) for g in ours])
    c0 = 3 * (k - 2) / (4 * (k - 1))
    expected = c0 * (1 - p) ** 3 * k * (k - 1) / (k * (k - 1) + k / 2 * p * (2 - p))
    se = max(t_ours.std(ddof=1), np.array([nx.transitivity(g) for g in theirs]).std(ddof=1)) / np.sqrt(reps)
    assert abs(t_ours.mean() - expected) < Z * se + k / n, (t_ours.mean(), expected, se)

    degrees_ours = np.concatenate([[d for _, d in g.degree()] for g in ours])
    degrees_theirs = np.concatenate([[d for _, d in g.degree()] for g in theirs])
    assert abs(degrees_ours.var() - k / 2 * p * (2 - p)) < 0.05
    assert stats.ks_2samp(degrees_ours, degrees_theirs).pvalue > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("n, k, p", [(7, 2, 0.5), (7, 4, 0.6), (6, 4, 0.5)])
def test_watts_strogatz_pair_frequencies_match_networkx_on_tiny_graphs(n, k, p):
    """Tiny rings, where conflicts (self-loops, duplicates, full nodes) are the rule, not the exception."""
    reps = 2_500
    ours = pair_frequencies(lambda r: watts_strogatz_network(n, k, p, rng(r)).adjacency, n, reps)
    theirs = pair_frequencies(lambda r: nx_adjacency(nx.watts_strogatz_graph(n, k, p, seed=10_000 + r)), n, reps)
    assert np.all(np.abs(two_proportion_z(ours, theirs, reps)) < Z), np.round(ours - theirs, 3)


# --------------------------------------------------------------------------- Barabási–Albert
def test_barabasi_albert_edges_and_heavy_tail():
    n, m = 5_000, 5
    ba = barabasi_albert_network(n, m, rng(4))
    assert ba.size == n
    assert_simple_undirected(ba)
    assert ba.adjacency.nnz == 2 * m * (n - m)
    assert ba.degree.min() >= m
    er = erdos_renyi_network(n, ba.mean_degree, rng(5))
    # Scale-free tail: hubs far beyond anything a Poisson graph of the same mean degree has.
    assert ba.degree.max() > 3 * er.degree.max()
    assert np.mean(ba.degree > 3 * ba.mean_degree) > 20 * max(np.mean(er.degree > 3 * er.mean_degree), 1 / n)


def test_barabasi_albert_degree_distribution_matches_networkx():
    n, m = 20_000, 3
    ours = np.concatenate([barabasi_albert_network(n, m, rng(30 + r)).degree for r in range(2)])
    theirs = np.concatenate([[d for _, d in nx.barabasi_albert_graph(n, m, seed=50 + r).degree()] for r in range(2)])
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3
    # The tail P(d >= x) ~ x^-2 (density exponent 3): compare the share beyond 8m as a proportion.
    q_ours, q_theirs = np.mean(ours >= 8 * m), np.mean(theirs >= 8 * m)
    assert abs(two_proportion_z(q_ours, q_theirs, ours.size)) < Z


@pytest.mark.slow
@pytest.mark.parametrize("n, m", [(7, 2), (6, 3), (5, 1)])
def test_barabasi_albert_pair_frequencies_match_networkx_on_tiny_graphs(n, m):
    """Early nodes, where the m targets repeat a node often and are redrawn."""
    reps = 2_500
    ours = pair_frequencies(lambda r: barabasi_albert_network(n, m, rng(r)).adjacency, n, reps)
    theirs = pair_frequencies(lambda r: nx_adjacency(nx.barabasi_albert_graph(n, m, seed=10_000 + r)), n, reps)
    assert np.all(np.abs(two_proportion_z(ours, theirs, reps)) < Z), np.round(ours - theirs, 3)


# --------------------------------------------------------------------------- stochastic block model
def block_pair_counts(network, k: int) -> np.ndarray:
    a = network.adjacency.tocoo()
    upper = a.row < a.col
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (network.community[a.row[upper]], network.community[a.col[upper]]), 1)
    return counts + counts.T - np.diag(np.diag(counts))


@pytest.mark.parametrize("shares", [[1 / 3, 1 / 3, 1 / 3], [0.6, 0.25, 0.15]])
def test_stochastic_block_densities_are_binomial_per_block_pair(shares):
    n, within, between = 6_000, 8.0, 2.0
    network = stochastic_block_network(n, shares, within, between, rng(6), ["a", "b", "c"], [True, False, False])
    assert network.size == n
    assert_simple_undirected(network)
    assert network.community_names == ["a", "b", "c"] and network.sanctioning.tolist() == [True, False, False]
    sizes = np.bincount(network.community)
    assert sizes.sum() == n and np.all(np.abs(sizes - np.asarray(shares) * n) <= len(shares))
    # Blocks are shuffled over the customer indices, not contiguous.
    assert len(set(network.community[:100].tolist())) == 3
    counts = block_pair_counts(network, 3)
    for a in range(3):
        for b in range(a, 3):
            if a == b:
                pairs, p = sizes[a] * (sizes[a] - 1) / 2, within / (sizes[a] - 1)
            else:
                pairs = sizes[a] * sizes[b]
                p = between * 0.5 * (1 / (n - sizes[a]) + 1 / (n - sizes[b]))
            assert abs(counts[a, b] - pairs * p) < Z * np.sqrt(pairs * p * (1 - p)), (a, b, counts[a, b], pairs * p)


def test_stochastic_block_every_pair_has_its_blocks_probability():
    n, reps = 6, 3_000
    # The block layout differs from draw to draw: read it back from each.
    same, cross, same_n, cross_n = 0, 0, 0, 0
    for r in range(reps):
        network = stochastic_block_network(n, [0.5, 0.5], 1.2, 0.9, rng(r))
        dense = network.adjacency.toarray()[np.triu_indices(n, 1)]
        c = network.community
        is_same = (c[:, None] == c[None, :])[np.triu_indices(n, 1)]
        same += dense[is_same].sum()
        cross += dense[~is_same].sum()
        same_n += is_same.sum()
        cross_n += (~is_same).sum()
    p_same, p_cross = 1.2 / 2, 0.9 * 0.5 * (1 / 3 + 1 / 3)
    assert abs(same / same_n - p_same) < Z * np.sqrt(p_same * (1 - p_same) / same_n)
    assert abs(cross / cross_n - p_cross) < Z * np.sqrt(p_cross * (1 - p_cross) / cross_n)


# --------------------------------------------------------------------------- complete graph
def test_complete_graph_and_its_size_limit():
    network = complete_network(50, rng(8))
    assert network.size == 50 and (network.degree == 49).all()
    assert_simple_undirected(network)
    with pytest.raises(ValueError, match=str(COMPLETE_GRAPH_LIMIT)):
        complete_network(COMPLETE_GRAPH_LIMIT + 1, rng(9))


# --------------------------------------------------------------------------- seeds and the lazy graph
BUILDERS = {
    "erdos_renyi": lambda g: erdos_renyi_network(500, 6, g),
    "watts_strogatz": lambda g: watts_strogatz_network(500, 6, 0.2, g),
    "barabasi_albert": lambda g: barabasi_albert_network(500, 3, g),
    "stochastic_block": lambda g: stochastic_block_network(500, [0.5, 0.5], 6.0, 1.0, g),
}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_generators_draw_only_from_the_stream_they_are_given(kind):
    build = BUILDERS[kind]
    global_numpy, global_random = np.random.get_state()[1].copy(), random.getstate()
    a = build(rng(10)).adjacency
    assert (a != build(rng(10)).adjacency).nnz == 0
    assert (a != build(rng(11)).adjacency).nnz > 0
    assert np.array_equal(np.random.get_state()[1], global_numpy) and random.getstate() == global_random


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_graph_is_built_on_first_access_and_equals_the_adjacency(kind):
    network = BUILDERS[kind](rng(12))
    assert network._graph is None, "the networkx graph was built eagerly"
    graph = network.graph
    assert graph is network.graph
    assert list(graph.nodes) == list(range(network.size))
    assert graph.number_of_edges() == network.adjacency.nnz // 2
    assert (nx_adjacency(graph) != network.adjacency).nnz == 0
    assert not any(data for _, _, data in graph.edges(data=True)), "edges carry no attributes"
