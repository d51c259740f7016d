"""A whole result directory in one call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import sim
from sim.outputs import read_tables, write_results
from sim.outputs.deck import CHARTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # writes every table and chart
def test_write_results_lays_out_the_directory(output_tables, tmp_path):
    out = tmp_path / "demo"
    scenario = {"name": "demo", "steps": 5, "banks": [{"id": "citic"}]}
    written = write_results(out, output_tables, scenario_name="demo", resolved_scenario=scenario,
                            seed=42, replications=3, extra_metadata={"argv": ["run", "demo"]})
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["market.parquet", "institutions.parquet", "channels.parquet",
                            "funnel.parquet", "summary.json", "scenario.resolved.yaml",
                            "run.json", "plots"])
    assert len(list((out / "plots").glob("*.png"))) == len(CHARTS)   # no credit side: the deck charts only
    assert set(read_tables(out)) == set(output_tables)
    assert yaml.safe_load((out / "scenario.resolved.yaml").read_text()) == scenario

    run = json.loads((out / "run.json").read_text())
    assert (run["seed"], run["replications"], run["scenario"]) == (42, 3, "demo")
    assert run["package_version"] and run["dependencies"]["mesa"]
    assert run["argv"] == ["run", "demo"]

    summary = json.loads((out / "summary.json").read_text())
    assert summary == written["summary_data"]
    assert summary["replications"] == 3


def test_write_results_without_plots_and_with_yaml_text(output_tables, tmp_path):
    write_results(tmp_path, output_tables, scenario_name="s", resolved_scenario="name: s",
                  seed=None, replications=3, plots=False)
    assert not (tmp_path / "plots").exists()
    assert (tmp_path / "scenario.resolved.yaml").read_text() == "name: s\n"
    assert json.loads((tmp_path / "run.json").read_text())["seed"] is None


def test_sim_save_writes_a_run_result(tmp_path):
    """``sim.save`` (= ``sim.outputs.save_run``) writes the directory of a RunResult from ``sim.run``."""
    from pathlib import Path

    import sim
    from sim.outputs import save_run

    assert sim.save is save_run
    scenario = sim.load_scenario(Path(__file__).resolve().parents[1] / "data" / "tiny.yaml")
    result = sim.run(scenario, replications=2, seed=4)
    out = sim.save(result, tmp_path / "run", plots=False)
    assert out == tmp_path / "run"
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(result.summary))
    meta = json.loads((out / "run.json").read_text())
    assert (meta["scenario"], meta["seed"], meta["replications"]) == (scenario.name, 4, 2)
    assert {p.name for p in out.iterdir()} >= {"market.parquet", "summary.json", "scenario.resolved.yaml", "run.json"}
    assert not (out / "plots").exists()


def test_institution_names_from_every_form_of_resolved_scenario():
    from sim.outputs.results import institution_names

    text = "name: s\nbanks:\n  icbc: {name: Large state bank, type: state}\n  citic: {type: joint_stock}\n"
    assert institution_names(text) == {"icbc": "Large state bank"}
    assert institution_names(sim.load_scenario(ROOT / "scenarios" / "baseline.yaml"))["icbc"] == "Large state bank"
    assert institution_names(None) == {}
