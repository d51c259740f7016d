"""Best responses, pure Nash equilibria, ε and iterated best response on games whose answers are known."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.experiments.game_theory import (
    all_profiles,
    best_responses,
    epsilon,
    gains,
    is_best_response,
    iterated_best_response,
    pure_nash,
)

# Strategy 0 = no bonus ("cooperate"), 1 = pay a referral bonus ("defect"): a bonus war.
REWARD, SUCKER, TEMPTATION, PUNISHMENT = 300.0, 0.0, 500.0, 100.0


def bonus_war() -> np.ndarray:
    """A prisoners'-dilemma-shaped bonus game: payoffs[s_a, s_b] = (u_a, u_b)."""
    u = np.empty((2, 2, 2))
    u[0, 0] = (REWARD, REWARD)
    u[0, 1] = (SUCKER, TEMPTATION)
    u[1, 0] = (TEMPTATION, SUCKER)
    u[1, 1] = (PUNISHMENT, PUNISHMENT)
    return u


def coordination() -> np.ndarray:
    """Both banks join the same platform (A = 0, B = 1) or lose; A pays more."""
    u = np.zeros((2, 2, 2))
    u[0, 0] = (2.0, 2.0)
    u[1, 1] = (1.0, 1.0)
    return u


def matching_pennies() -> np.ndarray:
    u = np.empty((2, 2, 2))
    for a, b in itertools.product(range(2), range(2)):
        win = 1.0 if a == b else -1.0
        u[a, b] = (win, -win)
    return u


def lookup(u: np.ndarray, calls: list | None = None):
    def evaluate(profiles):
        if calls is not None:
            calls.append(list(profiles))
        return [u[p] for p in profiles]
    return evaluate


def test_bonus_war_has_the_unique_equilibrium_both_pay_and_cooperation_is_temptation_minus_reward_away():
    u = bonus_war()
    assert pure_nash(u) == [(1, 1)]
    eps = epsilon(u)
    assert eps[0, 0] == TEMPTATION - REWARD          # either bank gains the temptation by defecting alone
    assert eps[1, 1] == 0.0
    assert eps[0, 1] == eps[1, 0] == PUNISHMENT - SUCKER   # the sucker gains by paying too
    # Paying is a best response to anything: a dominant strategy
    for b in range(2):
        assert best_responses(u, 0, (0, b)) == [1]
        assert best_responses(u, 1, (b, 0)) == [1]


def test_coordination_game_has_both_pure_equilibria():
    u = coordination()
    assert pure_nash(u) == [(0, 0), (1, 1)]
    eps = epsilon(u)
    assert eps[0, 1] == 2.0 and eps[1, 0] == 2.0       # the best switch is onto the better platform
    assert best_responses(u, 0, (0, 1)) == [1]


def test_matching_pennies_has_no_pure_equilibrium_and_positive_epsilon_everywhere():
    u = matching_pennies()
    assert pure_nash(u) == []
    assert np.all(epsilon(u) == 2.0)


def test_ties_are_all_best_responses_and_count_as_equilibria():
    u = np.zeros((3, 2, 2))
    assert best_responses(u, 0, (1, 1)) == [0, 1, 2]
    assert len(pure_nash(u)) == 6
    assert is_best_response(u).all()


def test_gains_and_epsilon_agree_with_brute_force_on_a_random_three_player_game():
    rng = np.random.default_rng(5)
    sizes = (3, 2, 4)
    u = rng.normal(size=(*sizes, 3))
    g = gains(u)
    for s in all_profiles(sizes):
        for i in range(3):
            best = max(u[(*s[:i], t, *s[i + 1:])][i] for t in range(sizes[i]))
            assert g[(*s, i)] == pytest.approx(best - u[s][i], abs=1e-12)
    naive = [s for s in all_profiles(sizes) if all(g[(*s, i)] <= 0 for i in range(3))]
    assert pure_nash(u) == naive
    assert epsilon(u).shape == sizes


def test_iterated_best_response_reaches_the_bonus_war_equilibrium_evaluating_each_profile_once():
    calls: list = []
    result = iterated_best_response(lookup(bonus_war(), calls), (2, 2), (0, 0))
    assert result.converged and result.equilibrium == (1, 1)
    assert result.path[0] == (0, 0) and result.path[-1] == (1, 1)
    asked = [p for batch in calls for p in batch]
    assert len(asked) == len(set(asked))                # never asks twice for a profile


@pytest.mark.parametrize("start, end", [((0, 1), (1, 1)), ((1, 1), (1, 1)), ((1, 0), (0, 0)), ((0, 0), (0, 0))])
def test_iterated_best_response_in_the_coordination_game_settles_where_the_start_leads(start, end):
    # The first player moves first: from (A, B) it joins B, the second's platform.
    result = iterated_best_response(lookup(coordination(), None), (2, 2), start)
    assert result.equilibrium == end


def test_iterated_best_response_finds_the_equilibrium_of_a_larger_game_with_a_unique_one():
    # Cournot on a grid of quantities 0..5, demand 12.5 - Q: best replies (12.5 - S) / 2 never tie, and the
    # one equilibrium is q = 3 each (the continuous one, 12.5 / 4, rounded).
    sizes = (6, 6, 6)
    q = np.arange(6.0)
    u = np.empty((*sizes, 3))
    for s in all_profiles(sizes):
        total = sum(q[list(s)])
        u[s] = [q[si] * (12.5 - total) for si in s]
    equilibria = pure_nash(u)
    assert equilibria == [(3, 3, 3)]
    result = iterated_best_response(lookup(u), sizes, (0, 0, 0))
    assert result.equilibrium == (3, 3, 3)
    assert len(result.evaluated) < np.prod(sizes)       # the search saw only part of the game


def test_iterated_best_response_reports_the_cycle_of_matching_pennies():
    result = iterated_best_response(lookup(matching_pennies()), (2, 2), (0, 0), max_rounds=10)
    assert not result.converged
    assert sorted(result.cycle) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_iterated_best_response_stops_after_max_rounds():
    result = iterated_best_response(lookup(matching_pennies()), (2, 2), (0, 0), max_rounds=1)
    assert not result.converged and result.rounds == 1 and not result.cycle
