"""Network builders, one per generator, named after the model they build.

Each takes the number of customers, its parameters and a numpy ``Generator``
(the run's stream) and returns a :class:`~sim.network.graph.SocialNetwork`
whose CSR adjacency is built directly from vectorised draws: the cost is
linear in the number of edges, and every draw comes from the ``Generator``
passed in.  Each builder draws from the same distribution over graphs as the
NetworkX generator of the same name (``fast_gnp_random_graph``,
``watts_strogatz_graph``, ``barabasi_albert_graph``,
``stochastic_block_model``), which the tests check statistically; the draws
themselves differ.

References
----------
Erdős, P. and Rényi, A. (1959). On random graphs I. Publ. Math. Debrecen 6.
Watts, D. J. and Strogatz, S. H. (1998). Collective dynamics of "small-world"
networks. Nature 393, 440–442.
Barabási, A.-L. and Albert, R. (1999). Emergence of scaling in random
networks. Science 286, 509–512.
Holland, P. W., Laskey, K. B. and Leinhardt, S. (1983). Stochastic
blockmodels: first steps. Social Networks 5, 109–137.
Batagelj, V. and Brandes, U. (2005). Efficient generation of large random
networks. Physical Review E 71, 036113 (the repeated-nodes list of
preferential attachment).
"""

from __future__ import annotations

import numpy as np

from sim.network.graph import SocialNetwork, from_edges

COMPLETE_GRAPH_LIMIT = 3_000


# --------------------------------------------------------------------------- helpers
def _distinct(rng: np.random.Generator, population: int, count: int) -> np.ndarray:
    """``count`` distinct integers drawn uniformly from ``0..population-1`` (a uniform ``count``-subset).

    NumPy uses Floyd's algorithm when ``count`` is small against the
    population and a partial shuffle otherwise, so the cost is O(count) for
    sparse graphs and at most O(50 count) otherwise.
    """
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    return rng.choice(population, size=count, replace=False, shuffle=False).astype(np.int64, copy=False)


