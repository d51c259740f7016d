"""Logit–Bertrand through ``python -m sim game``: the price-grid game's equilibrium is the analytic Nash price.

The duopoly of ``test_logit_bertrand.py`` (two banks, one product, every
customer aware and re-choosing every step by a logit on ``−α·price``), with
``fixed`` policies: each bank's strategy is a price on the grid
``c + {1, 1.5, 2, 2.5, 3}/α`` and its payoff is its profit summed over the
run (``reduce: total``).  With shares ``s_x = 1/(1 + exp(−α(p_y − p_x)))``
the expected payoff is

    π_x(p_x, p_y) = T·((p_x − c)·N·s_x − k),

``k`` the bank's marketing spend per step (the same for every price, so it
cancels in every gain).  On π itself, ``(p*, p*)`` with ``p* = c + 2/α`` is
an equilibrium by a wide margin (a switch to a neighbouring price loses
~0.056 per customer-step).  Because the best reply has slope 1/2 near p*,
the symmetric neighbours ``(p* ± 0.5/α, p* ± 0.5/α)`` are near ties
(ε ≈ ±0.005 per customer-step; analytically ``(c + 2.5/α, c + 2.5/α)`` is a
weak equilibrium too): the simulated game must find ``(p*, p*)`` as a clear
equilibrium and may find only those neighbours besides.

Noise.  Bank x's profit in one step is ``(p_x − c)·B`` with ``B`` binomial
``(N, s_x)``, so a run's total has sd ``σ = (p_x − c)·sqrt(T·N·s_x(1 − s_x))``
and the mean over R replications of a switch's gain has sd at most
``sqrt(σ_a² + σ_b²)/sqrt(R)`` (common random numbers only shrink it).  With
N = 4,000, T = 24, R = 4, every switch from ``(p*, p*)`` loses by 22 of those
sd; every profile other than the three near ties has a switch that gains by
more than 18 sd; the near ties are within 2.6 sd (the margins are asserted on
π before any simulation).  Each simulated gain must match its analytic value
within 4 sd.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sim.experiments.game import run_game
from sim.scenario import with_overrides
from tests.validation.test_logit_bertrand import ALPHA, COST, N, duopoly

GRID = [COST + k / ALPHA for k in (1.0, 1.5, 2.0, 2.5, 3.0)]
NASH = COST + 2.0 / ALPHA
STEPS, REPLICATIONS, MARGIN_SD = 24, 4, 6.0


def share(p_own: float, p_rival: float) -> float:
    return 1.0 / (1.0 + math.exp(-ALPHA * (p_rival - p_own)))


def analytic_payoffs() -> np.ndarray:
    """``π[i, j, player]`` without the spend term (a constant per bank: it cancels in every gain)."""
    m = len(GRID)
    pi = np.zeros((m, m, 2))
    for i, j in itertools.product(range(m), range(m)):
        pi[i, j, 0] = STEPS * (GRID[i] - COST) * N * share(GRID[i], GRID[j])
        pi[i, j, 1] = STEPS * (GRID[j] - COST) * N * share(GRID[j], GRID[i])
    return pi


def sd_total(p_own: float, p_rival: float) -> float:
    s = share(p_own, p_rival)
    return (p_own - COST) * math.sqrt(STEPS * N * s * (1 - s))


def price_game():
    strategies = {b: {f"p{k}": {"label": f"price {p:g}", "set": {f"banks.{b}.offers.payments.price": p}}
                      for k, p in enumerate(GRID)} for b in ("x", "y")}
    scenario = duopoly(GRID[0], GRID[0])
    return with_overrides(scenario, {
        "time.steps": STEPS, "banks.x.policy": {"kind": "fixed"}, "banks.y.policy": {"kind": "fixed"},
        "game": {"players": {b: {"strategies": strategies[b]} for b in ("x", "y")},
                 "payoff": {"metric": "profit", "reduce": "total"}, "replications": REPLICATIONS},
    })


def gain_noise(own: float, alternative: float, rival: float) -> float:
    """Sd of the mean over the replications of a switch's simulated gain (independent draws; CRN only shrink it)."""
    return math.hypot(sd_total(own, rival), sd_total(alternative, rival)) / math.sqrt(REPLICATIONS)


def analytic_epsilon_in_sd() -> np.ndarray:
    """Per profile, the largest analytic gain of a unilateral switch, in sd of its simulated estimate (≤ 0: Nash)."""
    pi, m = analytic_payoffs(), len(GRID)
    eps = np.full((m, m), -np.inf)
    for i, j in itertools.product(range(m), range(m)):
        for t in range(m):
            if t != i:
                eps[i, j] = max(eps[i, j], (pi[t, j, 0] - pi[i, j, 0]) / gain_noise(GRID[i], GRID[t], GRID[j]))
            if t != j:
                eps[i, j] = max(eps[i, j], (pi[i, t, 1] - pi[i, j, 1]) / gain_noise(GRID[j], GRID[t], GRID[i]))
    return eps


def near_ties() -> list[tuple[int, int]]:
    """Profiles no sampling error of this size could tell from an equilibrium: analytic ε ≤ 5 sd."""
    eps = analytic_epsilon_in_sd()
    return [tuple(int(k) for k in p) for p in np.argwhere(eps <= 5.0)]


def test_the_grid_game_has_the_nash_price_as_a_clear_equilibrium_and_only_its_neighbours_as_near_ties():
    """The analytic grid game, before any simulation: what the simulated game may and must find.

    Near p* the best reply has slope exactly 1/2 (implicit differentiation of
    ``α(p − c)(1 − s) = 1`` at ``s = 1/2``), so against a rival one grid step
    away the best reply lies half-way between two grid points: the symmetric
    neighbours of p* are near ties (ε ≈ ±0.005 per customer-step), on any grid.
    """
    nash = GRID.index(NASH)
    eps = analytic_epsilon_in_sd()
    assert eps[nash, nash] < -MARGIN_SD                 # every switch from (p*, p*) loses by more than 6 sd
    ties = near_ties()
    assert (nash, nash) in ties
    assert set(ties) <= {(nash + d, nash + d) for d in (-1, 0, 1)}, ties
    others = [eps[i, j] for i, j in itertools.product(range(len(GRID)), repeat=2) if (i, j) not in ties]
    assert min(others) > 5.0


@pytest.mark.slow
def test_the_game_command_finds_the_logit_nash_price_on_the_grid(tmp_path):
    result = run_game(price_game(), out=tmp_path / "game", backend="serial", progress=False)
    nash = GRID.index(NASH)
    found = result.equilibria()
    assert (nash, nash) in found
    assert set(found) <= set(near_ties()), found
    eps = result.epsilons().set_index("profile")
    assert bool(eps.loc[nash * len(GRID) + nash, "clear"])      # every switch's 95% interval below zero
    # The simulated gains of every unilateral switch agree with the analytic ones within 4 sd of their mean.
    pi = analytic_payoffs()
    deviations = result.deviations()
    assert len(deviations) == 25 * 2 * 4
    for row in deviations.to_dict("records"):
        i, j = int(row["strategy"][1:]), int(row["deviation"][1:])
        me, rival = (0, "y") if row["player"] == "x" else (1, "x")
        other = int(row[f"strategy.{rival}"][1:])
        profile, switched = ((i, other), (j, other)) if me == 0 else ((other, i), (other, j))
        expected = pi[(*switched, me)] - pi[(*profile, me)]
        noise = gain_noise(GRID[i], GRID[j], GRID[other])
        assert abs(row["gain"] - expected) < 4 * noise, (row, expected, noise)
