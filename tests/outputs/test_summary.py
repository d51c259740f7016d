"""Summary statistics: intervals against scipy, coverage, and hand-computed run figures."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.outputs import group_mean_ci, mean_ci, summarize, write_summary


def t_interval(values, level=0.95):
    """Reference interval straight from scipy, dropping NaN."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    low, high = stats.t.interval(level, df=x.size - 1, loc=x.mean(), scale=stats.sem(x))
    return x.mean(), low, high


def assert_stat(entry, values, level=0.95):
    """A summary entry equals the scipy interval of ``values`` (NaN dropped)."""
    mean, low, high = t_interval(values, level)
    assert entry["n"] == int(np.count_nonzero(~np.isnan(np.asarray(values, float))))
    assert entry["mean"] == pytest.approx(mean, rel=1e-12)
    assert entry["low"] == pytest.approx(low, rel=1e-9)
    assert entry["high"] == pytest.approx(high, rel=1e-9)


# --------------------------------------------------------------------------- mean_ci


@pytest.mark.parametrize("level", [0.95, 0.9, 0.99])
def test_mean_ci_equals_scipy_t_interval(level):
    x = [2.1, 3.4, 1.9, 4.2, 3.3, 2.8]
    mean, low, high = mean_ci(x, level)
    ref = t_interval(x, level)
    assert (mean, low, high) == pytest.approx(ref, rel=1e-12)


def test_mean_ci_edge_cases():
    assert mean_ci([4.0])[0] == 4.0 and all(math.isnan(v) for v in mean_ci([4.0])[1:])
    assert all(math.isnan(v) for v in mean_ci([]))
    assert all(math.isnan(v) for v in mean_ci([np.nan, np.nan]))
    assert mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    assert mean_ci([1.0, np.nan, 3.0, 5.0]) == pytest.approx(mean_ci([1.0, 3.0, 5.0]))
    assert mean_ci(np.array([1.0, 2.0])) == pytest.approx(mean_ci(v for v in (1.0, 2.0)))


@pytest.mark.parametrize("level", [0.0, 1.0, 95])
def test_mean_ci_rejects_bad_level(level):
    with pytest.raises(ValueError, match="level"):
        mean_ci([1.0, 2.0], level)


def test_mean_ci_covers_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(20240601)
    true_mean, trials = 3.0, 2000
    samples = rng.normal(true_mean, 2.0, size=(trials, 5))
    hits = sum(low <= true_mean <= high for _, low, high in map(mean_ci, samples))
    # 99.9% acceptance region of Binomial(2000, 0.95); a z interval (~88%) falls far outside
    lowest, highest = stats.binom.ppf([0.0005, 0.9995], trials, 0.95)
    assert lowest <= hits <= highest


def test_group_mean_ci_equals_mean_ci_per_group(output_tables):
    inst = output_tables["institutions"]
    table = group_mean_ci(inst, ["institution", "step"], "market_share")
    assert len(table) == inst.groupby(["institution", "step"]).ngroups
    for row in table.itertuples():
        values = inst.loc[(inst["institution"] == row.institution) & (inst["step"] == row.step),
                          "market_share"]
        assert (row.mean, row.low, row.high) == pytest.approx(t_interval(values), rel=1e-9)
        assert row.n == len(values)


def test_group_mean_ci_single_value_has_no_interval():
    frame = pd.DataFrame({"g": ["a", "b", "b"], "v": [1.0, 2.0, 4.0]})
    table = group_mean_ci(frame, "g", "v").set_index("g")
    assert table.loc["a", "mean"] == 1.0 and np.isnan(table.loc["a", "low"])
    assert table.loc["b", "n"] == 2 and np.isfinite(table.loc["b", "high"])


# --------------------------------------------------------------------------- summarize


def final(frame):
    return frame[frame["step"] == frame["step"].max()]


def test_market_final_step_metrics(output_tables):
    summary = summarize(output_tables)
    last = final(output_tables["market"]).sort_values("replication")
    assert summary["replications"] == 3 and summary["final_step"] == 5
    for metric in ("active", "aware", "promoters", "default_rate"):  # default_rate: an extra column
        assert_stat(summary["market"]["final_step"][metric], last[metric])


def test_market_whole_run_totals_skip_step_zero(output_tables):
    market = output_tables["market"].copy()
    market.loc[market["step"] == 0, "new_active"] = 10**6  # initial state, not an acquisition
    summary = summarize({"market": market})
    totals = [market[(market["replication"] == r) & (market["step"] > 0)]["new_active"].sum()
              for r in range(3)]
    assert_stat(summary["market"]["whole_run"]["new_active_total"], totals)


