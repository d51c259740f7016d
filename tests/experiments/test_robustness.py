"""Robustness of claims (sim.experiments.robustness, ``python -m sim robustness``, ``list``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.errors import ScenarioError
from sim.experiments.claims import evaluate_claims
from sim.experiments.robustness import plan_arms, robustness_design, run_robustness, share
from sim.scenario import load_scenario
from sim.scenario.uncertainty import read_uncertainty

DATA = Path(__file__).resolve().parents[1] / "data" / "claims"
ROOT = Path(__file__).resolve().parents[2]


def test_the_library_uncertainty_file_is_valid_and_sourced():
    ranges = read_uncertainty(ROOT / "scenarios" / "uncertainty.yaml")
    assert len(ranges) >= 5 and all(r.low < r.high and r.source for r in ranges.values())


def test_arms_and_design_pair_the_scenario_with_its_comparison():
    scenario = load_scenario(DATA / "referral.yaml")
    ranges = read_uncertainty(DATA / "uncertainty.yaml")
    plan = plan_arms(scenario, ranges)
    assert plan.paths == ["banks.a.referral.rate"]
    assert plan.arms == [{"banks.a.referral.rate": 0.2}, {"banks.a.referral.rate": 0.01}]
    assert plan.left_out == ["banks.a.referral.rate"]      # a lever is not an uncertainty
    assert plan.uncertain == ["choice.switching", "funnel.interest"]
    design, cells = robustness_design(scenario, plan, ranges, [1000, 2000], 3, seed=1)
    assert len(design) == 2 * 3 * 2 and len(cells) == 6
    frame = design.to_frame()
    # both arms of a cell share size and uncertain values, and differ only in the lever
    for i in range(len(cells)):
        pair = frame.iloc[2 * i: 2 * i + 2]
        assert pair["population.size"].nunique() == 1 and pair["choice.switching"].nunique() == 1
        assert list(pair["banks.a.referral.rate"]) == [0.2, 0.01]


def test_share_has_a_wilson_interval():
    result = share(pd.Series([True] * 7 + [False] * 3))
    assert result["share"] == pytest.approx(0.7)
    assert 0.39 < result["low"] < 0.40 and 0.89 < result["high"] < 0.90   # Wilson (1927) for 7 of 10


def test_a_cell_is_judged_as_a_single_comparison_would_be(tmp_path):
    """At one size and the scenario's own values (0 samples), robustness gives evaluate_claims's verdict."""
    scenario = load_scenario(DATA / "referral.yaml")
    result = run_robustness(scenario, read_uncertainty(DATA / "uncertainty.yaml"), sizes=[1000], samples=0,
                            replications=3, out=tmp_path / "rob", backend="serial")
    [direct] = evaluate_claims(scenario, replications=3, ablate=False)
    row = result.table.iloc[0]
    assert row["difference"] == pytest.approx(direct.difference)
    assert row["low"] == pytest.approx(direct.low) and bool(row["holds"]) == direct.holds


@pytest.mark.slow
def test_robustness_cli_end_to_end_and_list(tmp_path, capsys):
    """Sizes [1000, 2000], 4 hypercube points, 2 replications: files written, resumable, shown by list."""
    folder = tmp_path / "lib"
    folder.mkdir()
    for name in ("base.yaml", "referral.yaml", "uncertainty.yaml"):
        shutil.copy(DATA / name, folder / name)
    out = tmp_path / "results" / "referral" / "robustness"
    args = ["robustness", str(folder / "referral.yaml"), "--sizes", "1000", "2000", "-n", "4", "-r", "2",
            "--serial", "-q", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "holds in" in printed
    for name in ("robustness.parquet", "summary.json", "report.md", "plots/share_by_size.png"):
        assert (out / name).is_file(), name
    table = pd.read_parquet(out / "robustness.parquet")
    assert len(table) == 8 and set(table["size"]) == {1000, 2000}
    summary = json.loads((out / "summary.json").read_text())
    claim = summary["claims"][0]
    assert claim["cells"] == 8 and claim["holds"] == int(table["holds"].sum())
    assert claim["low"] <= claim["share"] <= claim["high"]
    before = (out / "summary.json").read_text()
    assert main(args) == 0                               # resumes: nothing re-run, same result
    assert json.loads((out / "summary.json").read_text())["claims"] == json.loads(before)["claims"]
    capsys.readouterr()
    assert main(["list", "--directory", str(folder), "--results", str(tmp_path / "results")]) == 0
    listed = capsys.readouterr().out
    line = next(x for x in listed.splitlines() if x.startswith("referral "))
    assert f"{summary['all_claims']['share']:.0%}" in line
    assert "no claims" in next(x for x in listed.splitlines() if x.startswith("base "))


@pytest.mark.parametrize(("text", "where", "what"), [
    ("ranges:\n  choice.switching: {low: 0.05, high: 0.01, source: assumption}\n", "ranges.choice.switching",
     "low 0.05 >= high 0.01"),
    ("ranges:\n  choice.switching: {low: 0.5, high: 1.5, source: assumption}\n", "ranges.choice.switching.high",
     "outside what choice.switching accepts"),
    ("ranges:\n  choice.switchin: {low: 0.1, high: 0.2, source: assumption}\n", "ranges.choice.switchin",
     "unknown key 'switchin'"),
    ("ranges:\n  choice.switching: {low: 0.1, high: 0.2}\n", "ranges.choice.switching.source", "is required"),
])
def test_bad_uncertainty_file_exits_2_and_writes_nothing(tmp_path, capsys, text, where, what):
    bad = tmp_path / "uncertainty.yaml"
    bad.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    code = main(["robustness", str(DATA / "referral.yaml"), "--uncertainty", str(bad), "--sizes", "1000",
                 "-n", "2", "-r", "2", "--serial", "-q", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and where in err and what in err and "uncertainty.yaml" in err and "Traceback" not in err
    assert not out.exists()


def test_scenario_without_claims_and_bad_size_exit_2(tmp_path, capsys):
    out = tmp_path / "out"
    common = ["--uncertainty", str(DATA / "uncertainty.yaml"), "-n", "2", "-r", "2", "--serial", "-q",
              "--out", str(out)]
    assert main(["robustness", str(DATA / "base.yaml"), "--sizes", "1000", *common]) == 2
    assert "makes no claims" in capsys.readouterr().err
    assert main(["robustness", str(DATA / "referral.yaml"), "--sizes", "0", *common]) == 2
    assert "population.size" in capsys.readouterr().err
    assert not out.exists()


def test_negative_samples_are_refused_before_anything_is_written(tmp_path):
    scenario = load_scenario(DATA / "referral.yaml")
    with pytest.raises(ScenarioError, match="--samples"):
        run_robustness(scenario, read_uncertainty(DATA / "uncertainty.yaml"), sizes=[1000], samples=-1,
                       out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_arm_without_an_added_partnership_keeps_only_the_levers_that_lead_somewhere():
    """financial_supermarket adds a partnership: the baseline arm drops that lever, and every arm still loads."""
    from sim.scenario import with_overrides

    library = Path(__file__).resolve().parents[2] / "scenarios"
    scenario = load_scenario(library / "financial_supermarket.yaml")
    plan = plan_arms(scenario, {})
    own, base_arm = plan.arms
    assert own["levers"] == scenario.levers
    assert "partnerships.icbc_finmarket" not in base_arm["levers"]
    assert set(base_arm["levers"]) == set(scenario.levers) - {"partnerships.icbc_finmarket"}
    assert "icbc_finmarket" not in with_overrides(scenario, base_arm).partnerships
    assert "icbc_finmarket" in with_overrides(scenario, own).partnerships
