"""The social network as the model uses it: a sparse adjacency, and a graph for Mesa built on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass
class SocialNetwork:
    """A customer network: node ``i`` is customer ``i``.

    The CSR adjacency is the network; the networkx graph is a view of it for
    :class:`mesa.discrete_space.Network`, built on first access of
    :attr:`graph` (a million-node graph costs seconds and gigabytes, and the
    vectorised kernels never need it).

    Attributes
    ----------
    adjacency : scipy.sparse.csr_array
        Symmetric 0/1 adjacency (float32, int64 indices, sorted, no
        self-loops) used by the vectorised kernels.
    community : ndarray of int32
        Community of each node (block of a stochastic block model, a column of
        a node file, or 0).
    community_names : list of str
        Name of each community id.
    sanctioning : ndarray of bool
        Whether each community sanctions defaulters (SF1).
    node_attributes : DataFrame or None
        Per-node attributes read from a node file (index = node), if any.
    """

    adjacency: sp.csr_array
    community: np.ndarray
    community_names: list[str] = field(default_factory=lambda: ["all"])
    sanctioning: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=bool))
    node_attributes: pd.DataFrame | None = None
    _graph: nx.Graph | None = field(default=None, repr=False, compare=False)

    @property
    def graph(self) -> nx.Graph:
        """The network as a networkx graph on nodes ``0..n-1`` with exactly the adjacency's edges."""
        if self._graph is None:
            self._graph = graph_of(self.adjacency)
        return self._graph

    @property
    def size(self) -> int:
        return self.adjacency.shape[0]

    @property
    def degree(self) -> np.ndarray:
        return np.diff(self.adjacency.indptr)

    @property
    def mean_degree(self) -> float:
        return float(self.degree.mean())

    def neighbours(self, node: int) -> np.ndarray:
        """Customer indices adjacent to ``node``."""
        a = self.adjacency
        return a.indices[a.indptr[node]: a.indptr[node + 1]]


def adjacency_from_edges(n: int, source: np.ndarray, target: np.ndarray) -> sp.csr_array:
    """Symmetric float32 CSR adjacency on ``n`` nodes from undirected edges ``source[i]``–``target[i]``.

    The edges must be simple: no self-loops and no pair listed twice (in
    either orientation); this is asserted, since the generators guarantee it.
    """
    source = np.asarray(source, dtype=np.int64)
    target = np.asarray(target, dtype=np.int64)
    assert not np.any(source == target), "self-loop in a generated edge list"
    rows = np.concatenate([source, target])
    cols = np.concatenate([target, source])
    matrix = sp.csr_array((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    assert matrix.nnz == rows.size, "duplicate edge in a generated edge list"
    if matrix.indices.dtype != np.int64:   # the kernels index with int64 whatever the size
        matrix.indices = matrix.indices.astype(np.int64)
        matrix.indptr = matrix.indptr.astype(np.int64)
    return matrix


def graph_of(adjacency: sp.csr_array) -> nx.Graph:
    """The networkx graph of a symmetric adjacency: nodes ``0..n-1`` in order, one edge per nonzero pair."""
    n = adjacency.shape[0]
    upper = sp.triu(adjacency, k=1).tocoo()
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(upper.row.tolist(), upper.col.tolist(), strict=True))
    return graph


def adjacency_of(graph: nx.Graph, n: int) -> sp.csr_array:
    """Symmetric float32 CSR adjacency of a graph on nodes 0..n-1, without self-loops."""
    edges = np.fromiter((v for e in graph.edges() for v in e), dtype=np.int64, count=2 * graph.number_of_edges())
    edges = edges.reshape(-1, 2)
    edges = edges[edges[:, 0] != edges[:, 1]]
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    data = np.ones(rows.size, dtype=np.float32)
    matrix = sp.csr_array((data, (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _labels(n: int, community, community_names, sanctioning):
    if community is None:
        community = np.zeros(n, dtype=np.int32)
    community = np.asarray(community, dtype=np.int32)
    names = (
        list(community_names)
        if community_names is not None
        else [str(c) for c in range(int(community.max(initial=0)) + 1)]
    )
    if sanctioning is None:
        sanctioning = np.zeros(len(names), dtype=bool)
    return community, names, np.asarray(sanctioning, dtype=bool)


def from_edges(n: int, source: np.ndarray, target: np.ndarray, community: np.ndarray | None = None,
               community_names=None, sanctioning=None, node_attributes: pd.DataFrame | None = None) -> SocialNetwork:
    """A SocialNetwork on ``n`` nodes from simple undirected edges (see :func:`adjacency_from_edges`).

    No networkx graph is built: :attr:`SocialNetwork.graph` makes one on first access.
    """
    community, names, sanctioning = _labels(n, community, community_names, sanctioning)
    return SocialNetwork(adjacency_from_edges(n, source, target), community, names, sanctioning, node_attributes)

