"""The social network as the model uses it: a sparse adjacency plus a graph for Mesa."""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass
class SocialNetwork:
    """A customer network: node ``i`` is customer ``i``.

    Attributes
    ----------
    graph : networkx.Graph
        Nodes ``0..n-1``; given to :class:`mesa.discrete_space.Network`.
    adjacency : scipy.sparse.csr_array
        Symmetric 0/1 adjacency (float32) used by the vectorised kernels.
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

    graph: nx.Graph
    adjacency: sp.csr_array
    community: np.ndarray
    community_names: list[str] = field(default_factory=lambda: ["all"])
    sanctioning: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=bool))
    node_attributes: pd.DataFrame | None = None

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


def from_graph(graph: nx.Graph, community: np.ndarray | None = None, community_names=None,
               sanctioning=None, node_attributes=None) -> SocialNetwork:
    """Wrap a networkx graph on nodes 0..n-1 as a SocialNetwork."""
    n = graph.number_of_nodes()
    if community is None:
        community = np.zeros(n, dtype=np.int32)
    names = list(community_names) if community_names is not None else [str(c) for c in range(int(community.max()) + 1)]
    if sanctioning is None:
        sanctioning = np.zeros(len(names), dtype=bool)
    return SocialNetwork(graph, adjacency_of(graph, n), community.astype(np.int32), names,
                         np.asarray(sanctioning, dtype=bool), node_attributes)
