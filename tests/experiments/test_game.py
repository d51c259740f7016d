"""The game evaluated through the sweep machinery: payoffs equal direct runs, resume, backends, search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.errors import ScenarioError
from sim.experiments.backends import DaskBackend, ProcessPoolBackend
from sim.experiments.game import payoff_metric, run_game
from sim.experiments.metrics import metric_values
from sim.scenario import load_scenario, with_overrides

DATA = Path(__file__).resolve().parents[1] / "data"
TINY_GAME = DATA / "tiny_game.yaml"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(TINY_GAME)


@pytest.fixture(scope="module")
def full_game(scenario, tmp_path_factory):
    return run_game(scenario, out=tmp_path_factory.mktemp("game") / "g", backend="serial", progress=False)


def test_discounted_metric_weights_step_t_by_one_over_one_plus_rate_to_the_t():
    table = pd.DataFrame({"point": 0, "replication": 0, "step": [0, 1, 2, 3], "institution": "a",
                          "profit": [100.0, 10.0, 20.0, 40.0]})
    spec = sim.experiments.metrics.MetricSpec("a:profit", "institutions", "profit", "a", "discounted", 0.1)
    value = metric_values({"institutions": table}, spec)["value"].item()
    assert value == pytest.approx(10 / 1.1 + 20 / 1.1**2 + 40 / 1.1**3)   # step 0 is the initial state


def test_each_payoff_is_the_discounted_profit_of_a_direct_run_of_the_profile(scenario, full_game):
    payoffs = pd.read_parquet(full_game.out / "payoffs.parquet")
    assert len(payoffs) == 4 * 2 and set(payoffs["n"]) == {2}
    direct = sim.run(with_overrides(scenario, {"banks.a.referral.bonus": 20, "game": None}), replications=2,
                     seed=scenario.seed)
    for i, player in enumerate(("a", "b")):
        per_run = metric_values({"institutions": direct.institutions.assign(point=0)}, payoff_metric(scenario, player))
        row = payoffs[(payoffs["strategy.a"] == "bonus") & (payoffs["strategy.b"] == "current")
                      & (payoffs["player"] == player)].iloc[0]
        assert row["mean"] == pytest.approx(per_run["value"].mean(), rel=1e-12)
        np.testing.assert_allclose(full_game.values[:, 1, 0, i], per_run["value"].to_numpy(), rtol=1e-12)
        assert row["ci_low"] < row["mean"] < row["ci_high"]


def test_equilibria_and_epsilon_follow_from_the_simulated_payoffs(full_game):
    means = full_game.means
    eps = full_game.epsilons().set_index("profile")
    for index, profile in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        gains = [means[(1 - profile[0], profile[1])][0] - means[profile][0],
                 means[(profile[0], 1 - profile[1])][1] - means[profile][1]]
        assert eps.loc[index, "epsilon"] == pytest.approx(max(0.0, *gains))
        assert eps.loc[index, "nash"] == (max(gains) <= 0)
    assert [p for p in full_game.equilibria()] == [p for i, p in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)])
                                                   if eps.loc[i, "nash"]]
    deviations = pd.read_parquet(full_game.out / "deviations.parquet")
    assert len(deviations) == 4 * 2                     # each profile, each player, one other strategy


def test_an_interrupted_game_resumes_without_recomputing_finished_profiles(scenario, full_game, tmp_path):
    import shutil

    out = tmp_path / "g"
    shutil.copytree(full_game.out, out)
    parts = sorted((out / "runs" / "all" / "parts").iterdir())
    for part in parts[:3]:                              # as if the game was killed before these runs finished
        shutil.rmtree(part)
    (out / "payoffs.parquet").unlink()
    again = run_game(scenario, out=out, backend="serial", progress=False)
    assert (again.completed, again.skipped) == (3, 5)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "payoffs.parquet"),
                                  pd.read_parquet(full_game.out / "payoffs.parquet"))


def test_iterated_best_response_reuses_the_same_runs_and_reaches_an_equilibrium(scenario, full_game, tmp_path):
    searched = run_game(with_overrides(scenario, {"game.max_profiles": 3}), out=tmp_path / "ibr", backend="serial",
                        progress=False)
    assert searched.mode == "ibr" and searched.ibr.converged
    assert searched.ibr.equilibrium in full_game.equilibria()
    for profile in searched.evaluated():                 # common random numbers: the same payoffs, run by run
        runs = (slice(None), *profile)
        np.testing.assert_array_equal(searched.values[runs], full_game.values[runs])
    record = searched.record()
    assert record["mode"] == "ibr" and record["search"]["converged"] and record["profiles"] == 4


def test_a_profile_that_is_not_a_valid_scenario_is_refused_before_anything_is_written(scenario, tmp_path):
    lonely = with_overrides(scenario, {"game.players.a.strategies.bonus.set": {"banks.a.data_alliance": "pool"}})
    with pytest.raises(ScenarioError, match="alliance 'pool' has no other member.*in profiles a=bonus, b=current"):
        run_game(lonely, out=tmp_path / "never", backend="serial", progress=False)
    assert not (tmp_path / "never").exists()


@pytest.mark.slow  # two process pools
def test_pool_with_one_or_two_workers_gives_identical_payoffs(scenario, full_game, tmp_path):
    for workers in (1, 2):
        result = run_game(scenario, out=tmp_path / f"w{workers}", backend=ProcessPoolBackend(workers),
                          progress=False)
        for name in ("payoffs.parquet", "deviations.parquet"):
            pd.testing.assert_frame_equal(pd.read_parquet(result.out / name),
                                          pd.read_parquet(full_game.out / name))


@pytest.mark.distributed
@pytest.mark.slow
def test_dask_local_cluster_gives_identical_payoffs(scenario, full_game, tmp_path):
    with DaskBackend.local_cluster(n_workers=2) as dask:
        result = run_game(scenario, out=tmp_path / "dask", backend=dask, progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(result.out / "payoffs.parquet"),
                                  pd.read_parquet(full_game.out / "payoffs.parquet"))


def test_a_search_resumed_with_another_payoff_takes_its_own_path_without_colliding(scenario, tmp_path):
    searching = with_overrides(scenario, {"game.max_profiles": 3})
    first = run_game(searching, out=tmp_path / "ibr", backend="serial", progress=False)
    again = run_game(searching, out=tmp_path / "ibr", backend="serial", progress=False)
    assert again.completed == 0 and again.skipped == first.runs
    other = run_game(with_overrides(searching, {"game.payoff.reduce": "total"}), out=tmp_path / "ibr",
                     backend="serial", progress=False)
    assert other.mode == "ibr" and other.ibr.rounds >= 1


def test_the_game_block_is_not_a_parameter_a_comparison_lists(scenario):
    from sim.experiments.compare import parameter_differences

    differs = parameter_differences([load_scenario(DATA / "tiny.yaml"), scenario])
    assert not differs["parameter"].str.startswith("game").any()
    assert "replications" in set(differs["parameter"])          # a real difference is still listed
