"""Tests of scenario files (:mod:`sim.scenario`): loading, ``extends``, overrides, events, bad input.

Every bad input must raise :class:`~sim.errors.ScenarioError` whose message
names the file, the dotted key path and, where it helps, what is allowed.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

import sim
from sim.errors import ScenarioError
from sim.experiments.design import parse_assignments
from sim.scenario.loader import apply_overrides, dump_resolved, validate_data, with_overrides
from sim.scenario.paths import get_path, parse_value

BASE_YAML = """
name: base
description: the parent
seed: 7
time: {steps: 24}
population: {size: 500, city_tiers: [0.25, 0.25, 0.25, 0.25]}
network: {kind: erdos_renyi, mean_degree: 6}
products:
  payments: {kind: payments}
  credit: {kind: credit, need: {student: 0.2}}
banks:
  alpha:
    type: state
    offers: {payments: {price: 1.0}, credit: {price: 2.0}}
    branch: {coverage: [1, 1, 0.5, 0], spend: 10.0503}
    referral: {rate: 0.02, window: 6}
  beta:
    type: joint_stock
    offers: {payments: {price: 0.9}}
platforms:
  shop: {type: scenario, users: 0.4}
partnerships:
  deal: {bank: alpha, platform: shop, spend: 30.4592, take_rate: 0.1}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def base_file(tmp_path) -> Path:
    return write(tmp_path, "base.yaml", BASE_YAML)


def problem_paths(error: ScenarioError) -> list[str]:
    return [p.path for p in error.problems]


# ------------------------------------------------------------------ loading
def test_load_fills_defaults_and_remembers_the_source(base_file):
    scenario = sim.load_scenario(base_file)
    assert scenario.name == "base" and scenario.seed == 7
    assert scenario.institution_ids == ["alpha", "beta", "shop"]
    assert scenario.banks["alpha"].referral.rate == 0.02
    assert scenario.banks["beta"].referral.window == 6                 # a default
    assert scenario.funnel.interest == 0.5                              # a default block
    assert scenario._source == base_file.resolve()
    assert scenario.products["credit"].need["student"] == 0.2


def test_extends_merges_mappings_and_replaces_values_and_lists(tmp_path, base_file):
    child = write(tmp_path, "child.yaml", """
        extends: base.yaml
        name: child
        banks:
          alpha:
            referral: {bonus: 100}
            branch: {coverage: [1, 0, 0, 0]}
        population: {size: 800}
        """)
    scenario = sim.load_scenario(child)
    alpha = scenario.banks["alpha"]
    assert scenario.name == "child"
    assert alpha.referral.bonus == 100 and alpha.referral.rate == 0.02 and alpha.referral.window == 6
    assert alpha.branch.coverage == [1, 0, 0, 0] and alpha.branch.spend == 10.0503
    assert alpha.offers["credit"].price == 2.0
    assert scenario.population.size == 800
    assert scenario.population.city_tiers == [0.25] * 4
    assert "beta" in scenario.banks and scenario.seed == 7
    assert scenario.description == ""                                  # descriptions are not inherited


def test_extends_replaces_a_block_of_another_kind(tmp_path, base_file):
    """A network of another generator replaces the parent's whole: its keys mean nothing to the new kind."""
    child = write(tmp_path, "child.yaml", """
        extends: base.yaml
        name: child
        network:
          kind: stochastic_block
          blocks: {alumni: {share: 0.4, sanctioning: true}, others: {share: 0.6}}
        """)
    network = sim.load_scenario(child).network
    assert network.kind == "stochastic_block" and network.blocks["alumni"].sanctioning
    same_kind = write(tmp_path, "same.yaml", "extends: base.yaml\nname: same\nnetwork: {kind: erdos_renyi}\n")
    assert sim.load_scenario(same_kind).network.mean_degree == 6          # same kind: keys still merge


