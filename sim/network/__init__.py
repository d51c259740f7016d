"""Social networks: builders per generator, file input, and the dispatcher."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.errors import ScenarioError
from sim.network.edgelist import edge_list_network
from sim.network.generators import (
    barabasi_albert_network,
    complete_network,
    erdos_renyi_network,
    stochastic_block_network,
    watts_strogatz_network,
)
from sim.network.graph import SocialNetwork

__all__ = ["SocialNetwork", "build_network"]


def build_network(spec, n: int, rng: np.random.Generator, base_dir: Path | None = None) -> SocialNetwork:
    """Build the network a scenario's ``network:`` block describes, for ``n`` customers."""
    try:
        if spec.kind == "erdos_renyi":
            return erdos_renyi_network(n, spec.mean_degree, rng)
        if spec.kind == "watts_strogatz":
            return watts_strogatz_network(n, spec.mean_degree, spec.rewiring, rng)
        if spec.kind == "barabasi_albert":
            return barabasi_albert_network(n, spec.attachment, rng)
        if spec.kind == "stochastic_block":
            names = list(spec.blocks)
            return stochastic_block_network(
                n, [b.share for b in spec.blocks.values()], spec.degree_within, spec.degree_between, rng,
                names, [b.sanctioning for b in spec.blocks.values()])
        if spec.kind == "complete":
            return complete_network(n, rng)
    except ValueError as exc:
        raise ScenarioError.single(None, "network", str(exc)) from None
    if spec.kind == "edge_list":
        base = base_dir or Path.cwd()
        nodes = base / spec.nodes if spec.nodes else None
        return edge_list_network(base / spec.path, nodes)
    raise AssertionError(f"unhandled network kind {spec.kind!r}")