def _pair_of_index(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map ``k`` in ``0..s(s-1)/2-1`` to the pair ``(i, j)``, ``j < i``, of the row-by-row lower triangle."""
    index = np.asarray(index, dtype=np.int64)
    i = ((1.0 + np.sqrt(1.0 + 8.0 * index.astype(np.float64))) / 2.0).astype(np.int64)
    i -= (i * (i - 1) // 2) > index          # float rounding, at most one either way
    i += ((i + 1) * i // 2) <= index
    return i, index - i * (i - 1) // 2


def _gnp_pairs(rng: np.random.Generator, size: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """Edges of G(size, p) on nodes ``0..size-1``: a Binomial number of edges, then that many distinct pairs."""
    pairs = size * (size - 1) // 2
    count = int(rng.binomial(pairs, p)) if pairs and p > 0 else 0
    return _pair_of_index(_distinct(rng, pairs, count))


# --------------------------------------------------------------------------- Erdős–Rényi
def erdos_renyi_network(n: int, mean_degree: float, rng: np.random.Generator) -> SocialNetwork:
    """G(n, p) with p = mean_degree / (n - 1): Poisson degrees, no clustering.

    Each of the n(n-1)/2 pairs is an edge independently with probability p,
    drawn exactly as: the number of edges ``M ~ Binomial(n(n-1)/2, p)``, then
    ``M`` distinct pairs uniformly.  Cost O(n + M).
    """
    p = min(1.0, mean_degree / max(n - 1, 1))
    source, target = _gnp_pairs(rng, n, p)
    return from_edges(n, source, target)


# --------------------------------------------------------------------------- Watts–Strogatz
def watts_strogatz_network(n: int, mean_degree: int, rewiring: float, rng: np.random.Generator) -> SocialNetwork:
    """Ring lattice of degree ``mean_degree`` with each edge rewired with probability ``rewiring``.

    The semantics of :func:`networkx.watts_strogatz_graph`: the lattice edges
    ``(u, u + j)`` are visited distance by distance (``j = 1..k/2``), node by
    node; each is rewired with probability ``rewiring`` by replacing its far
    end with a node drawn uniformly among those that are neither ``u`` nor
    already adjacent to ``u`` at that moment (left as it is if ``u`` is
    adjacent to everyone).  The edge count stays ``n k/2``.

    Notes
    -----
    All rewiring decisions and a first candidate per rewired edge are drawn
    at once.  A candidate is accepted when it is valid given the edges
    before it, which holds for all but about ``(k + 1)/n`` of them; those
    few are resolved in visiting order by redrawing, exactly as the
    sequential algorithm does, and only the later edges at the same node are
    checked again.  Cost O(n k) plus O(n k) per conflict (about
    ``rewiring (k + 1) k / 2`` conflicts whatever ``n``).
    """
    if mean_degree >= n:
        raise ValueError(f"mean_degree {mean_degree} must be below the population size {n}")
    half = mean_degree // 2
    distance = np.repeat(np.arange(1, half + 1, dtype=np.int64), n)
    lattice_source = np.tile(np.arange(n, dtype=np.int64), half)          # edge e = (j - 1) n + u
    lattice_target = (lattice_source + distance) % n
    rewired = rng.random(lattice_source.size) < rewiring
    edge = np.flatnonzero(rewired)                                         # rewired edges, visiting order
    source = lattice_source[edge]
    candidate = rng.integers(0, n, size=edge.size, dtype=np.int64)
    active = np.ones(edge.size, dtype=bool)                                # False: left unrewired (u full)

    def lattice_present(u: np.ndarray, w: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Whether lattice edge {u, w} exists when edge ``at`` is visited (not yet visited, or kept)."""
        d = (w - u) % n
        forward = (d >= 1) & (d <= half)
        backward = (d >= n - half) & (d >= 1)
        index = np.where(forward, (d - 1) * n + u, (n - d - 1) * n + w)
        index = np.where(forward | backward, index, 0)
        return (forward | backward) & (~rewired[index] | (index >= at))

    def pair_key(u: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.minimum(u, w) * n + np.maximum(u, w)

    key = pair_key(source, candidate)
    conflict = (candidate == source) | lattice_present(source, candidate, edge)
    order = np.argsort(key, kind="stable")
    repeated = np.zeros(edge.size, dtype=bool)
    repeated[order[1:]] = key[order[1:]] == key[order[:-1]]                # a pair drawn by an earlier edge
    conflict |= repeated

    cursor = 0
    while True:
        pending = np.flatnonzero(conflict[cursor:])
        if pending.size == 0:
            break
        r = cursor + int(pending[0])
        u, at = int(source[r]), int(edge[r])
        forbidden = {u}
        for d in range(1, half + 1):
            for w in ((u + d) % n, (u - d) % n):
                if lattice_present(np.array([u]), np.array([w]), np.array([at]))[0]:
                    forbidden.add(w)
        before = active[:r]
        forbidden.update(candidate[:r][before & (source[:r] == u)].tolist())
        forbidden.update(source[:r][before & (candidate[:r] == u)].tolist())
        if len(forbidden) >= n:
            active[r] = False
            rewired[at] = False
        else:
            w = int(rng.integers(n))
            while w in forbidden:
                w = int(rng.integers(n))
            candidate[r] = w
            key[r] = u * n + w if u < w else w * n + u
        conflict[r] = False
        # Only later edges at node u can have changed status.
        later = r + 1 + np.flatnonzero((source[r + 1:] == u) | (candidate[r + 1:] == u))
        for q in later.tolist():
            conflict[q] = bool(candidate[q] == source[q]
                               or lattice_present(source[q:q + 1], candidate[q:q + 1], edge[q:q + 1])[0]
                               or np.any(key[:q][active[:q]] == key[q]))
        cursor = r + 1

    kept = ~rewired
    all_source = np.concatenate([lattice_source[kept], source[active]])
    all_target = np.concatenate([lattice_target[kept], candidate[active]])
    return from_edges(n, all_source, all_target)


# --------------------------------------------------------------------------- Barabási–Albert
def barabasi_albert_network(n: int, attachment: int, rng: np.random.Generator) -> SocialNetwork:
    """Preferential attachment with ``attachment`` edges per new node (scale-free degrees).

    The semantics of :func:`networkx.barabasi_albert_graph`: a star on nodes
    ``0..m``, then each node ``s = m+1..n-1`` joins ``m`` distinct earlier
    nodes, drawn by repeated uniform picks from the list holding every node
    once per edge end (so with probability proportional to degree) until
    ``m`` distinct ones are found.  ``m (n - m)`` edges.

    Notes
    -----
    The list is laid out in blocks of ``2m``: node ``s``'s ``m`` targets,
    then ``s`` itself ``m`` times.  Every pick is a uniform position in the
    list as it was before ``s``; a position in a target slot takes that
    slot's value, resolved for all picks at once by pointer jumping (the
    chains are short).  The few nodes whose first ``m`` picks repeat a node
    draw more picks, and the values are resolved again until nothing
    changes; the fixed point is the sequential algorithm's result.  Cost
    O(n m log(chain length)).
    """
    m = attachment
    if m >= n:
        raise ValueError(f"attachment {m} must be below the population size {n}")
    star_source = np.zeros(m, dtype=np.int64)
    star_target = np.arange(1, m + 1, dtype=np.int64)
    joining = n - m - 1
    if joining <= 0:
        return from_edges(n, star_source, star_target)
    block = 2 * m
    length_before = block * np.arange(1, joining + 1, dtype=np.int64)     # list length when node m+1+b picks
    picks = rng.integers(0, length_before[:, None], size=(joining, m), dtype=np.int64)
    extra: dict[int, np.ndarray] = {}
    chosen = picks.copy()

    def known_values(position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Value at each list position, or -1 with the target slot it copies."""
        blk, off = np.divmod(position, block)
        value = np.where(blk == 0, np.where(off < m, 0, off - m + 1), m + blk)
        slot = (blk - 1) * m + off
        open_ = (blk > 0) & (off < m)
        return np.where(open_, -1, value), np.where(open_, slot, -1)

    def resolve(chosen: np.ndarray) -> np.ndarray:
        value, pointer = known_values(chosen.ravel())
        todo = np.flatnonzero(value < 0)
        while todo.size:
            target = pointer[todo]
            got = value[target]
            done = got >= 0
            value[todo[done]] = got[done]
            todo, target = todo[~done], target[~done]
            pointer[todo] = pointer[target]                                  # jump: halves every chain
        return value.reshape(chosen.shape)

    while True:
        targets = resolve(chosen)
        ranked = np.sort(targets, axis=1)
        repeats = np.flatnonzero((ranked[:, 1:] == ranked[:, :-1]).any(axis=1))
        changed = False
        for b in sorted(set(repeats.tolist()) | set(extra)):
            sequence = np.concatenate([picks[b], extra[b]]) if b in extra else picks[b]
            while True:
                value, slot = known_values(sequence)
                value = np.where(value < 0, targets.ravel()[np.maximum(slot, 0)], value)
                _, first = np.unique(value, return_index=True)
                if first.size >= m:
                    break
                more = rng.integers(0, length_before[b], size=m, dtype=np.int64)
                extra[b] = np.concatenate([extra.get(b, np.zeros(0, np.int64)), more])
                sequence = np.concatenate([sequence, more])
            new = sequence[np.sort(first)[:m]]                               # the first m distinct picks
            if not np.array_equal(new, chosen[b]):
                chosen[b] = new
                changed = True
        if not changed:
            break

    joiner = np.repeat(np.arange(m + 1, n, dtype=np.int64), m)
    return from_edges(n, np.concatenate([star_source, joiner]), np.concatenate([star_target, targets.ravel()]))


# --------------------------------------------------------------------------- stochastic block model
def stochastic_block_network(n: int, shares: list[float], degree_within: float, degree_between: float,
                             rng: np.random.Generator, names: list[str] | None = None,
                             sanctioning: list[bool] | None = None) -> SocialNetwork:
    """Blocks of the given shares; mean degree ``degree_within`` inside a block, ``degree_between`` outside.

    Edge probabilities are ``degree_within / (size_b - 1)`` inside block b and
    ``degree_between / (n - size_b)`` between blocks (averaged over the pair).
    Each pair of nodes is an edge independently with its blocks' probability
    (as :func:`networkx.stochastic_block_model`), drawn per block pair as a
    Binomial edge count and that many distinct pairs: cost O(n + edges).
    Which customers sit in which block is a uniform random permutation, so
    block and index are unrelated.
    """
    sizes = np.floor(np.asarray(shares) * n).astype(np.int64)
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
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    sources, targets = [], []
    for a in range(k):
        i, j = _gnp_pairs(rng, int(sizes[a]), float(probs[a, a]))
        sources.append(start[a] + i)
        targets.append(start[a] + j)
        for b in range(a + 1, k):
            pairs = int(sizes[a] * sizes[b])
            count = int(rng.binomial(pairs, probs[a, b])) if pairs else 0
            i, j = np.divmod(_distinct(rng, pairs, count), sizes[b])
            sources.append(start[a] + i)
            targets.append(start[b] + j)
    # Node x of the block layout becomes customer order[x].
    order = rng.permutation(n)
    community = np.repeat(np.arange(k, dtype=np.int32), sizes)[np.argsort(order)]
    return from_edges(n, order[np.concatenate(sources)], order[np.concatenate(targets)], community,
                      names or [str(i) for i in range(k)], sanctioning)


# --------------------------------------------------------------------------- complete graph
def complete_network(n: int, rng: np.random.Generator) -> SocialNetwork:
    """Everyone connected to everyone (mean field); only for small populations."""
    if n > COMPLETE_GRAPH_LIMIT:
        raise ValueError(f"a complete graph of {n} nodes is too large (at most {COMPLETE_GRAPH_LIMIT})")
    source, target = np.triu_indices(n, k=1)
    return from_edges(n, source, target)