def test_extends_chains_and_cycles(tmp_path, base_file):
    write(tmp_path, "mid.yaml", "extends: base.yaml\nname: mid\nseed: 8\n")
    leaf = write(tmp_path, "leaf.yaml", "extends: mid.yaml\nname: leaf\ntime: {steps: 30}\n")
    scenario = sim.load_scenario(leaf)
    assert (scenario.name, scenario.seed, scenario.time.steps, scenario.population.size) == ("leaf", 8, 30, 500)
    write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    b = write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(b)
    assert "extends" in str(info.value) and "a.yaml" in str(info.value)


def test_extends_missing_parent_names_the_child(tmp_path):
    child = write(tmp_path, "orphan.yaml", "extends: nowhere.yaml\nname: orphan\n")
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(child)
    message = str(info.value)
    assert "orphan.yaml" in message and "extends" in message and "nowhere.yaml" in message


# ------------------------------------------------------------------ overrides and dotted paths
def test_overrides_reach_any_parameter_including_defaults(base_file):
    scenario = sim.load_scenario(base_file, overrides={
        "banks.alpha.referral.bonus": "100",                 # strings are parsed as YAML
        "banks.beta.live_stream.enabled": "true",            # a block left at its defaults
        "banks.alpha.branch.coverage.3": 0.25,               # a list element
        "choice.outside_utility": "null",
        "partnerships.deal.take_rate": 0.2,
        "network.mean_degree": 4,
    })
    assert scenario.banks["alpha"].referral.bonus == 100.0
    assert scenario.banks["beta"].live_stream.enabled is True
    assert scenario.banks["alpha"].branch.coverage == [1, 1, 0.5, 0.25]
    assert scenario.choice.outside_utility is None
    assert get_path(scenario, "partnerships.deal.take_rate") == 0.2
    assert get_path(scenario, "network.mean_degree") == 4
    assert get_path(scenario, "banks.alpha.branch.coverage.2") == 0.5


def test_with_overrides_returns_a_validated_copy(base_file):
    scenario = sim.load_scenario(base_file)
    changed = with_overrides(scenario, {"banks.alpha.retention": 0.844})
    assert changed.banks["alpha"].retention == 0.844
    assert scenario.banks["alpha"].retention == 0.9
    assert changed._source == scenario._source
    with pytest.raises(ScenarioError):
        with_overrides(scenario, {"banks.alpha.retention": 1.5})


@pytest.mark.parametrize("text, value", [
    ("0.3", 0.3), ("100", 100), ("true", True), ("null", None), ("[1, 2]", [1, 2]), ("abc", "abc"),
    ("{a: 1}", {"a": 1}), ("1e3", "1e3"),
])
def test_set_values_are_parsed_as_yaml(text, value):
    assert parse_value(text) == value


def test_set_assignments_are_split_on_the_first_equals_sign():
    assert parse_assignments(["a.b=1", " c = x=y "]) == {"a.b": "1", "c": "x=y"}
    assert parse_assignments(None) == {}
    for bad in ("novalue", "=3"):
        with pytest.raises(ScenarioError) as info:
            parse_assignments([bad])
        assert "--set" in str(info.value) and "PATH=VALUE" in str(info.value)


def test_resolved_scenario_round_trips(base_file):
    scenario = sim.load_scenario(base_file, overrides={"banks.alpha.referral.bonus": 50})
    again = validate_data(yaml.safe_load(dump_resolved(scenario)), "resolved")
    assert again.model_dump() == scenario.model_dump()


# ------------------------------------------------------------------ events
def test_events_are_validated_and_applied_at_their_step(base_file):
    scenario = sim.load_scenario(base_file, overrides={"events": [
        {"at": 5, "set": {"banks.alpha.referral.rate": 0.2}, "label": "campaign"},
        {"at": 10, "set": {"partnerships.deal.active": False}},
    ]})
    assert [e.at for e in scenario.events] == [5, 10]
    assert scenario.events[0].label == "campaign"


