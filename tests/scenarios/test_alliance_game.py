"""alliance_game (SF7, SF9, SF10): the alliance choice as a game of three banks with four strategies each.

The file asserts no equilibrium; these checks are of the game itself: every
profile is a valid scenario whose strategies do what their labels say, and a
reduced game runs end to end through the command, in full and by iterated
best response, with the same payoffs for the profiles both evaluate.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.core.params import compile_catalog
from sim.experiments.game import menus, profile_scenarios, start_profile
from sim.experiments.game_theory import all_profiles
from sim.scenario import load_scenario

FILE = Path(__file__).resolve().parents[2] / "scenarios" / "alliance_game.yaml"
REDUCED = ["--set", "population.size=1000", "--set", "time.steps=6", "-r", "2"]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(FILE)


def test_three_banks_choose_among_four_strategies_and_every_profile_is_a_valid_scenario(scenario):
    strategies = menus(scenario.game)
    assert list(strategies) == ["icbc", "citic", "citybank"]
    assert all(names == ["direct", "platform_a", "platform_b", "data_alliance"] for names in strategies.values())
    profiles = all_profiles((4, 4, 4))
    scenarios = profile_scenarios(scenario, profiles)
    assert len(scenarios) == 64 and scenario.game.max_profiles >= 64
    assert start_profile(scenario.game) == (0, 0, 0)
    # The scenario's own profile: everyone goes direct, no partnership runs.
    assert not any(p.active for p in scenarios[0].partnerships.values())


def test_the_data_alliance_strategy_pools_data_with_the_supermarket_only_for_members(scenario):
    profiles = all_profiles((4, 4, 4))
    one_member = profile_scenarios(scenario, [(3, 0, 0)])[0]
    assert one_member.banks["icbc"].data_alliance == one_member.platforms["finmarket"].data_alliance
    assert one_member.banks["citic"].data_alliance is None
    assert one_member.partnerships["icbc_finmarket"].data_sharing
    base = compile_catalog(profile_scenarios(scenario, [profiles[0]])[0])
    joined = compile_catalog(one_member)
    assert base.institution_ids == joined.institution_ids


def test_a_reduced_game_runs_in_full_and_by_iterated_best_response_with_the_same_payoffs(tmp_path, capsys):
    full, searched = tmp_path / "full", tmp_path / "ibr"
    assert main(["game", str(FILE), *REDUCED, "-j", "2", "-q", "--out", str(full)]) == 0
    assert main(["game", str(FILE), *REDUCED, "--set", "game.max_profiles=8", "-j", "2", "-q",
                 "--out", str(searched)]) == 0
    record_full = json.loads((full / "equilibria.json").read_text())
    record_ibr = json.loads((searched / "equilibria.json").read_text())
    assert record_full["profiles_evaluated"] == 64 and record_ibr["mode"] == "ibr"
    assert record_ibr["profiles_evaluated"] < 64
    search = record_ibr["search"]
    if search["converged"]:
        assert search["equilibrium"] in [e["profile"] for e in record_full["equilibria"]]
    import pandas as pd

    a, b = pd.read_parquet(full / "payoffs.parquet"), pd.read_parquet(searched / "payoffs.parquet")
    merged = b.merge(a, on=["strategy.icbc", "strategy.citic", "strategy.citybank", "player"], suffixes=("", "_full"))
    assert len(merged) == len(b)
    np.testing.assert_allclose(merged["mean"], merged["mean_full"], rtol=1e-12)
    assert "searched by iterated best response" in (searched / "report.md").read_text()
