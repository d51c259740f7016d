"""Pure game theory on payoff arrays: best responses, pure Nash equilibria, ε, iterated best response.

A finite game of ``n`` players with menus of ``m_1, ..., m_n`` strategies is
given by an array ``payoffs`` of shape ``(m_1, ..., m_n, n)``:
``payoffs[s][i]`` is player ``i``'s payoff at the strategy profile ``s`` (a
tuple of strategy indices).  Nothing here runs a model, so the functions can
be checked on games whose answers are known; :mod:`sim.experiments.game`
fills the arrays with simulated payoffs.

- Player ``i``'s **gain** from deviating at ``s`` to ``t`` is
  ``u_i(t, s_-i) − u_i(s)``; its **best responses** to ``s_-i`` are the
  strategies of greatest payoff (ties all count).
- ``ε(s)`` is the largest gain any player gets from a unilateral deviation
  (at least 0, deviating to one's own strategy gains nothing); ``s`` is a
  **pure Nash equilibrium** when ``ε(s) = 0`` (up to ``tol``): an
  ε-equilibrium in the sense of Radner (1980).
- **Iterated best response** (sequential, "Gauss–Seidel"): players in turn
  switch to a best response to the others, keeping their strategy when it is
  already one; a full round without a switch ends at a pure Nash
  equilibrium, a profile met again before that is a cycle (Fudenberg &
  Levine 1998, ch. 2).

Entries that are NaN (profiles not evaluated) make the quantities that need
them NaN too.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Profile = tuple[int, ...]


def _check(payoffs: np.ndarray) -> np.ndarray:
    payoffs = np.asarray(payoffs, dtype=float)
    n = payoffs.ndim - 1
    assert n >= 1 and payoffs.shape[-1] == n, (
        f"payoffs must have shape (m_1, ..., m_n, n), got {payoffs.shape}")
    return payoffs


def all_profiles(sizes: Sequence[int]) -> list[Profile]:
    """Every profile of menus of ``sizes`` strategies, the last player's strategy varying fastest."""
    return [tuple(p) for p in itertools.product(*(range(m) for m in sizes))]


def deviations(payoffs: np.ndarray, player: int) -> np.ndarray:
    """Player ``player``'s gain from every deviation at every profile.

    Returns
    -------
    ndarray, shape (m_1, ..., m_n, m_player)
        ``out[s][t] = u_i(t, s_-i) − u_i(s)``.
    """
    payoffs = _check(payoffs)
    own = payoffs[..., player]                                   # (m_1..m_n)
    alternatives = np.moveaxis(own, player, -1)                  # u_i(t, s_-i) with t last, s_i gone
    alternatives = np.expand_dims(alternatives, player)          # broadcast over s_i
    return alternatives - own[..., None]


def gains(payoffs: np.ndarray) -> np.ndarray:
    """Each player's largest gain from a unilateral deviation, shape ``(m_1, ..., m_n, n)``; at least 0."""
    payoffs = _check(payoffs)
    n = payoffs.shape[-1]
    return np.stack([deviations(payoffs, i).max(axis=-1) for i in range(n)], axis=-1)


def epsilon(payoffs: np.ndarray) -> np.ndarray:
    """``ε(s)``: the largest gain any player gets by deviating alone, shape ``(m_1, ..., m_n)``."""
    return gains(payoffs).max(axis=-1)


def is_best_response(payoffs: np.ndarray, tol: float = 0.0) -> np.ndarray:
    """Whether each player's strategy at each profile is a best response to the others, ``(m_1, ..., m_n, n)``."""
    return gains(payoffs) <= tol


def best_responses(payoffs: np.ndarray, player: int, profile: Sequence[int], tol: float = 0.0) -> list[int]:
    """Player ``player``'s best responses to the others' strategies in ``profile`` (its own entry is ignored)."""
    payoffs = _check(payoffs)
    index = list(profile)
    index[player] = slice(None)
    values = payoffs[tuple(index)][:, player]
    if np.isnan(values).any():
        return []
    return [int(t) for t in np.flatnonzero(values >= values.max() - tol)]


def pure_nash(payoffs: np.ndarray, tol: float = 0.0) -> list[Profile]:
    """The pure Nash equilibria: profiles where no player gains more than ``tol`` by deviating alone."""
    eps = epsilon(payoffs)
    return [tuple(int(i) for i in s) for s in np.argwhere(eps <= tol)]


@dataclass
class IteratedBestResponse:
    """The path of iterated best response and how it ended.

    ``path`` holds the profile after each switch (the start first);
    ``equilibrium`` the profile it converged to (None if it did not);
    ``cycle`` the profiles of a cycle it fell into; ``rounds`` the rounds
    played; ``evaluated`` every profile whose payoffs it asked for.
    """

    path: list[Profile]
    equilibrium: Profile | None
    cycle: list[Profile] = field(default_factory=list)
    rounds: int = 0
    evaluated: set[Profile] = field(default_factory=set)

    @property
    def converged(self) -> bool:
        return self.equilibrium is not None


def iterated_best_response(evaluate: Callable[[list[Profile]], Sequence[Sequence[float]]], sizes: Sequence[int],
                           start: Sequence[int], max_rounds: int = 20, tol: float = 0.0) -> IteratedBestResponse:
    """Sequential best-response dynamics from ``start``.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(profiles) -> payoffs``, one payoff vector (one entry per
        player) per profile; called with one player's deviations at a time,
        never with a profile already evaluated, so a simulation can run each
        batch in parallel.
    sizes : sequence of int
        Menu size of each player.
    start : sequence of int
        The starting profile.
    max_rounds : int
        Rounds (each player moves once per round) before giving up.
    tol : float
        A strategy is kept unless another gains more than ``tol``.

    Returns
    -------
    IteratedBestResponse
    """
    known: dict[Profile, np.ndarray] = {}

    def payoff(profiles: list[Profile]) -> list[np.ndarray]:
        missing = [p for p in dict.fromkeys(profiles) if p not in known]
        if missing:
            for p, value in zip(missing, evaluate(missing), strict=True):
                known[p] = np.asarray(value, dtype=float)
        return [known[p] for p in profiles]

    current: Profile = tuple(int(s) for s in start)
    path: list[Profile] = [current]
    seen: dict[tuple[Profile, int], int] = {}   # (profile, player who just moved) -> its place in the path
    for rounds in range(1, max_rounds + 1):
        switched = False
        for i, m in enumerate(sizes):
            options = [(*current[:i], t, *current[i + 1:]) for t in range(m)]
            values = np.array([v[i] for v in payoff(options)])
            if values[current[i]] >= values.max() - tol:
                continue
            current = options[int(np.argmax(values))]
            switched = True
            path.append(current)
            if (current, i) in seen:
                cycle = path[seen[current, i]:-1]
                return IteratedBestResponse(path, None, cycle, rounds, set(known))
            seen[current, i] = len(path) - 1
        if not switched:
            return IteratedBestResponse(path, current, [], rounds, set(known))
    return IteratedBestResponse(path, None, [], max_rounds, set(known))


__all__ = ["IteratedBestResponse", "Profile", "all_profiles", "best_responses", "deviations", "epsilon", "gains",
           "is_best_response", "iterated_best_response", "pure_nash"]
