"""Comparing scenarios: common random numbers, paired differences, the report, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.cli import main
from sim.errors import ScenarioError
from sim.experiments.compare import compare
from sim.experiments.metrics import key_metrics
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, name: str, **changes) -> Path:
    data = {"name": name, "extends": str(ROOT / "scenarios" / "baseline.yaml"),
            "population": {"size": 800}, "time": {"steps": 12}, "replications": 3}
    for key, value in changes.items():
        data[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_identical_scenarios_have_zero_paired_difference(tmp_path):
    """Common random numbers: the same scenario under two names gives identical replications."""
    a = load_scenario(write(tmp_path, "a"))
    b = load_scenario(write(tmp_path, "b"))
    comparison = compare([a, b], replications=3, seed=5)
    diffs = comparison.differences()
    assert not diffs.empty
    assert np.allclose(diffs["difference"].fillna(0.0), 0.0)


@pytest.mark.slow  # runs two scenarios over replications
def test_paired_differences_match_per_replication_metrics(tmp_path):
    a = load_scenario(write(tmp_path, "a"))
    b = load_scenario(write(tmp_path, "b", banks={"citic": {"referral": {"rate": 0.2, "bonus": 50}}}))
    comparison = compare([a, b], replications=5, seed=2)
    ma, mb = key_metrics(comparison.results[0].tables), key_metrics(comparison.results[1].tables)
    diffs = comparison.differences().set_index("metric")
    metric = "referral_conversions (run)"
    expected = (mb[metric] - ma[metric]).mean()
    assert diffs.loc[metric, "difference"] == pytest.approx(expected)
    assert diffs.loc[metric, "low"] <= expected <= diffs.loc[metric, "high"]
    # A much stronger referral programme must show up as more referral conversions.
    assert expected > 0 and diffs.loc[metric, "p_value"] < 0.05


def test_different_horizons_are_refused_before_running(tmp_path):
    a = load_scenario(write(tmp_path, "a"))
    b = load_scenario(write(tmp_path, "b", time={"steps": 20}))
    with pytest.raises(ScenarioError) as err:
        compare([a, b])
    assert "time.steps" in str(err.value) and "is 20 but" in str(err.value)


@pytest.mark.slow  # runs and reports two scenarios
def test_cli_compare_writes_report(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(
        [
            "compare",
            str(write(tmp_path, "a")),
            str(write(tmp_path, "b", banks={"citic": {"referral": {"bonus": 80}}})),
            "-r",
            "2",
            "--out",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    report = (out / "report.md").read_text()
    assert "Differences against `a`" in report and "paired" in report
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3
    assert (out / "metrics.csv").exists() and (out / "differences.csv").exists()


def test_cli_compare_bad_input(tmp_path, capsys):
    a = write(tmp_path, "a")
    b = write(tmp_path, "b", time={"steps": 30, "unit": "week"})
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "cmp"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "time.steps" in err and "time.unit" in err
    assert not (tmp_path / "cmp").exists()
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\nfunnel: {interest: 2}\n")
    assert main(["compare", str(a), str(bad), "-q"]) == 2
    assert "broken.yaml" in capsys.readouterr().err