@pytest.mark.parametrize("event, path, fragment", [
    ({"at": 30, "set": {"banks.alpha.referral.rate": 0.1}}, "events[0].at", "1..24"),
    ({"at": 3, "set": {"banks.alpha.referal.rate": 0.1}}, "events[0].set.banks.alpha.referal", "referral"),
    ({"at": 3, "set": {"banks.gamma.referral.rate": 0.1}}, "events[0].set.banks.gamma", "alpha, beta"),
    ({"at": 3, "set": {"banks.alpha.referral.rate": 2.0}}, "banks.alpha.referral.rate", "less than or equal to 1"),
    ({"at": 3, "set": {"population.size": 10}}, "events[0].set.population.size", "cannot change during a run"),
    ({"at": 3, "set": {"products": {}}}, "events[0].set.products", "cannot change during a run"),
    ({"at": 3, "set": {"products.credit.kind": "wealth"}}, "events[0].set.products.credit.kind", "it is credit"),
    ({"at": 3, "set": {"products.credit": {"kind": "wealth"}}}, "events[0].set.products.credit.kind", "it is credit"),
    ({"at": 3, "set": {"products.credt.need": {}}}, "events[0].set.products.credt", "credit, payments"),
    ({"at": 3, "set": {"products.credit.funnel.apply": 1.5}}, "products.credit.funnel.apply",
     "less than or equal to 1"),
    ({"at": 0, "set": {"banks.alpha.referral.rate": 0.1}}, "events[0].at", "greater than or equal to 1"),
])
def test_bad_events_name_the_event_and_the_key(base_file, event, path, fragment):
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(base_file, overrides={"events": [event]})
    message = str(info.value)
    assert "base.yaml" in message
    assert path in message and fragment in message, message


def test_an_event_changing_a_products_kind_is_one_problem(base_file):
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(base_file, overrides={"events": [{"at": 3, "set": {"products.credit": {"kind": "wealth"}}}]})
    assert problem_paths(info.value) == ["events[0].set.products.credit.kind"]


# ------------------------------------------------------------------ bad input
def test_malformed_yaml_names_the_line(tmp_path):
    bad = write(tmp_path, "broken.yaml", """
        name: broken
        banks:
          alpha: {type: state
        time: {steps: 3}
        """)
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(bad)
    message = str(info.value)
    assert "broken.yaml" in message and "line" in message and "malformed YAML" in message


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(info.value) and "not found" in str(info.value)


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(ScenarioError, match="mapping"):
        sim.load_scenario(write(tmp_path, "list.yaml", "- 1\n- 2\n"))


