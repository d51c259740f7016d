"""The comparison report: the summary's sentences, what differs, formatters, intervals, charts left out."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments.compare import compare, parameter_differences
from sim.experiments.stats import bootstrap_mean_ci, wilson_interval
from sim.outputs.formats import axis_formatter, describe_metric, percent, points, thousands, yuan
from sim.outputs.report import changed_sentence, compare_sentence, movers_sentence, summary_lines, write_report
from sim.outputs.report_plots import plot_institution_bars
from sim.scenario import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"population.size": 500, "time.steps": 12}


def differences(rows):
    return pd.DataFrame(rows, columns=["scenario", "metric", "difference", "low", "high"])


# --------------------------------------------------------------------------- the summary
def test_sentence_names_the_bigger_scenario_first_with_its_interval():
    info = describe_metric("active")
    up = compare_sentence(info, "promo", "baseline", 1200.0, 900.0, 1500.0)
    assert "**promo** is higher than **baseline** by 1,200" in up
    assert "95% interval 900 to 1,500" in up
    down = compare_sentence(info, "promo", "baseline", -1200.0, -1500.0, -900.0)
    assert "**baseline** is higher than **promo** by 1,200" in down
    assert "95% interval 900 to 1,500" in down


def test_sentence_says_no_clear_difference_when_the_interval_includes_zero():
    text = compare_sentence(describe_metric("active"), "promo", "baseline", 12.0, -20.0, 44.0)
    assert "no clear difference" in text and "−20 to +44" in text
    assert "higher than" not in text


def test_sentence_for_a_rate_is_in_percentage_points():
    text = compare_sentence(describe_metric("default_rate (run)"), "tight", "baseline", -0.004, -0.006, -0.002)
    assert "**baseline** is higher than **tight** by 0.40 pts" in text
    assert "(95% interval 0.20 to 0.60 pts)" in text


def test_movers_name_who_gains_and_who_loses_in_display_names():
    diffs = differences([
        ("b", "icbc: market_share", 0.021, 0.015, 0.027),
        ("b", "citic: market_share", -0.03, -0.038, -0.022),
        ("b", "citybank: market_share", 0.001, -0.004, 0.006),
    ])
    names = {"icbc": "Large state bank", "citic": "Joint-stock bank", "citybank": "City commercial bank"}
    text = movers_sentence(diffs, "market_share", "b", "a", names)
    assert "Large state bank gains 2.1 pts (1.5 to 2.7 pts); Joint-stock bank loses 3.0 pts (2.2 to 3.8 pts)" in text
    assert "No clear change in market share at the end for City commercial bank" in text
    assert "icbc" not in text


def test_summary_lists_every_other_scenario_and_what_it_changed():
    diffs = differences([("b", "active", 50.0, 10.0, 90.0), ("c", "active", -5.0, -30.0, 20.0)])
    blocks = summary_lines(diffs, ["a", "b", "c"], {}, {"b": ["choice.price"], "c": []})
    assert [block[0] for block in blocks] == ["**b** against **a**:", "**c** against **a**:"]
    assert any("**b** is higher than **a** by 50" in line for line in blocks[0])
    assert any("one parameter only (`choice.price`" in line and "that parameter's effect" in line for line in blocks[0])
    assert any("no clear difference" in line for line in blocks[1])
    assert any("sets no parameter differently" in line for line in blocks[1])


# --------------------------------------------------------------------------- what differs
def test_what_differs_lists_exactly_the_differing_resolved_paths():
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml", SMALL)
    event = {"at": 6, "set": {"banks.icbc.trust": 0.6}, "label": "trust campaign"}
    other = with_overrides(base, {"name": "other", "banks.icbc.trust": 0.5, "choice.price": -2.0,
                                  "description": "not a parameter", "events": [event]})
    same_as_default = with_overrides(base, {"name": "same", "choice.price": base.choice.price})
    table = parameter_differences([base, other, same_as_default])
    assert set(table["parameter"]) == {"banks.icbc.trust", "choice.price", "events"}
    row = table.set_index("parameter").loc["banks.icbc.trust"]
    assert row["baseline"] == base.banks["icbc"].trust and row["other"] == 0.5 and row["same"] == row["baseline"]


def test_city_bank_extends_baseline_and_its_differences_include_the_inherited_event():
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    city = load_scenario(ROOT / "scenarios" / "city_bank_local.yaml")
    paths = set(parameter_differences([base, city])["parameter"])
    assert {"network.kind", "banks.citybank.own_app.spend", "events"} <= paths
    assert "name" not in paths and "description" not in paths
    # an empty mapping in one scenario and entries in the other: only the entries are listed
    assert "banks.citybank.own_app.follower_communities" not in paths
    assert "banks.citybank.own_app.follower_communities.payroll" in paths


# --------------------------------------------------------------------------- intervals
def test_wilson_interval_matches_the_published_value():
    # 1 success in 10 trials: Wilson 95% interval 0.0179 to 0.4042 (the textbook value, e.g. Agresti & Coull 1998)
    p, low, high = wilson_interval(1, 10)
    assert p == pytest.approx(0.1)
    assert float(low) == pytest.approx(0.017876, abs=1e-5) and float(high) == pytest.approx(0.404150, abs=1e-5)
    p, low, high = wilson_interval(np.array([0, 50, 7]), np.array([40, 100, 0]))
    assert low[0] == 0.0 and 0 < high[0] < 0.1                 # never negative, even with no events
    assert low[1] == pytest.approx(0.4038, abs=1e-4) and high[1] == pytest.approx(0.5962, abs=1e-4)
    assert math.isnan(p[2])                                    # no trials, no rate


def test_bootstrap_interval_of_rates_stays_in_the_unit_interval():
    mean, low, high = bootstrap_mean_ci([0.0, 0.0, 0.01, 0.0])
    assert mean == pytest.approx(0.0025)
    assert 0.0 <= low <= mean <= high <= 0.01
    one = bootstrap_mean_ci([0.3])
    assert one[0] == 0.3 and math.isnan(one[1]) and math.isnan(one[2])    # one value: no interval
    assert bootstrap_mean_ci([0.2, 0.4]) == bootstrap_mean_ci([0.2, 0.4])   # seeded


# --------------------------------------------------------------------------- formatters
@pytest.mark.parametrize(("value", "text"), [
    (0, "0 yuan"), (7.5, "7.50 yuan"), (850, "850 yuan"), (12_345, "12,345 yuan"),
    (1_234_567, "1.23 million yuan"), (-1_234_567, "−1.23 million yuan"), (3.4e9, "3.40 billion yuan"),
    (float("nan"), "—"), (None, "—"),
])
def test_yuan(value, text):
    assert yuan(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (0, "0%"), (0.0025, "0.25%"), (0.125, "12.5%"), (1.0, "100%"), (0.00001, "<0.01%"), (-0.02, "−2.0%"),
    (float("inf"), "—"),
])
def test_percent(value, text):
    assert percent(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (0.5, "0.5"), (999, "999"), (6_600, "6,600"), (12_345, "12.3 thousand"), (1e6, "1.00 million"),
    (-25_000, "−25.0 thousand"), (float("nan"), "—"),
])
def test_thousands(value, text):
    assert thousands(value) == text


def test_points_and_axis_formatters_have_no_offset_or_scientific_notation():
    assert points(0.021) == "+2.1 pts" and points(-0.0035) == "−0.35 pts" and points(0) == "0.00 pts"
    count, money = axis_formatter("count"), axis_formatter("yuan")
    assert [count(v, 0) for v in (0, 2.5, 6_600, 12_000, 1_500_000)] == ["0", "2.5", "6,600", "12k", "1.5M"]
    assert money(-50_000, 0) == "−50k" and money(2e9, 0) == "2bn"


def test_metric_names_become_labels_units_and_groups():
    names = {"icbc": "Large state bank"}
    share = describe_metric("icbc: market_share", names)
    assert (share.group, share.unit, share.headline) == ("Large state bank", "percent",
                                                         "Large state bank: market share at the end")
    assert describe_metric("credit_losses (run)").unit == "yuan"
    assert describe_metric("insurer pingan: capital").group == "Credit risk"


# --------------------------------------------------------------------------- charts and the whole report
def test_no_bars_for_an_all_zero_quantity(tmp_path):
    table = pd.DataFrame({"scenario": ["a", "b", "a", "b"], "metric": ["x: profit (run)"] * 2 + ["y: profit (run)"] * 2,
                          "mean": [0.0, 0.0, 0.0, np.nan], "low": np.nan, "high": np.nan})
    path, empty = plot_institution_bars(table, "profit (run)", ["a", "b"], {}, tmp_path / "p.png", title="t",
                                        subtitle="s")
    assert path is None and empty == ["x", "y"] and not (tmp_path / "p.png").exists()
    table.loc[0, "mean"] = 5.0
    path, empty = plot_institution_bars(table, "profit (run)", ["a", "b"], {}, tmp_path / "p.png", title="t",
                                        subtitle="s")
    assert path.is_file() and empty == ["y"]


def test_report_has_display_names_no_literal_markdown_and_embedded_images(tmp_path):
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml", SMALL)
    other = with_overrides(base, {"name": "cheaper_app", "banks.icbc.own_app.spend": 200})
    written = write_report(compare([base, other], replications=2, seed=3), tmp_path)
    md = written["markdown"].read_text()
    page = written["html"].read_text()
    assert md.index("## Summary") < md.index("## What differs") < md.index("## Key metrics")
    assert "`banks.icbc.own_app.spend`" in md and "Large state bank" in md
    assert "### Large state bank" in md and "### Market" in md
    assert "e-0" not in md and "e+0" not in md                       # no scientific notation
    assert "**" not in page and "<strong>cheaper_app</strong>" in page
    assert "<table>" in page and page.count('src="data:image/png;base64,') == len(list(written["plots"].glob("*.png")))
    assert "No defaults chart" in md or "defaults.png" in md


def test_several_changed_parameters_are_said_to_be_confounded():
    text = changed_sentence(["choice.price", "banks.a.referral.bonus"])
    assert "2 parameters changed together" in text and "cannot say which" in text
