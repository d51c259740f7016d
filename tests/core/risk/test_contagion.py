"""Default and contagion (mechanism 5): hazard, macro path, peer effect, threshold mode, seeds."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from sim.core.risk import contagion
from sim.errors import ScenarioError
from sim.model import ChannelModel
from sim.network.graph import adjacency_of
from sim.scenario.loader import deep_merge, validate_data


def risk_scenario(extra: dict | None = None):
    """Everyone already borrows (cut-off 1, long loans), nobody churns: only defaults move."""
    data = {
        "name": "contagion_test",
        "time": {"steps": 12},
        "population": {"size": 3000},
        "network": {"kind": "erdos_renyi", "mean_degree": 6},
        "products": {"loan": {"kind": "credit", "loan": {"term": 1000}}},
        "choice": {"switching": 0.0},
        "credit": {"enabled": True, "blacklist": True},
        "banks": {"bank": {"type": "state", "retention": 1.0, "credit": {"cutoff": 1.0},
                           "offers": {"loan": {"price": 1.0, "initial_share": 1.0}}}},
    }
    return validate_data(deep_merge(data, extra or {}), "test.yaml")


def path_graph(n: int) -> sp.csr_array:
    return adjacency_of(nx.path_graph(n), n)


# --------------------------------------------------------------------------- kernels
def test_defaulted_neighbours_matches_a_matrix_product():
    graph = nx.gnp_random_graph(400, 0.02, seed=1)
    adjacency = adjacency_of(graph, 400)
    defaulted = np.random.default_rng(0).random(400) < 0.1
    expected = adjacency @ defaulted.astype(float)
    assert np.array_equal(contagion.defaulted_neighbours(adjacency, defaulted), expected.astype(int))
    many = np.random.default_rng(1).random(400) < 0.6       # the dense branch
    assert np.array_equal(contagion.defaulted_neighbours(adjacency, many), (adjacency @ many.astype(float)).astype(int))
    share = contagion.defaulted_share(adjacency, defaulted)
    degree = np.diff(adjacency.indptr)
    assert np.allclose(share[degree > 0], expected[degree > 0] / degree[degree > 0])
    assert (share[degree == 0] == 0).all()


def test_default_probability_multiplies_its_terms():
    base, total = contagion.default_probability(np.array([0.01, 0.02]), 2.0, np.array([0.05, 1.0]), 3.0,
                                                np.array([0.5, 0.0]), np.array([1.0, 4.0]))
    assert base.tolist() == pytest.approx([0.001, 0.04])
    assert total.tolist() == pytest.approx([0.001 * 2.5, 0.16])
    base, total = contagion.default_probability(np.array([0.01]), 1.0)
    assert total is base


def test_draw_defaults_attributes_contagion_by_coupling():
    rng = np.random.default_rng(5)
    n = 400_000
    base, total = np.full(n, 0.01), np.full(n, 0.03)
    default, contagious = contagion.draw_defaults(base, total, rng)
    # P(default) = 0.03; P(contagion | default) = (0.03 - 0.01) / 0.03
    assert default.mean() == pytest.approx(0.03, abs=5 * np.sqrt(0.03 * 0.97 / n))
    share = contagious.sum() / default.sum()
    assert share == pytest.approx(2 / 3, abs=5 * np.sqrt(2 / 9 / default.sum()))
    assert not (contagious & ~default).any()
    _, none = contagion.draw_defaults(base, base, rng)
    assert not none.any()


def test_threshold_counts_are_exact_at_the_boundary():
    degree = np.array([10, 10, 3, 0, 7])
    need = contagion.threshold_counts(np.array([0.3, 0.31, 1 / 3, 0.2, 0.18]), degree)
    assert need[:3].tolist() == [3, 4, 1]
    assert need[3] > 10**6                       # isolated customers are never tipped
    assert need[4] == 2                          # ceil(0.18 * 7) = ceil(1.26)
    share = contagion.threshold_defaults(np.array([0.3, 0.29]), np.array([0.3, 0.3]), np.array([True, True]))
    assert share.tolist() == [True, False]


def test_cascade_on_a_path_runs_to_the_end_or_stops():
    adjacency = path_graph(50)
    everyone, rounds = contagion.cascade(adjacency, [0], 0.5)
    assert everyone.all() and rounds == 49
    stopped, _ = contagion.cascade(adjacency, [25], 0.51)     # interior nodes need both neighbours
    assert stopped.sum() == 1
    fenced, _ = contagion.cascade(adjacency, [0], 0.5, at_risk=np.arange(50) != 10)
    assert fenced.sum() == 10


def test_cascade_is_monotone_in_the_threshold():
    adjacency = adjacency_of(nx.gnp_random_graph(2000, 4 / 1999, seed=3), 2000)
    sizes = [contagion.cascade(adjacency, [0, 1, 2, 3, 4], phi)[0].sum() for phi in (0.1, 0.2, 0.3, 0.5)]
    assert sizes == sorted(sizes, reverse=True)


def test_watts_condition_has_the_published_window_for_phi_018():
    # Watts (2002), Fig. 1: for phi = 0.18 cascades are possible for 1 < z < ~6.
    assert contagion.watts_cascade_condition(0.8, 0.18) < 0
    assert contagion.watts_cascade_condition(3.0, 0.18) > 0
    assert contagion.watts_cascade_condition(5.0, 0.18) > 0
    assert contagion.watts_cascade_condition(8.0, 0.18) < 0


def test_seeded_draws_distinct_customers():
    rng = np.random.default_rng(0)
    chosen = contagion.seeded(np.arange(100), 10, rng)
    assert len(set(chosen.tolist())) == 10
    assert contagion.seeded(np.arange(3), 10, rng).tolist() == [0, 1, 2]


# --------------------------------------------------------------------------- the model
def default_rate(extra: dict, seed: int = 1) -> float:
    model = ChannelModel(risk_scenario(extra), seed=seed)
    model.run()
    market = model.tables()["market"]
    return market["new_defaults"].sum() / market["borrowers"].shift().iloc[1:].sum()


def test_hazard_defaults_match_the_population_hazard():
    model = ChannelModel(risk_scenario(), seed=2)
    mean_hazard = float(model.population.hazard.mean())
    model.run(1)
    new = model.tables()["market"].loc[1, "new_defaults"]
    n = model.population.size
    assert new == pytest.approx(n * mean_hazard, abs=4 * np.sqrt(n * mean_hazard))


def test_macro_path_scales_the_default_rate():
    calm = default_rate({})
    shocked = default_rate({"macro": {"path": [3.0] * 12}})
    assert shocked / calm == pytest.approx(3.0, rel=0.25)
    level = default_rate({"macro": {"level": 3.0}})
    assert level / calm == pytest.approx(3.0, rel=0.25)


def test_a_macro_shock_event_changes_the_multiplier_mid_run():
    scenario = risk_scenario({"events": [{"at": 6, "set": {"macro.level": 4.0}}]})
    model = ChannelModel(scenario, seed=3)
    model.run()
    assert model.tables()["market"]["macro"].tolist() == [1.0] * 6 + [4.0] * 7


def test_peer_effect_raises_defaults_and_is_counted_as_contagion():
    base = {"population": {"credit": {"prime_hazard": 0.01, "subprime_hazard": 0.05}}}
    calm = ChannelModel(risk_scenario(base), seed=4)
    calm.run()
    peer = ChannelModel(risk_scenario(deep_merge(base, {"credit": {"peer_effect": 5.0}})), seed=4)
    peer.run()
    calm_m, peer_m = calm.tables()["market"], peer.tables()["market"]
    assert calm_m["contagion_defaults"].sum() == 0
    assert peer_m["new_defaults"].sum() > 1.3 * calm_m["new_defaults"].sum()
    assert peer_m["contagion_defaults"].sum() > 0.2 * peer_m["new_defaults"].sum()


def test_threshold_mode_reaches_the_kernel_fixed_point():
    """Run step by step in the model, threshold contagion from a seed ends where the kernel's cascade does."""
    scenario = risk_scenario({"time": {"steps": 60}, "macro": {"level": 0.0},
                              "network": {"mean_degree": 3},
                              "credit": {"threshold": {"mean": 0.3}, "seed_defaults": [{"at": 1, "count": 30}]}})
    model = ChannelModel(scenario, seed=5)
    model.step()
    seeds = np.flatnonzero(model.state.defaulted)
    assert seeds.size == 30
    model.run(59)
    expected, rounds = contagion.cascade(model.network.adjacency, seeds, 0.3)
    assert rounds < 59
    assert np.array_equal(model.state.defaulted, expected)
    market = model.tables()["market"]
    assert market["seeded_defaults"].sum() == 30
    assert market["threshold_defaults"].sum() == expected.sum() - 30 == market["contagion_defaults"].sum()
    assert expected.sum() > 100


def test_no_contagion_without_seeds_or_hazard():
    scenario = risk_scenario({"macro": {"level": 0.0}, "credit": {"threshold": {"mean": 0.1}, "peer_effect": 5.0}})
    model = ChannelModel(scenario, seed=6)
    model.run()
    assert model.tables()["market"]["new_defaults"].sum() == 0


# --------------------------------------------------------------------------- bad input
def test_macro_path_shorter_than_the_horizon_is_an_error():
    with pytest.raises(ScenarioError) as info:
        risk_scenario({"macro": {"path": [1.0] * 5}})
    text = str(info.value)
    assert "test.yaml" in text and "macro.path" in text and "at least 12" in text


def test_negative_macro_multiplier_is_an_error():
    with pytest.raises(ScenarioError) as info:
        risk_scenario({"macro": {"path": [1.0] * 5 + [-0.5] + [1.0] * 6}})
    text = str(info.value)
    assert "macro.path[5]" in text and "greater than or equal to 0" in text


def test_seeded_defaults_after_the_horizon_are_an_error():
    with pytest.raises(ScenarioError, match=r"credit.seed_defaults\[0\].at.*after the horizon"):
        risk_scenario({"credit": {"seed_defaults": [{"at": 13, "count": 1}]}})
