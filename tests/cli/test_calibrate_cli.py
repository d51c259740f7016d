"""``python -m sim calibrate``: bad targets files are refused before anything is written; a reduced real run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.experiments import store

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def small_scenario(folder: Path) -> Path:
    path = folder / "small.yaml"
    path.write_text(yaml.safe_dump({"name": "small", "extends": str(BASELINE), "population": {"size": 400},
                                    "time": {"steps": 6}, "replications": 1}))
    return path


def targets_file(folder: Path, **target_changes) -> Path:
    scenario = small_scenario(folder)
    target = {"id": "sf8_retention", "source": "SF8", "scenario": scenario.name, "metric": "annual_retention",
              "args": {"institution": "shopmall"}, "value": 0.844,
              "uncertainty": {"sd": 0.02, "basis": "assumption"}}
    target.update(target_changes)
    data = {"parameters": {"priors": {"choice.switching": {"low": 0.0, "high": 0.05}}},
            "replications": 1, "seed": 3,
            "targets": [target, {"id": "active", "source": "SF7", "scenario": scenario.name,
                                 "metric": "key:active", "value": 150.0,
                                 "uncertainty": {"sd": 30.0, "basis": "assumption"}, "held_out": True}]}
    # ``docs/sources.md`` is found from the targets file's folder upwards: put one beside it.
    (folder / "docs").mkdir(exist_ok=True)
    (folder / "docs" / "sources.md").write_text((ROOT / "docs" / "sources.md").read_text())
    path = folder / "targets.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def refused(capsys, argv, *names):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    for name in names:
        assert name in err, err
    return err


@pytest.mark.parametrize("change, where", [
    ({"source": "SF42"}, "targets[0].source"),
    ({"metric": "clicks_per_banana"}, "targets[0].metric"),
    ({"scenario": "nowhere.yaml"}, "targets[0].scenario"),
    ({"uncertainty": {"sd": 0.0, "basis": "assumption"}}, "targets[0].uncertainty.sd"),
    ({"uncertainty": {"sd": -1.0, "basis": "assumption"}}, "targets[0].uncertainty.sd"),
    ({"args": {}}, "targets[0].args"),
    ({"args": {"institution": "nosuch"}}, "targets[0].args.institution"),
    ({"metric": "clicks_per_employee", "args": {"institution": "shopmall"}}, "targets[0].args.institution"),
    ({"metric": "conversion_per_click", "args": {"institution": "nosuch"}}, "targets[0].args.institution"),
    ({"metric": "default_ratio_inside_outside", "args": {"institution": "nosuch"}}, "targets[0].args.institution"),
    ({"metric": "cards_per_user_half_year", "args": {"platform": "citic"}}, "targets[0].args.platform"),
])
def test_bad_targets_exit_2_naming_file_and_key_and_write_nothing(tmp_path, capsys, change, where):
    path = targets_file(tmp_path, **change)
    out = tmp_path / "out"
    refused(capsys, ["calibrate", str(path), "--out", str(out), "-q", "--serial"], str(path), where)
    assert not out.exists()


def test_an_empty_prior_range_is_refused(tmp_path, capsys):
    path = targets_file(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["parameters"]["priors"]["choice.switching"] = {"low": 0.05, "high": 0.05}
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    refused(capsys, ["calibrate", str(path), "--out", str(out), "-q", "--serial"], str(path),
            "parameters.priors.choice.switching.low")
    assert not out.exists()


def test_a_folder_of_other_files_is_refused_and_kept(tmp_path, capsys):
    path = targets_file(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    refused(capsys, ["calibrate", str(path), "--out", str(mine), "-q", "--serial", "--overwrite"], str(mine))
    assert (mine / "notes.txt").read_text() == "keep me" and len(list(mine.iterdir())) == 1


@pytest.mark.parametrize("option", [["--budget", "0"], ["--population-size", "1"]])
def test_bad_counts_are_refused(tmp_path, capsys, option):
    path = targets_file(tmp_path)
    refused(capsys, ["calibrate", str(path), "--out", str(tmp_path / "out"), "-q", "--serial", *option], option[0])
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_reduced_calibration_of_the_model_runs_end_to_end(tmp_path, capsys):
    """One parameter, one fitted and one held-out target, 2 generations of 6 particles, 1 replication."""
    path = targets_file(tmp_path)
    out = tmp_path / "cal"
    argv = ["calibrate", str(path), "--out", str(out), "-q", "--serial", "--budget", "2", "--population-size", "6"]
    assert main(argv) == 0, capsys.readouterr().err
    assert store.read_marker(out)["kind"] == "calibration"
    fit = pd.read_parquet(out / "fit.parquet").set_index("target")
    assert list(fit.index) == ["sf8_retention", "active"] and fit.loc["active", "held_out"]
    assert fit["simulated"].notna().all()
    posterior = pd.read_parquet(out / "posterior.parquet")
    assert len(posterior) == 6 and posterior["choice.switching"].between(0, 0.05).all()
    for name in ("calibrated.yaml", "report.md", "plots/marginals.png", "plots/pairs.png", "plots/convergence.png"):
        assert (out / name).is_file(), name
    assert "Held-out targets" in (out / "report.md").read_text()
    # The calibrated fragment is a parent a scenario can extend.
    child = tmp_path / "child.yaml"
    child.write_text(yaml.safe_dump({"name": "child", "extends": str(out / "calibrated.yaml"),
                                     **{k: v for k, v in yaml.safe_load(BASELINE.read_text()).items()
                                        if k not in ("name", "choice", "extends")}}))
    from sim.scenario import load_scenario

    switching = yaml.safe_load((out / "calibrated.yaml").read_text())["choice"]["switching"]
    assert load_scenario(child).choice.switching == pytest.approx(switching)
    # Running again resumes: nothing to add, same posterior; --overwrite starts over.
    assert main(argv) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "posterior.parquet"), posterior)
    assert main([*argv, "--overwrite"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "posterior.parquet"), posterior)