@pytest.mark.parametrize(
    "change, path, fragments",
    [
        # unknown key: lists the keys allowed in that block
        (
            {"banks": {"alpha": {"referral": {"bonnus": 5}}}},
            "banks.alpha.referral.bonnus",
            ["unknown key 'bonnus'", "bonus", "rate", "window", "welcome"],
        ),
        ({"colour": "red"}, "colour", ["unknown key", "banks", "population"]),
        # learning's propensities scale to the profits now: the old payoff_scale is refused, naming what is allowed
        (
            {"banks": {"alpha": {"policy": {"kind": "learning", "learning": {"payoff_scale": 10000}}}}},
            "banks.alpha.policy.learning.payoff_scale",
            ["unknown key 'payoff_scale'", "experimentation", "initial_strength", "recency"],
        ),
        ({"network": {"kind": "erdos_renyi", "mean_degree": 6, "beta": 0.1}}, "network.beta", ["mean_degree"]),
        # wrong type
        ({"population": {"size": "many"}}, "population.size", ["integer", "'many'"]),
        ({"banks": {"alpha": {"referral": {"window": 2.5}}}}, "banks.alpha.referral.window", ["integer"]),
        # out of range
        ({"funnel": {"interest": 1.5}}, "funnel.interest", ["less than or equal to 1", "1.5"]),
        (
            {"banks": {"alpha": {"branch": {"spend": -0.1}}}},
            "banks.alpha.branch.spend",
            ["greater than or equal to 0"],
        ),
        ({"population": {"size": -3}}, "population.size", ["greater than or equal to 2"]),
        # choices
        ({"banks": {"beta": {"type": "credit_union"}}}, "banks.beta.type", ["state", "joint_stock", "city_commercial"]),
        ({"network": {"kind": "lattice"}}, "network", ["erdos_renyi", "edge_list"]),
        # cross references
        (
            {"partnerships": {"deal": {"bank": "gamma"}}},
            "partnerships.deal.bank",
            ["unknown bank 'gamma'", "alpha, beta"],
        ),
        (
            {"partnerships": {"other": {"bank": "alpha", "platform": "mall"}}},
            "partnerships.other.platform",
            ["unknown platform 'mall'", "shop"],
        ),
        (
            {"banks": {"beta": {"offers": {"wealth": {}}}}},
            "banks.beta.offers.wealth",
            ["unknown product 'wealth'", "credit, payments"],
        ),
        # shares
        ({"population": {"city_tiers": [0.5, 0.5, 0.5, 0.5]}}, "population", ["sum to 1"]),
    ],
)
def test_bad_values_name_the_file_the_key_path_and_what_is_allowed(tmp_path, make_data, change, path, fragments):
    bad = write(tmp_path, "bad_scenario.yaml", yaml.safe_dump(make_data(change, base=yaml.safe_load(BASE_YAML))))
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(bad)
    message = str(info.value)
    assert "bad_scenario.yaml" in message, message
    assert path in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_every_problem_is_reported_at_once(tmp_path):
    data = yaml.safe_load(BASE_YAML)
    data["funnel"] = {"interest": 2.0, "compare": -1.0}
    data["banks"]["alpha"]["referal"] = {}
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(write(tmp_path, "many.yaml", yaml.safe_dump(data)))
    paths = problem_paths(info.value)
    assert {"funnel.interest", "funnel.compare", "banks.alpha.referal"} <= set(paths)
    assert "3 problems" in str(info.value)


@pytest.mark.parametrize("path, fragments", [
    ("banks.alpha.referal.bonus", ["unknown key 'referal'", "referral", "offers"]),
    ("banks.gamma.referral.bonus", ["no entry named 'gamma'", "alpha, beta"]),
    ("banks.alpha.branch.coverage.7", ["not an index", "0..3"]),
    ("banks..referral", ["not a dotted path"]),
    ("banks.alpha.trust.level", ["is a value"]),
])
def test_bad_set_path_lists_what_is_allowed(base_file, path, fragments):
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(base_file, overrides={path: "1"})
    message = str(info.value)
    assert "base.yaml" in message and "--set" in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_bad_set_value_names_the_file_and_the_key(base_file):
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(base_file, overrides={"banks.alpha.referral.rate": "high"})
    message = str(info.value)
    assert "base.yaml" in message and "banks.alpha.referral.rate" in message and "'high'" in message


def test_apply_overrides_does_not_touch_its_input():
    data = {"name": "x", "banks": {"a": {"type": "state"}}}
    out = apply_overrides(data, {"banks.a.trust": "0.3"})
    assert out["banks"]["a"]["trust"] == 0.3 and "trust" not in data["banks"]["a"]


@pytest.mark.parametrize("field", ["initial_share", "initial_awareness"])
def test_an_event_cannot_change_a_set_up_value(make_data, field):
    from sim.errors import ScenarioError
    from sim.scenario.loader import validate_data

    data = make_data({"events": [{"at": 2, "set": {f"banks.bank.offers.payments.{field}": 0.5}}]})
    with pytest.raises(ScenarioError) as err:
        validate_data(data, "file.yaml")
    assert f"events[0].set.banks.bank.offers.payments.{field}" in str(err.value)
    assert "set-up value" in str(err.value)