def test_r_eff_undefined_in_a_replication_is_left_out(output_tables):
    market = output_tables["market"].copy()
    is_final = market["step"] == market["step"].max()
    market.loc[is_final & (market["replication"] == 0), ["promoters", "r_eff"]] = [0, np.nan]
    market.loc[is_final & (market["replication"] != 0), "r_eff"] = [0.5, 0.9]
    entry = summarize({"market": market})["market"]["final_step"]["r_eff"]
    assert_stat(entry, [0.5, 0.9])
    assert entry["n"] == 2


def test_institution_figures(output_tables):
    summary = summarize(output_tables)
    inst = output_tables["institutions"]
    for ident in ("citic", "ant"):
        rows = inst[inst["institution"] == ident]
        entry = summary["institutions"][ident]
        assert entry["kind"] == rows["kind"].iloc[0]
        last = final(rows).sort_values("replication")
        for column in ("customers", "market_share", "capital", "profit", "customers_credit"):
            assert_stat(entry["final_step"][column], last[column])
        during = rows[rows["step"] >= 1]
        spend = during.groupby("replication")["acquisition_spend"].sum()
        new = during.groupby("replication")["new_customers"].sum()
        assert_stat(entry["whole_run"]["cac"], spend / new)
        assert_stat(entry["whole_run"]["profit_total"], during.groupby("replication")["profit"].sum())


def test_acquisitions_by_channel(output_tables):
    section = summarize(output_tables)["acquisitions_by_channel"]
    channels = output_tables["channels"]
    during = channels[channels["step"] >= 1]

    def per_rep(ident, channel, column):
        rows = during[(during["institution"] == ident) & (during["channel"] == channel)]
        sums = rows.groupby("replication")[column].sum()
        return np.array([sums.get(r, 0.0) for r in range(3)], dtype=float)

    branch = section["by_institution"]["citic"]["branch"]
    assert_stat(branch["new_customers"], per_rep("citic", "branch", "new_customers"))
    assert_stat(branch["cac"], per_rep("citic", "branch", "spend")
                / per_rep("citic", "branch", "new_customers"))

    # absent in replication 1: counts as zero customers there, and CAC is undefined there
    via_platform = section["by_institution"]["citic"]["platform:ant"]
    new = per_rep("citic", "platform:ant", "new_customers")
    assert new[1] == 0
    assert_stat(via_platform["new_customers"], new)
    assert via_platform["cac"]["n"] == 2

    # spend without customers, and a channel of zeros: no CAC at all
    for ident, channel in (("ant", "live_stream"), ("citic", "employee")):
        cac = section["by_institution"][ident][channel]["cac"]
        assert cac == {"mean": None, "low": None, "high": None, "n": 0}

    totals = [during[during["replication"] == r]["new_customers"].sum() for r in range(3)]
    shares = np.array([during[(during["replication"] == r) & (during["channel"] == "referral")]
                       ["new_customers"].sum() for r in range(3)]) / totals
    assert_stat(section["all_institutions"]["referral"]["share_of_new_customers"], shares)
    assert list(section["by_institution"]["citic"])[:3] == ["branch", "own_app", "referral"]


def test_metrics_argument(output_tables):
    summary = summarize(output_tables, metrics=["active", "r_eff"])
    assert set(summary["market"]["final_step"]) == {"active", "r_eff"}
    assert set(summary["market"]["whole_run"]) == {"r_eff_mean_over_steps"}
    with pytest.raises(ValueError, match="unknown market metric"):
        summarize(output_tables, metrics=["activ"])


def test_one_replication_has_no_intervals_and_says_so(make_tables):
    summary = summarize(make_tables(replications=1))
    assert summary["replications"] == 1
    assert "1 replication" in summary["interval"]["note"]
    entry = summary["institutions"]["citic"]["final_step"]["customers"]
    assert entry["mean"] is not None and entry["low"] is None and entry["high"] is None


def test_summary_is_strict_json(output_tables, tmp_path):
    summary = summarize(output_tables)
    json.dumps(summary, allow_nan=False)
    path = write_summary(summary, tmp_path / "summary.json")

    def no_constants(name):
        raise AssertionError(f"{name} in summary.json")

    assert json.loads(path.read_text(), parse_constant=no_constants) == summary
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_missing_required_column_is_reported(output_tables):
    tables = dict(output_tables, channels=output_tables["channels"].drop(columns="spend"))
    with pytest.raises(ValueError, match="'channels'.*spend"):
        summarize(tables)


def test_replication_without_rows_counts_as_zero_acquisitions(output_tables):
    channels = output_tables["channels"]
    dropped = channels[~((channels["institution"] == "ant") & (channels["replication"] == 2))]
    tables = dict(output_tables, channels=dropped)
    entry = summarize(tables)["acquisitions_by_channel"]["by_institution"]["ant"]["own_app"]
    rows = dropped[(dropped["institution"] == "ant") & (dropped["channel"] == "own_app")
                   & (dropped["step"] >= 1)]
    sums = rows.groupby("replication")["new_customers"].sum()
    assert_stat(entry["new_customers"], [sums[0], sums[1], 0.0])
