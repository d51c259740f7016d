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


@pytest.fixture(scope="module")
def tiny_result():
    scenario = sim.load_scenario(ROOT / "tests" / "data" / "tiny.yaml")
    return sim.run(scenario, replications=1, seed=4, progress=False)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_sim_save_marks_the_folder_as_a_run_listing_its_files(tiny_result, tmp_path):
    """Regression: ``sim.save`` wrote no marker, so the command line refused its folder even with --overwrite."""
    from sim.experiments import store

    out = sim.save(tiny_result, tmp_path / "run", plots=False)
    marker = store.read_marker(out)
    assert marker is not None and marker["kind"] == "run"
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {store.MARKER_NAME}
    assert set(marker["files"]) == on_disk and "run.json" in on_disk
    assert store.foreign_files(out, marker) == []
    assert [p.name for p in tmp_path.iterdir()] == ["run"]            # no temporary folder left beside it


def test_sim_save_replaces_an_earlier_run_only_with_overwrite(tiny_result, tmp_path):
    from sim.experiments import store

    out = sim.save(tiny_result, tmp_path / "run", plots=False)
    (out / "run.json").write_text(json.dumps({"stale": True}))      # tell the old folder from a new one
    before = _snapshot(out)
    with pytest.raises(sim.ScenarioError, match="written earlier") as raised:
        sim.save(tiny_result, out, plots=False)
    assert "overwrite=True" in str(raised.value) and str(out) in str(raised.value)
    assert _snapshot(out) == before
    sim.save(tiny_result, out, plots=False, overwrite=True)
    assert json.loads((out / "run.json").read_text())["seed"] == 4
    assert store.read_marker(out)["kind"] == "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]      # the old folder was swapped out, not kept


@pytest.mark.parametrize("kind", ["user folder", "marked folder with user files", "file", "symlink"])
def test_sim_save_refuses_what_it_did_not_write_even_with_overwrite(tiny_result, tmp_path, kind):
    target = tmp_path / "target"
    if kind == "user folder":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
        match = "not written by this program"
    elif kind == "marked folder with user files":
        sim.save(tiny_result, target, plots=False)
        (target / "notes.txt").write_text("mine")
        match = "did not write"
    elif kind == "file":
        target.write_text("mine")
        match = "not a folder"
    else:
        real = tmp_path / "real"
        sim.save(tiny_result, real, plots=False)
        target.symlink_to(real, target_is_directory=True)
        match = "symbolic link"
    before = _snapshot(tmp_path)
    for overwrite in (False, True):
        with pytest.raises(sim.ScenarioError, match=match):
            sim.save(tiny_result, target, plots=False, overwrite=overwrite)
        assert _snapshot(tmp_path) == before
    assert target.is_symlink() == (kind == "symlink")


def test_sim_save_into_an_empty_folder(tiny_result, tmp_path):
    (tmp_path / "empty").mkdir()
    out = sim.save(tiny_result, tmp_path / "empty", plots=False)
    assert (out / "run.json").is_file() and (out / ".bpsim-results.json").is_file()


def test_institution_names_from_every_form_of_resolved_scenario():
    from sim.outputs.results import institution_names

    text = "name: s\nbanks:\n  icbc: {name: Large state bank, type: state}\n  citic: {type: joint_stock}\n"
    assert institution_names(text) == {"icbc": "Large state bank"}
    assert institution_names(sim.load_scenario(ROOT / "scenarios" / "baseline.yaml"))["icbc"] == "Large state bank"
    assert institution_names(None) == {}
