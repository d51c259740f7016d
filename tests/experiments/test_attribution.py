"""Attribution of a difference to each change (sim.experiments.attribution) and ``compare --attribute``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiments.attribution import REMAINDER, TOTAL, attribute, change_groups
from sim.scenario import load_scenario, with_overrides

DATA = Path(__file__).resolve().parents[1] / "data" / "claims"
RATE, PRICE = "banks.a.referral.rate", "banks.b.offers.payments.price"


def toy(form: str):
    """A fake run: per replication, noise (shared across scenarios: CRN) plus a function of two parameters."""
    def metrics(scenario, replications, seed):
        rate, price = scenario.banks["a"].referral.rate, scenario.banks["b"].offers["payments"].price
        noise = np.random.default_rng(seed).normal(0, 50, replications)
        value = 1000 * rate + 30 * price if form == "additive" else 1000 * rate * price
        return pd.DataFrame({"m": noise + value, "other": noise * rate})
    return metrics


def parts(attribution, metric="m"):
    rows = attribution.for_metric(metric).set_index("part")
    return rows["contribution"]


def test_groups_are_each_change_without_levers_and_the_levers_with():
    base, two = load_scenario(DATA / "base.yaml"), load_scenario(DATA / "two_changes.yaml")
    assert change_groups(base, two) == {RATE: [RATE], PRICE: [PRICE]}
    with_lever = with_overrides(two, {"levers": ["banks.a.referral"]})
    assert change_groups(base, with_lever) == {"banks.a.referral": [RATE], PRICE: [PRICE]}


def test_additive_toy_gives_each_change_its_own_effect_and_no_remainder():
    base, two = load_scenario(DATA / "base.yaml"), load_scenario(DATA / "two_changes.yaml")
    result = parts(attribute(base, two, replications=5, seed=1, metrics=toy("additive")))
    assert result[RATE] == pytest.approx(1000 * (0.2 - 0.01))
    assert result[PRICE] == pytest.approx(30 * (2.0 - 1.2))
    assert result[REMAINDER] == pytest.approx(0, abs=1e-9)
    assert result[TOTAL] == pytest.approx(1000 * 0.19 + 30 * 0.8)


@pytest.mark.parametrize("form", ["additive", "product"])
def test_parts_sum_exactly_to_the_total(form):
    base, two = load_scenario(DATA / "base.yaml"), load_scenario(DATA / "two_changes.yaml")
    attribution = attribute(base, two, replications=4, seed=2, metrics=toy(form))
    for metric in ("m", "other"):
        result = parts(attribution, metric)
        assert result.drop(TOTAL).sum() == pytest.approx(result[TOTAL], rel=1e-12, abs=1e-12)
    if form == "product":   # rate x price: the interaction is (0.19)(0.8)1000 exactly
        assert parts(attribution)[REMAINDER] == pytest.approx(1000 * 0.19 * 0.8)


def test_model_attribution_sums_to_the_total():
    base, two = load_scenario(DATA / "base.yaml"), load_scenario(DATA / "two_changes.yaml")
    table = attribute(base, two, replications=2).table
    for metric, rows in table.groupby("metric"):
        rows = rows.set_index("part")["contribution"]
        if np.isfinite(rows).all():
            assert rows.drop(TOTAL).sum() == pytest.approx(rows[TOTAL], rel=1e-9, abs=1e-9), metric


@pytest.mark.slow
def test_cli_compare_attribute_end_to_end(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", str(DATA / "base.yaml"), str(DATA / "two_changes.yaml"), "--attribute",
                 "-r", "2", "--out", str(out), "-q"])
    assert code == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## What each change did" in report and "interaction remainder" in report
    table = pd.read_csv(out / "attribution.csv")
    assert set(table["part"]) == {RATE, PRICE, REMAINDER, TOTAL}
    assert list((out / "plots").glob("attribution_*.png"))
    assert "What each change did" in (out / "report.html").read_text(encoding="utf-8")


def test_cli_attribute_needs_two_scenarios(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", str(DATA / "base.yaml"), str(DATA / "two_changes.yaml"), str(DATA / "referral.yaml")]
    assert main([*args, "--attribute", "--out", str(out), "-q"]) == 2
    assert "--attribute" in capsys.readouterr().err and not out.exists()


def test_model_attribution_is_the_same_on_a_pool_and_from_the_compared_runs():
    from sim.experiments.compare import compare
    from sim.experiments.metrics import key_metrics

    base, two = load_scenario(DATA / "base.yaml"), load_scenario(DATA / "two_changes.yaml")
    serial = attribute(base, two, replications=2, seed=3).table
    pooled = attribute(base, two, replications=2, seed=3, workers=2).table
    comparison = compare([base, two], replications=2, seed=3)
    known = [key_metrics(r.tables) for r in comparison.results]
    reused = attribute(base, two, replications=2, seed=3, base=known[0], full=known[1]).table
    pd.testing.assert_frame_equal(pooled, serial, check_exact=True)
    pd.testing.assert_frame_equal(reused, serial, check_exact=True)


def test_cli_compare_attribute_runs_each_scenario_once(tmp_path, monkeypatch):
    import sim.experiments.replicate as replicate

    runs = []
    replication = replicate.run_replication
    monkeypatch.setattr(replicate, "run_replication",
                        lambda scenario, seed, k: runs.append(scenario.name) or replication(scenario, seed, k))
    code = main(["compare", str(DATA / "base.yaml"), str(DATA / "two_changes.yaml"), "--attribute",
                 "-r", "2", "--out", str(tmp_path / "cmp"), "-q"])
    assert code == 0
    base, two = load_scenario(DATA / "base.yaml"), load_scenario(DATA / "two_changes.yaml")
    # A and B for the comparison, then A with each of the two changes alone: two replications each.
    assert sorted(runs) == sorted([base.name, two.name, f"{base.name}-change1", f"{base.name}-change2"] * 2)
