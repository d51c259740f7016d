"""decisions.parquet, the levers chart and the summary's decisions line, from a real run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.model.metrics import DECISION_COLUMNS, decisions_table
from sim.outputs.console import render_summary
from sim.outputs.decision_plots import lever_paths, plot_decisions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rule_run():
    overrides = {"population.size": 600, "time.steps": 9, "banks.icbc.policy.kind": "rule",
                 "platforms.chatpay.policy.kind": "rule"}
    return sim.run(sim.load_scenario(ROOT / "scenarios" / "baseline.yaml", overrides=overrides), replications=2)


def test_decisions_table_has_one_row_per_change_with_its_source(rule_run):
    decisions = rule_run.tables["decisions"]
    assert list(decisions.columns) == list(DECISION_COLUMNS)
    assert sorted(decisions["replication"].unique()) == [0, 1]
    made = decisions[decisions["source"] == "decision"]
    assert set(made["step"]) <= {3, 6, 9}
    assert set(made["owner"]) <= {"banks.icbc", "platforms.chatpay", "partnerships.icbc_chatpay"}
    assert (made["reason"].str.startswith("rule:")).all()
    assert not made.duplicated(["replication", "step", "owner", "lever"]).any()


def test_an_empty_log_gives_an_empty_table_with_the_columns():
    empty = decisions_table([], replication=3)
    assert list(empty.columns) == list(DECISION_COLUMNS) and empty.empty
    assert empty["step"].dtype == "int64" and empty["after_value"].dtype == "float64"


def test_levers_chart_draws_each_changed_lever(rule_run, tmp_path):
    path = tmp_path / "levers.png"
    assert plot_decisions(rule_run.tables, path, time_unit="month") is not None
    assert path.stat().st_size > 0
    paths = lever_paths(rule_run.tables["decisions"], horizon=9)
    assert ("banks.icbc", "offers.payments.price") in paths
    for steps, values in paths[("banks.icbc", "offers.payments.price")]:
        assert steps[0] == 0 and steps[-1] == 9 and len(steps) == len(values)
    nothing = {**rule_run.tables, "decisions": rule_run.tables["decisions"].iloc[0:0]}
    assert plot_decisions(nothing, tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_summary_counts_the_decisions_and_run_prints_them(rule_run):
    section = rule_run.summary["decisions"]
    decisions = rule_run.tables["decisions"]
    assert section["changes_by_source"]["decision"] == int((decisions["source"] == "decision").sum())
    assert "banks.icbc" in section["by_owner"]
    text = render_summary(rule_run.summary, "baseline", width=200)
    assert "Decisions:" in text and "by policies" in text and "icbc" in text


def test_saved_run_writes_decisions_parquet(rule_run, tmp_path):
    out = sim.save(rule_run, tmp_path / "out", plots=False)
    written = pd.read_parquet(Path(out) / "decisions.parquet")
    pd.testing.assert_frame_equal(written, rule_run.tables["decisions"], check_dtype=False)
