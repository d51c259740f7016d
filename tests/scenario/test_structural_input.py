"""Bad input found by review: structural keys, names, ``extends``, ``sources``, comparisons, messages.

Each test names the defect it guards against; every message must name the
file (or option), the key path and what is allowed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import sim
from sim.errors import ScenarioError
from sim.scenario.loader import dump_resolved, validate_data
from tests.scenario.test_input_validation import ROOT, SCENARIO, refusal, write


# ------------------------------------------------------------------ extends is structural
def test_set_extends_is_refused_naming_set_and_extends(tmp_path):
    path = write(tmp_path, "small.yaml", SCENARIO)
    message = refusal(path, {"extends": "nosuch.yaml"})
    assert "--set" in message and "extends" in message and "in the scenario file" in message, message


def test_the_resolved_scenario_never_carries_extends(tmp_path):
    data = yaml.safe_load(SCENARIO) | {"extends": "nosuch.yaml"}
    scenario = validate_data(data, "direct")
    assert yaml.safe_load(dump_resolved(scenario))["extends"] is None


# ------------------------------------------------------------------ name is a folder name
@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "a b", "x" * 129])
def test_a_name_that_is_not_a_safe_folder_name_is_refused_naming_name(tmp_path, name):
    path = write(tmp_path, "small.yaml", SCENARIO.replace("name: small", f"name: {name!r}"))
    message = refusal(path)
    assert "name: is not a folder name" in message and "not starting with '.'" in message, message
    assert "--out" not in message


def test_a_name_with_dots_inside_is_a_folder_name(tmp_path):
    path = write(tmp_path, "small.yaml", SCENARIO.replace("name: small", "name: v1.2_test-a"))
    assert sim.load_scenario(path).name == "v1.2_test-a"


# ------------------------------------------------------------------ extends names the file and the key
@pytest.mark.parametrize("parent, words", [(".", "is a folder"), ('""', "is empty"), ("sub", "is a folder"),
                                           ("' '", "is empty")])
def test_extends_of_a_folder_or_nothing_names_the_file_and_extends(tmp_path, parent, words):
    (tmp_path / "sub").mkdir()
    path = write(tmp_path, "child.yaml", f"name: child\nextends: {parent}\n")
    message = refusal(path)
    assert message.startswith(f"{path}: extends: ") and words in message, message


# ------------------------------------------------------------------ sources name facts of docs/sources.md
def test_a_source_with_no_entry_in_docs_sources_is_refused(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "sources.md").write_text("# Sources\n\n### SF1 — one\n\n### SF2 — two\n\n### EF1 — x\n",
                                                  encoding="utf-8")
    path = write(tmp_path, "small.yaml", SCENARIO + "sources: [SF2, SF999]\n")
    message = refusal(path)
    assert "sources[1]: 'SF999' has no entry in docs/sources.md (allowed: SF1, SF2)" in message, message


def test_sources_of_the_library_are_checked_against_the_project_file():
    baseline = ROOT / "scenarios" / "baseline.yaml"
    assert sim.load_scenario(baseline, overrides={"sources": "[SF1]"}).sources == ["SF1"]
    with pytest.raises(ScenarioError, match=r"sources\[0\]: 'SF999' has no entry in docs/sources.md"):
        sim.load_scenario(baseline, overrides={"sources": "[SF999]"})


def test_without_a_sources_file_only_the_form_is_checked(tmp_path):
    path = write(tmp_path, "small.yaml", SCENARIO + "sources: [SF999]\n")
    assert sim.load_scenario(path).sources == ["SF999"]


# ------------------------------------------------------------------ schema PATH: the same form check as --set
@pytest.mark.parametrize("path", ["banks..x", "banks.", ".banks", "population..size"])
def test_schema_refuses_what_set_refuses_as_not_a_dotted_path(path):
    from sim.scenario.reference import select

    with pytest.raises(ScenarioError) as info:
        select(path)
    assert str(info.value) == f"schema: {path}: is not a dotted path " \
                              "(allowed: keys joined by '.', e.g. banks.citic.referral.bonus)"
    with pytest.raises(ScenarioError, match="is not a dotted path"):
        sim.load_scenario(ROOT / "scenarios" / "baseline.yaml", overrides={path: "1"})


def test_schema_of_a_dotted_path_with_an_id_still_works():
    from sim.scenario.reference import select

    assert [".".join(e.keys) for e in select("population.size")] == ["population.size"]
    assert select("banks.anyid.referral")


# ------------------------------------------------------------------ compare_to files are checked at load
CLAIM = """
claims:
  - {metric: active, direction: higher, compare_to: %s}
