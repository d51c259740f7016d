"""The one walker of the schema (:mod:`sim.scenario.tree`), used by ``set_path`` and the loader."""

from __future__ import annotations

from sim.errors import Problem
from sim.scenario.schema import Scenario, WattsStrogatzSpec
from sim.scenario.tree import Place, allowed_keys, walk

DATA = {"network": {"kind": "watts_strogatz"}, "banks": {"a": {"type": "state"}},
        "population": {"city_tiers": [0.25, 0.25, 0.25, 0.25]}}


def test_walk_resolves_models_dicts_lists_and_unions():
    place = walk(Scenario, DATA, ["banks", "a", "referral", "bonus"])
    assert isinstance(place, Place) and place.key == "bonus" and place.parent is None
    place = walk(Scenario, DATA, ["population", "city_tiers", "2"])
    assert place.key == 2 and place.parent is DATA["population"]["city_tiers"]
    place = walk(Scenario, DATA, ["network", "rewiring"])
    assert place.key == "rewiring" and place.parent is DATA["network"]


def test_walk_reports_the_first_key_that_leads_nowhere():
    problem = walk(Scenario, DATA, ["banks", "b", "trust"])
    assert isinstance(problem, Problem) and problem.path == "banks.b" and "'b'" in problem.message
    assert problem.allowed == "a"
    problem = walk(Scenario, DATA, ["network", "attachment"])
    assert problem.path == "network.attachment" and "mean_degree" in problem.allowed
    assert walk(Scenario, DATA, ["population", "city_tiers", "9"]).allowed == "0..3"
    assert walk(Scenario, {"network": {}}, ["network", "x"]).message == "cannot tell which kind of block this is"


def test_a_schema_only_walk_does_not_need_the_entries():
    place = walk(Scenario, {}, ["banks", "zz", "referral"], strict=False)
    assert isinstance(place, Place)


def test_create_makes_the_blocks_left_at_their_defaults():
    data = {"banks": {"a": {"type": "state"}}}
    place = walk(Scenario, data, ["banks", "a", "referral", "bonus"], create=True)
    assert data["banks"]["a"]["referral"] == {} and place.parent is data["banks"]["a"]["referral"]


def test_allowed_keys_of_a_block():
    assert allowed_keys(Scenario, DATA, ["network"]) == ", ".join(sorted(WattsStrogatzSpec.model_fields))
    assert "banks" in allowed_keys(Scenario, DATA, [])
    assert allowed_keys(Scenario, DATA, ["seed"]) is None
    assert allowed_keys(Scenario, DATA, ["banks", "a", "nope"]) is None
