"""Threshold mode reproduces the global-cascade window of Watts (2002).

Watts, D. J. (2002), "A simple model of global cascades on random networks",
PNAS 99(9), 5766–5771.  On a random graph with degree distribution p_k and
mean degree z, where every node adopts once a fraction phi of its neighbours
has, a single seed can start a global cascade only where the vulnerable
nodes (those tipped by one neighbour: k <= 1/phi) percolate:

    Σ_k k (k − 1) rho_k p_k > z,   rho_k = 1 for k <= 1/phi, else 0.

For Erdős–Rényi graphs (Poisson p_k) and phi = 0.18 the window is about
1 < z < 5.8 (Watts's Fig. 1).  We compute the window from the condition,
then run single-seed cascades with :func:`sim.core.risk.contagion.cascade`
(the kernel the model's threshold mode uses) on G(n, z/(n−1)) graphs from the
project's own generator, inside and well outside it.

Tolerances: with R = 100 cascades per point, a frequency of global cascades
p has standard error at most 0.05.  Inside the window (z = 2.5 and 4, where
frequencies are about 0.8) we require at least 0.5; well outside (z = 0.5
and 2 above the upper edge) at most 0.02 — two cascades in a hundred.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from sim.core.risk.contagion import cascade, watts_cascade_condition
from sim.network.generators import erdos_renyi_network

N = 10_000
GRAPHS, SEEDS_PER_GRAPH = 20, 5           # 100 single-seed cascades per point
GLOBAL = 0.1                               # a cascade reaching 10% of the network is global


def analytic_window(phi: float) -> tuple[float, float]:
    """The (lower, upper) mean degrees where the cascade condition changes sign."""
    def g(z):
        return watts_cascade_condition(z, phi)
    peak = max(np.linspace(1.0, 1.0 / phi, 200), key=g)
    return brentq(g, 0.2, peak), brentq(g, peak, 4.0 / phi)


def global_cascade_frequency(mean_degree: float, phi: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    sizes = []
    for _ in range(GRAPHS):
        network = erdos_renyi_network(N, mean_degree, rng)
        for start in rng.integers(0, N, SEEDS_PER_GRAPH):
            defaulted, _ = cascade(network.adjacency, [start], phi)
            sizes.append(defaulted.mean())
    return float(np.mean(np.asarray(sizes) > GLOBAL))


def test_analytic_window_matches_watts_figure_1():
    lower, upper = analytic_window(0.18)
    assert lower == pytest.approx(1.0, abs=0.1)
    assert upper == pytest.approx(5.8, abs=0.2)


@pytest.mark.slow
@pytest.mark.parametrize("phi", [0.18, 0.24])
def test_global_cascades_happen_inside_the_window_and_not_outside(phi):
    lower, upper = analytic_window(phi)
    inside = [lower + 0.4 * (upper - lower), lower + 0.75 * (upper - lower)]
    outside = [lower / 2, upper + 2.0]
    for i, z in enumerate(inside):
        assert global_cascade_frequency(z, phi, seed=100 + i) >= 0.5, (
            f"z = {z:.2f} is inside ({lower:.2f}, {upper:.2f})"
        )
    for i, z in enumerate(outside):
        assert global_cascade_frequency(z, phi, seed=200 + i) <= 0.02, (
            f"z = {z:.2f} is outside ({lower:.2f}, {upper:.2f})"
        )


def test_global_cascades_are_large_when_they_happen():
    """Inside the window a global cascade takes most of the network (Watts's Fig. 1b)."""
    rng = np.random.default_rng(7)
    network = erdos_renyi_network(N, 4.0, rng)
    sizes = [cascade(network.adjacency, [s], 0.18)[0].mean() for s in rng.integers(0, N, 20)]
    large = [s for s in sizes if s > GLOBAL]
    assert large and min(large) > 0.8
