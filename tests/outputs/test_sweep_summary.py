"""Sweep and sensitivity summaries: summary.csv, a metric against each parameter, the indices' charts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments.design import grid_design
from sim.experiments.sensitivity import analyze_function
from sim.experiments.sweep import run_sweep
from sim.outputs.sensitivity_plots import plot_indices, write_sensitivity_plots
from sim.outputs.sweep_summary import sweep_summary, write_sweep_summary
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml", {"population.size": 400, "time.steps": 6})
    out = tmp_path_factory.mktemp("sweep") / "s"
    design = grid_design({"banks.icbc.referral.rate": [0.001, 0.05]})
    result = run_sweep(scenario, design, out=out, replications=2, seed=3, backend="serial", progress=False)
    return scenario, design, result


def test_summary_has_every_metric_at_every_point_with_honest_intervals(swept):
    scenario, design, result = swept
    summary = sweep_summary(result.tables, design.to_frame())
    assert set(summary["point"]) == {0, 1}
    assert list(summary.columns[:2]) == ["point", "banks.icbc.referral.rate"]
    per_point = summary.groupby("point")["metric"].apply(set)
    assert per_point[0] == per_point[1] and {"active", "icbc: market_share"} <= per_point[0]
    shares = summary[summary["metric"].str.contains("market_share|default_rate")].dropna(subset=["low"])
    assert len(shares) and (shares["low"] >= 0).all() and (shares["high"] <= 1).all()
    active = summary[(summary["metric"] == "active") & (summary["point"] == 0)].iloc[0]
    market = result.tables["market"]
    final = market[(market["point"] == 0) & (market["step"] == market["step"].max())]
    assert active["mean"] == pytest.approx(final["active"].mean()) and active["n"] == 2


def test_write_sweep_summary_writes_csv_and_one_plot_per_parameter(swept):
    scenario, _, result = swept
    written = write_sweep_summary(result.out, scenario=scenario)     # gathers from the parts itself
    table = pd.read_csv(written["summary"])
    assert {"mean", "low", "high", "n", "interval"} <= set(table.columns)
    assert [p.name for p in written["plots"]] == ["banks.icbc.referral.rate.png"]
    assert written["plots"][0].stat().st_size > 10_000


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_indices_and_samples_plots(tmp_path, method):
    bounds = {"banks.a_very_long_institution_name.referral.rate": (0.0, 1.0), "choice.price": (0.0, 1.0)}
    result = analyze_function(lambda X: 3 * X[:, 0] + X[:, 1] ** 2, bounds, method,
                              samples=8 if method == "morris" else 64, resamples=100)
    result.out = tmp_path
    paths = write_sensitivity_plots(result)
    assert [p.name for p in paths] == ["indices.png", "samples.png"]
    assert all(p.stat().st_size > 5_000 for p in paths)
    assert plot_indices(result, tmp_path / "again.png").is_file()
    assert np.isfinite(result.Y).all()
