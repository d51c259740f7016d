"""Network builders, one per generator, named after the model they build.

Each takes the number of customers, its parameters and a numpy ``Generator``
(the run's stream) and returns a :class:`~sim.network.graph.SocialNetwork`.
They wrap NetworkX's generators, which implement the published models.

References
----------
Erdős, P. and Rényi, A. (1959). On random graphs I. Publ. Math. Debrecen 6.
Watts, D. J. and Strogatz, S. H. (1998). Collective dynamics of "small-world"
networks. Nature 393, 440–442.
Barabási, A.-L. and Albert, R. (1999). Emergence of scaling in random
networks. Science 286, 509–512.
Holland, P. W., Laskey, K. B. and Leinhardt, S. (1983). Stochastic
blockmodels: first steps. Social Networks 5, 109–137.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from sim.network.graph import SocialNetwork, from_graph

COMPLETE_GRAPH_LIMIT = 3_000


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def erdos_renyi_network(n: int, mean_degree: float, rng: np.random.Generator) -> SocialNetwork:
    """G(n, p) with p = mean_degree / (n - 1): Poisson degrees, no clustering."""
    p = min(1.0, mean_degree / max(n - 1, 1))
    return from_graph(nx.fast_gnp_random_graph(n, p, seed=_seed(rng)))


def watts_strogatz_network(n: int, mean_degree: int, rewiring: float, rng: np.random.Generator) -> SocialNetwork:
    """Ring lattice of degree ``mean_degree`` with each edge rewired with probability ``rewiring``."""
    if mean_degree >= n:
        raise ValueError(f"mean_degree {mean_degree} must be below the population size {n}")
    return from_graph(nx.watts_strogatz_graph(n, mean_degree, rewiring, seed=_seed(rng)))


def barabasi_albert_network(n: int, attachment: int, rng: np.random.Generator) -> SocialNetwork:
    """Preferential attachment with ``attachment`` edges per new node (scale-free degrees)."""
    if attachment >= n:
        raise ValueError(f"attachment {attachment} must be below the population size {n}")
    return from_graph(nx.barabasi_albert_graph(n, attachment, seed=_seed(rng)))


def stochastic_block_network(n: int, shares: list[float], degree_within: float, degree_between: float,
                             rng: np.random.Generator, names: list[str] | None = None,
                             sanctioning: list[bool] | None = None) -> SocialNetwork:
    """Blocks of the given shares; mean degree ``degree_within`` inside a block, ``degree_between`` outside.

    Edge probabilities are ``degree_within / (size_b - 1)`` inside block b and
    ``degree_between / (n - size_b)`` between blocks (averaged over the pair).
    """
    sizes = np.floor(np.asarray(shares) * n).astype(int)
    sizes[np.argmax(sizes)] += n - sizes.sum()
    k = len(sizes)
    probs = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            if a == b:
                probs[a, b] = degree_within / max(sizes[a] - 1, 1)
            else:
                outside_a = max(n - sizes[a], 1)
                outside_b = max(n - sizes[b], 1)
                probs[a, b] = degree_between * 0.5 * (1 / outside_a + 1 / outside_b)
    probs = np.clip(probs, 0.0, 1.0)
    graph = nx.stochastic_block_model(sizes.tolist(), probs.tolist(), seed=_seed(rng), sparse=True)
    community = np.repeat(np.arange(k, dtype=np.int32), sizes)
    # Shuffle which customers sit in which block, so block and index are unrelated.
    order = rng.permutation(n)
    graph = nx.relabel_nodes(graph, {int(old): int(new) for old, new in zip(range(n), order)}, copy=True)
    community = community[np.argsort(order)]
    graph = nx.convert_node_labels_to_integers(graph, ordering="sorted")
    return from_graph(graph, community, names or [str(i) for i in range(k)], sanctioning)


def complete_network(n: int, rng: np.random.Generator) -> SocialNetwork:
    """Everyone connected to everyone (mean field); only for small populations."""
    if n > COMPLETE_GRAPH_LIMIT:
        raise ValueError(f"a complete graph of {n} nodes is too large (at most {COMPLETE_GRAPH_LIMIT})")
    return from_graph(nx.complete_graph(n))