"""


@pytest.mark.parametrize("content, words", [
    ("name: other\nbogus: 1\n", "unknown key 'bogus'"),
    ("- a\n- b\n", "the top level is a list"),
])
def test_a_claim_comparing_to_an_invalid_file_is_refused_at_load(tmp_path, content, words):
    write(tmp_path, "other.yaml", content)
    path = write(tmp_path, "small.yaml", SCENARIO + CLAIM % "other.yaml")
    message = refusal(path)
    assert message.startswith(f"{path}: claims[0].compare_to: 'other.yaml' is not a valid scenario: ")
    assert "other.yaml" in message and words in message, message


def test_comparisons_in_a_cycle_load_and_each_file_is_read_once(tmp_path, monkeypatch):
    from sim.scenario import loader

    write(tmp_path, "a.yaml", SCENARIO.replace("name: small", "name: a") + CLAIM % "b.yaml")
    write(tmp_path, "b.yaml", SCENARIO.replace("name: small", "name: b") + CLAIM % "a.yaml")
    path = write(tmp_path, "c.yaml", SCENARIO.replace("name: small", "name: c")
                 + "claims:\n" + "".join(f"  - {{metric: active, direction: lower, compare_to: {f}}}\n"
                                         for f in ("a.yaml", "b.yaml", "a.yaml")))
    reads = []
    real = loader.read_yaml
    monkeypatch.setattr(loader, "read_yaml", lambda p: reads.append(Path(p).name) or real(p))
    assert sim.load_scenario(path).name == "c"
    assert sorted(reads) == ["a.yaml", "b.yaml", "c.yaml"]


def test_a_bad_file_two_comparisons_away_is_named_through_the_chain(tmp_path):
    write(tmp_path, "bad.yaml", "name: bad\nbogus: 1\n")
    write(tmp_path, "mid.yaml", SCENARIO.replace("name: small", "name: mid") + CLAIM % "bad.yaml")
    path = write(tmp_path, "top.yaml", SCENARIO.replace("name: small", "name: top") + CLAIM % "mid.yaml")
    message = refusal(path)
    assert "claims[0].compare_to: 'mid.yaml' is not a valid scenario: " in message
    assert "claims[0].compare_to: 'bad.yaml' is not a valid scenario: " in message and "bogus" in message, message


# ------------------------------------------------------------------ a block's check failing on a --set value
def test_a_share_broken_by_set_says_which_assignment_did_it(tmp_path):
    tiers = "population: {size: 200, city_tiers: [0.15, 0.25, 0.3, 0.3]}"
    path = write(tmp_path, "small.yaml", SCENARIO.replace("population: {size: 200}", tiers))
    message = refusal(path, {"population.size": "300", "population.city_tiers.0": "0.5", "seed": "4"})
    assert message == (f"{path}: population: city_tiers must sum to 1, got 1.35 "
                       "(after --set population.city_tiers.0=0.5)"), message


def test_a_share_broken_in_the_file_names_no_assignment(tmp_path):
    path = write(tmp_path, "small.yaml", SCENARIO.replace("population: {size: 200}",
                                                          "population: {size: 200, city_tiers: [1, 1, 0, 0]}"))
    message = refusal(path, {"population.size": "300"})
    assert message.startswith(f"{path}: population: city_tiers must sum to 1") and "--set" not in message, message


# ------------------------------------------------------------------ wording of messages
def test_a_missing_or_unreadable_file_says_a_yaml_file_once(tmp_path):
    from sim.inputs import read_text

    with pytest.raises(ScenarioError) as info:
        read_text(tmp_path / "nosuch.yaml")
    assert "(allowed: a path to a .yaml file that exists)" in str(info.value)
    with pytest.raises(ScenarioError) as info:
        read_text(tmp_path)
    assert "(allowed: a path to a .yaml file)" in str(info.value)


@pytest.mark.parametrize("path, value, words", [
    ("time", "3", "time: should be a mapping (block 'time'), got 3 (allowed: a mapping with the keys burn_in, "
                  "steps, unit)"),
    ("population", "[1]", "population: should be a mapping (block 'population'), got a list"),
    ("banks.alpha.referral", "5", "banks.alpha.referral: should be a mapping (block 'banks.alpha.referral'), got 5"),
])
def test_a_value_where_a_block_belongs_names_no_class(tmp_path, path, value, words):
    message = refusal(write(tmp_path, "small.yaml", SCENARIO), {path: value})
    assert words in message and "instance of" not in message and "Spec" not in message, message


def test_an_event_problem_reads_without_a_stray_arrow(tmp_path):
    path = write(tmp_path, "small.yaml", SCENARIO + "events: [{at: 1, set: {banks.alpha.referral: 5}}]\n")
    message = refusal(path)
    assert f"{path}: events[0] (at step 1): banks.alpha.referral: should be a mapping" in message, message
    assert "->" not in message


@pytest.mark.parametrize("text, words", [
    ("ranges: {}\n", "ranges: is empty: it lists no parameter"),
    ("ranges: [1]\n", "ranges: is a list, not a mapping"),
    ("other: 1\nranges: {}\n", "other: unknown key: the file has one key, 'ranges'"),
])
def test_an_uncertainty_file_without_ranges_says_what_is_wrong(tmp_path, text, words):
    from sim.scenario.uncertainty import read_uncertainty

    with pytest.raises(ScenarioError) as info:
        read_uncertainty(write(tmp_path, "uncertainty.yaml", text))
    assert words in str(info.value) and "expected one key" not in str(info.value), str(info.value)


def test_sensitivity_of_a_text_parameter_does_not_point_to_an_option_it_lacks():
    from sim.experiments.design import integer_paths

    scenario = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    with pytest.raises(ScenarioError) as info:
        integer_paths(scenario, ["time.unit"], "--param")
    message = str(info.value)
    assert message.startswith("--param: time.unit: is a str") and "use --grid" not in message, message
    assert "python -m sim sweep --grid" in message
