"""One reduction of a run to metrics: levels at the final step, flows summed over steps 1..T."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.experiments.metrics import MetricSpec, final_rows, metric_by_point, metric_values, parse_metric, run_totals
from sim.experiments.summary import summarize


def _market(points=(0, 1), replications=(0, 1), steps=3) -> pd.DataFrame:
    rows = [{"point": d, "replication": k, "step": t, "active": 10 * d + k + t, "new_active": t}
            for d in points for k in replications for t in range(steps + 1)]
    return pd.DataFrame(rows)


def test_levels_are_final_step_values_and_flows_are_run_totals():
    market = _market()
    final = metric_values({"market": market}, MetricSpec("active", "market", "active"))
    assert final.to_dict("list") == {"point": [0, 0, 1, 1], "replication": [0, 1, 0, 1], "value": [3, 4, 13, 14]}
    total = metric_values({"market": market}, MetricSpec("new_active", "market", "new_active", reduce="total"))
    assert total["value"].tolist() == [6, 6, 6, 6]           # 1 + 2 + 3: step 0 is not something that happened
    assert metric_by_point({"market": market}, MetricSpec("active", "market", "active"), 3).tolist()[:2] == [3.5, 13.5]
    assert np.isnan(metric_by_point({"market": market}, MetricSpec("active", "market", "active"), 3)[2])


def test_final_rows_and_run_totals_group_by_run():
    market = _market(points=(0,), steps=2).drop(columns="point")
    assert final_rows(market)["step"].tolist() == [2, 2]
    assert run_totals(market, ["new_active"]).to_dict() == {"new_active": {0: 3, 1: 3}}


def test_parse_metric_and_its_errors():
    assert parse_metric("active", ["a"]) == MetricSpec("active", "market", "active")
    assert parse_metric("institution:a:customers", ["a"]) == MetricSpec("institution:a:customers", "institutions",
                                                                         "customers", "a")
    with pytest.raises(ScenarioError, match="no institution named 'b'"):
        parse_metric("institution:b:customers", ["a"])
    with pytest.raises(ScenarioError, match="no column 'nope' in the market table"):
        metric_values({"market": _market()}, MetricSpec("nope", "market", "nope"))


def test_summary_and_key_metrics_use_the_same_reduction(output_tables):
    """The summary's final-step mean and whole-run total are means of the per-replication metrics."""
    tables = {name: frame for name, frame in output_tables.items()}
    summary = summarize(tables)
    market = tables["market"].assign(point=0)
    active = metric_values({"market": market}, MetricSpec("active", "market", "active"))["value"]
    assert summary["market"]["final_step"]["active"]["mean"] == pytest.approx(active.mean())
    new_active = metric_values({"market": market}, MetricSpec("new_active", "market", "new_active", reduce="total"))
    assert summary["market"]["whole_run"]["new_active_total"]["mean"] == pytest.approx(new_active["value"].mean())

