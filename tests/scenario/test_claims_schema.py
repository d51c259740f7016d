"""``levers:`` and ``claims:`` in scenario files: load-time checks (sim.scenario.claims) and the CLI's bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.errors import ScenarioError
from sim.scenario import load_scenario

DATA = Path(__file__).resolve().parents[1] / "data" / "claims"


def child(tmp_path: Path, **keys) -> Path:
    """A copy of the claims base next to a child file extending it with ``keys``."""
    shutil.copy(DATA / "base.yaml", tmp_path / "base.yaml")
    path = tmp_path / "child.yaml"
    path.write_text(yaml.safe_dump({"name": "child", "extends": "base.yaml", **keys}), encoding="utf-8")
    return path


def test_claim_defaults_to_the_extends_parent_and_is_not_inherited(tmp_path):
    path = child(tmp_path, levers=["banks.a.referral.rate"],
                 claims=[{"metric": "active", "direction": "higher"}])
    scenario = load_scenario(path)
    assert scenario.levers == ["banks.a.referral.rate"]
    assert scenario.claims[0].compare_to == "base.yaml"
    grandchild = tmp_path / "grandchild.yaml"
    grandchild.write_text("name: grandchild\nextends: child.yaml\n", encoding="utf-8")
    assert load_scenario(grandchild).levers == [] and load_scenario(grandchild).claims == []


@pytest.mark.parametrize(("keys", "where", "what"), [
    ({"levers": ["banks.a.referal.rate"]}, "levers[0]", "unknown key 'referal'"),
    ({"levers": ["banks.zz.referral.rate"]}, "levers[0]", "no entry named 'zz'"),
    ({"claims": [{"metric": "happiness", "direction": "higher"}]}, "claims[0].metric", "unknown market metric"),
    ({"claims": [{"metric": "cac (run)", "direction": "lower", "institution": "zz"}]}, "claims[0].institution",
     "no bank or platform named 'zz'"),
    ({"claims": [{"metric": "active", "direction": "higher", "horizon": 99}]}, "claims[0].horizon", "past the run"),
    ({"claims": [{"metric": "active", "direction": "within", "within": [3, 1]}]}, "claims[0]", "low < high"),
    ({"claims": [{"metric": "active", "direction": "within"}]}, "claims[0]", "needs a 'within'"),
    ({"claims": [{"metric": "active", "direction": "higher", "compare_to": "nope.yaml"}]}, "claims[0].compare_to",
     "not found"),
])
def test_bad_levers_and_claims_name_file_and_key(tmp_path, keys, where, what):
    path = child(tmp_path, **keys)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = info.value.render()
    assert where in text and what in text and "child.yaml" in text


def test_claim_without_comparison_in_a_root_file(tmp_path):
    path = tmp_path / "root.yaml"
    data = yaml.safe_load((DATA / "base.yaml").read_text())
    data["claims"] = [{"metric": "active", "direction": "higher"}]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"claims\[0\].compare_to: is required"):
        load_scenario(path)


def test_cli_bad_lever_exits_2_and_writes_nothing(tmp_path, capsys):
    path = child(tmp_path, levers=["banks.a.referral.nope"])
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "levers[0]" in err and "unknown key 'nope'" in err and "Traceback" not in err
    assert not out.exists()


def test_cli_bad_claim_metric_exits_2_and_writes_nothing(tmp_path, capsys):
    path = child(tmp_path, claims=[{"metric": "happiness", "direction": "higher"}])
    out = tmp_path / "out"
    assert main(["compare", str(tmp_path / "base.yaml"), str(path), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "claims[0].metric" in err and "happiness" in err
    assert not out.exists()
