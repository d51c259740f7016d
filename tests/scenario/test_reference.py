"""The scenario reference: every key of the schema, with type, default, range and meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import EXIT_BAD_INPUT, ScenarioError
from sim.scenario import reference
from sim.scenario.schema import BankSpec, PartnershipSpec, Scenario

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scenario-reference.md"


def test_the_committed_reference_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == reference.render_markdown(), (
        f"docs/scenario-reference.md is out of date with sim/scenario/schema.py; regenerate it with "
        f"`{reference.REGENERATE}`")


def test_every_field_of_the_schema_is_in_the_reference():
    paths = {e.path for e in reference.entries()}
    for name in Scenario.model_fields:
        assert name in paths
    for name in BankSpec.model_fields:
        assert f"banks.<id>.{name}" in paths
    for name in PartnershipSpec.model_fields:
        assert f"partnerships.<id>.{name}" in paths
    assert "banks.<id>.data_alliance" in paths and "partnerships.<id>.data_sharing" in paths


def test_every_key_has_a_meaning():
    missing = [e.path for e in reference.entries() if not e.meaning]
    assert not missing, f"give these fields a description in sim/scenario/schema.py: {missing}"


def test_entries_carry_type_default_and_range():
    rate = next(e for e in reference.entries() if e.path == "banks.<id>.referral.rate")
    assert (rate.type, rate.default, rate.allowed) == ("number", "0.01", "[0, 1]")
    window = next(e for e in reference.entries() if e.path == "banks.<id>.referral.window")
    assert window.type == "integer or null" and window.default == "6" and window.allowed.startswith("[1, ")
    steps = next(e for e in reference.entries() if e.path == "time.steps")
    assert steps.meaning == Scenario.model_fields["time"].annotation.model_fields["steps"].description


@pytest.mark.parametrize("path", ["banks.<id>.referral", "banks.citic.referral"])
def test_schema_prints_the_keys_under_a_path(path, capsys):
    assert main(["schema", path]) == 0
    out = capsys.readouterr().out
    assert "banks.<id>.referral.rate" in out and "r: per-step chance" in out
    assert "banks.<id>.trust" not in out


def test_schema_without_a_path_prints_every_key(capsys):
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert all(e.path in out for e in reference.entries())


@pytest.mark.parametrize(("path", "where", "allowed"), [
    ("banks.<id>.referal", "banks.<id>.referal", "referral"),
    ("netwrk", "netwrk", "network"),
    ("network.foo", "network.foo", "mean_degree"),
])
def test_a_bad_path_is_exit_2_with_the_allowed_keys(path, where, allowed, capsys):
    assert main(["schema", path]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") <= 2 and where in err and f"{allowed}," in err or f"{allowed})" in err


def test_a_path_below_a_value_is_an_error():
    with pytest.raises(ScenarioError, match="time.steps: is a value"):
        reference.select("time.steps.x")


def _odd_paragraph(title: str) -> str:
    text = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    start = text.index(f"**{title}**")
    return text[start:text.index("\n\n", start)]


@pytest.mark.parametrize(("title", "spec", "prefix"), [
    ("Banks", BankSpec, "banks.<id>."),
    ("Partnerships", PartnershipSpec, "partnerships.<id>."),
])
def test_the_odd_field_lists_use_the_schema_names(title, spec, prefix):
    """Every field of the block is named in the ODD's list, and every name there is a key of the schema."""
    import re

    paragraph = _odd_paragraph(title)
    named = set(re.findall(r"`([a-z_]+)`", paragraph))
    missing = [name for name in spec.model_fields if name not in named and name not in {"name"}]
    assert not missing, f"docs/ODD.md's {title} list lacks {missing}"
    keys = {e.keys[-1] for e in reference.entries() if e.path.startswith(prefix)}
    unknown = sorted(named - keys)
    assert not unknown, f"docs/ODD.md's {title} list names {unknown}, which are not keys under {prefix}"

