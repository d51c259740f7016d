"""Checks of a scenario's ``game:`` block at load time: players, strategy paths, the payoff.

A game (``python -m sim game``) is refused before anything runs when a player
is not an institution of the scenario, a strategy sets a path that does not
exist or a value the schema refuses (checked the way events are: applied to
a copy of the scenario, which is validated), a strategy sets what only the
set-up decides (population, network, horizon), two players' strategies set the
same parameter to different values (a profile would be ambiguous), or the
payoff metric does not exist for a player's kind of institution.

Cross references (a data alliance with one member, say) are not checked per
strategy but per profile, when the game resolves its profiles: a strategy is
only ever played together with the others' strategies.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from sim.errors import Problem
from sim.scenario.paths import set_path
from sim.scenario.references import FIXED_DURING_RUN
from sim.scenario.schema import INSTITUTION_PAYOFFS, INSURER_PAYOFFS, LEVEL_PAYOFFS, Scenario

#: Top-level blocks a strategy cannot set: the set-up every profile shares, and the game itself.
FIXED_IN_GAME = (*FIXED_DURING_RUN, "products", "game")


#: Turns pydantic's errors on a mapping into Problems under a key prefix (the loader's ``validation_problems``).
ProblemsOf = Callable[[ValidationError, dict, str], list[Problem]]


def check_game(scenario: Scenario, data: Mapping[str, Any], problems_of: ProblemsOf) -> list[Problem]:
    """Every problem with ``scenario.game`` (an empty list without a game).

    Parameters
    ----------
    scenario : Scenario
        The validated scenario.
    data : mapping
        The raw mapping it was validated from (strategies are applied to a copy).
    problems_of : callable
        ``(error, data, prefix) -> problems``: how the loader reports a
        validation error (passed in, so this module does not import the loader).
    """
    game = scenario.game
    if game is None:
        return []
    problems = _check_players(scenario) + _check_payoff(scenario)
    base = copy.deepcopy(dict(data))
    base["game"] = None
    for player, spec in game.players.items():
        for name, strategy in spec.strategies.items():
            problems += _check_strategy(base, f"game.players.{player}.strategies.{name}", strategy.set, problems_of)
    problems += _check_overlaps(scenario)
    return problems


def _kinds(scenario: Scenario) -> dict[str, str]:
    return {**{i: "bank" for i in scenario.banks}, **{i: "platform" for i in scenario.platforms},
            **{i: "insurer" for i in scenario.insurers}}


def _check_players(scenario: Scenario) -> list[Problem]:
    kinds = _kinds(scenario)
    return [Problem(f"game.players.{player}", f"unknown institution '{player}'",
                    ", ".join(sorted(kinds)) or "(no institutions)")
            for player in scenario.game.players if player not in kinds]


def _check_payoff(scenario: Scenario) -> list[Problem]:
    payoff, kinds = scenario.game.payoff, _kinds(scenario)
    problems = []
    for player in scenario.game.players:
        kind = kinds.get(player)
        allowed = INSURER_PAYOFFS if kind == "insurer" else INSTITUTION_PAYOFFS
        if kind is not None and payoff.metric not in allowed:
            problems.append(Problem("game.payoff.metric", f"'{payoff.metric}' is not recorded for {kind} {player}",
                                    ", ".join(allowed)))
    if payoff.metric in LEVEL_PAYOFFS and payoff.reduce != "final":
        problems.append(Problem("game.payoff.reduce", f"'{payoff.reduce}' sums {payoff.metric} over steps, but it "
                                                      "is a level (a state at each step), not a flow", "final"))
    return problems


def _check_strategy(base: dict, where: str, overrides: Mapping[str, Any], problems_of: ProblemsOf) -> list[Problem]:
    """Apply one strategy to a copy of the scenario; its bad paths and values, named under ``where``."""
    problems: list[Problem] = []
    state = copy.deepcopy(base)
    for path, value in overrides.items():
        if path.split(".")[0] in FIXED_IN_GAME:
            problems.append(Problem(f"{where}.set.{path}", "is part of the set-up every profile shares",
                                    "institution, partnership, funnel, choice, credit and regulation parameters"))
            continue
        problem = set_path(state, path, value, Scenario)
        if problem is not None:
            problem.path = f"{where}.set.{problem.path}"
            problems.append(problem)
    if problems:
        return problems
    try:
        Scenario.model_validate(state)
    except ValidationError as exc:
        problems += problems_of(exc, state, f"{where}.set")
    return problems


def _overlap(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _check_overlaps(scenario: Scenario) -> list[Problem]:
    """Strategies of two players that set the same parameter (or a block and a key in it) differently."""
    problems: list[Problem] = []
    entries = [(player, name, path, value) for player, spec in scenario.game.players.items()
               for name, strategy in spec.strategies.items() for path, value in strategy.set.items()]
    for a, (pa, na, path_a, va) in enumerate(entries):
        for pb, nb, path_b, vb in entries[a + 1:]:
            if pa == pb or not _overlap(path_a, path_b) or (path_a == path_b and va == vb):
                continue
            problems.append(Problem(f"game.players.{pb}.strategies.{nb}.set.{path_b}",
                                    f"{pa}'s strategy {na} sets '{path_a}' too"
                                    + (f" (to {va!r}, here {vb!r})" if path_a == path_b else ""),
                                    "paths that one player sets, or the same value in every player's strategies"))
    return problems


__all__ = ["FIXED_IN_GAME", "check_game"]
