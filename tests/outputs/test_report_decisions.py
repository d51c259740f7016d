"""The comparison report's Decisions section: levers the policies moved, in display names; none → no section."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from sim.experiments.compare import compare
from sim.outputs.report import write_report
from sim.outputs.report_decisions import format_lever_value, lever_label, lever_moves, owner_label
from sim.scenario import load_scenario, with_overrides

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"population.size": 600, "time.steps": 27}


def decision_rows(rows):
    frame = pd.DataFrame(rows, columns=["replication", "step", "source", "owner", "lever", "before", "after"])
    frame["before"] = frame["before"].map(json.dumps)
    frame["after"] = frame["after"].map(json.dumps)
    return frame


def test_lever_moves_start_end_range_and_counts_with_a_replication_that_never_moved():
    decisions = decision_rows([
        (0, 3, "decision", "banks.a", "offers.pay.price", 2.0, 1.9),
        (0, 6, "decision", "banks.a", "offers.pay.price", 1.9, 1.8),
        (1, 3, "decision", "banks.a", "offers.pay.price", 2.0, 2.1),
        (0, 4, "event", "banks.a", "referral.bonus", 0.0, 20.0),           # events are not decisions
        (1, 9, "decision", "banks.a", "marketing.split", {"branch": 0.5, "own_app": 0.5},
         {"branch": 0.4, "own_app": 0.6}),
    ])
    moves = lever_moves(decisions, replications=3).set_index("lever")
    assert list(moves.index) == ["offers.pay.price", "marketing.split"]       # most changed first
    price = moves.loc["offers.pay.price"]
    assert price["start"] == 2.0
    assert price["end"] == pytest.approx((1.8 + 2.1 + 2.0) / 3)              # replication 2 kept its start
    assert (price["end_low"], price["end_high"]) == (1.8, 2.1)
    assert price["changes_per_replication"] == pytest.approx(3 / 3) and price["replications_moved"] == 2
    split = moves.loc["marketing.split"]
    assert split["start"] == {"branch": 0.5, "own_app": 0.5}
    assert split["end"] == {"branch": 0.5, "own_app": 0.5}                    # 2 of 3 replications never moved it
    assert pd.isna(split["end_low"]) and split["replications_moved"] == 1
    assert "referral.bonus" not in moves.index


def test_levers_owners_and_values_in_words():
    assert lever_label("offers.payments.price") == "price of payments (yuan)"
    assert lever_label("take_rate") == "take rate"
    assert lever_label("some.new_lever") == "some new lever"
    names = {"icbc": "Large state bank", "shopmall": "E-commerce platform"}
    assert owner_label("banks.icbc", names, {}) == "Large state bank"
    assert owner_label("partnerships.p1", names, {"p1": ("icbc", "shopmall")}) == \
        "Large state bank × E-commerce platform partnership"
    assert format_lever_value(2.7755575615628914e-17) == "0"
    assert format_lever_value(True) == "yes"
    assert format_lever_value({"branch": 0.4, "own_app": 0.6}) == "branch 0.4, own_app 0.6"


@pytest.fixture(scope="module")
def rule_report(tmp_path_factory):
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml", SMALL)
    rule = with_overrides(base, {"name": "icbc_rule", "banks.icbc.policy": {"kind": "rule"}})
    comparison = compare([base, rule], replications=2, seed=5)
    return comparison, write_report(comparison, tmp_path_factory.mktemp("report"))


@pytest.mark.slow
def test_the_report_shows_each_moved_lever_with_its_start_end_and_changes(rule_report):
    comparison, written = rule_report
    text = written["markdown"].read_text(encoding="utf-8")
    assert text.count("## Decisions") == 1
    section = text[text.index("## Decisions"):text.index("## Charts")]
    assert "### icbc_rule" in section and "No policy changed a lever in baseline." in section
    assert "banks.icbc" not in section and "Large state bank" in section
    decisions = comparison.results[1].tables["decisions"]
    made = decisions[decisions["source"] == "decision"]
    assert not made.empty and set(made["owner"]) == {"banks.icbc"}
    rows = [line for line in section.splitlines() if line.startswith("| Large state bank |")]
    assert len(rows) == made["lever"].nunique()
    for lever, group in made.groupby("lever"):
        row = next(r for r in rows if f"| {lever_label(lever)} |" in r)
        cells = [c.strip() for c in row.strip("|").split("|")]
        first = group.sort_values(["replication", "step"]).groupby("replication")
        assert cells[2] == format_lever_value(json.loads(first["before"].first().iloc[0]))
        finals = [json.loads(v) for v in first["after"].last()]
        assert cells[3].split(" (")[0] == format_lever_value(sum(finals) / len(finals))
        assert float(cells[4]) == pytest.approx(len(group) / 2, rel=1e-2)
        assert cells[5] == f"{group['replication'].nunique()} of 2"
    html = written["html"].read_text(encoding="utf-8")
    assert "<h2>Decisions</h2>" in html
    table = html[html.index("<h2>Decisions</h2>"):]
    table = table[:table.index("</table>")]
    assert len(re.findall(r"<tr>\s*<td>Large state bank</td>", table)) == len(rows)


@pytest.mark.slow
def test_no_decisions_no_section_even_when_events_changed_levers(tmp_path):
    scenarios = [load_scenario(ROOT / "scenarios" / name, SMALL) for name in ("baseline.yaml", "city_bank_local.yaml")]
    comparison = compare(scenarios, replications=2, seed=5)
    assert (comparison.results[1].tables["decisions"]["source"] == "event").any()
    written = write_report(comparison, tmp_path)
    assert "Decisions" not in written["markdown"].read_text(encoding="utf-8")
    assert "<h2>Decisions</h2>" not in written["html"].read_text(encoding="utf-8")
