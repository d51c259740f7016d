"""Claims on common random numbers, their ablation, and levers (sim.experiments.claims)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments import metrics as reducer
from sim.experiments.changes import settable_paths
from sim.experiments.claims import ablated, evaluate_claims, holds, judge, lever_violations
from sim.scenario import load_scenario
from sim.scenario.claims import INSTITUTION_METRICS, MARKET_METRICS
from sim.scenario.schema import ClaimSpec

DATA = Path(__file__).resolve().parents[1] / "data" / "claims"


def test_every_claim_metric_is_one_the_reducer_makes():
    made = {*reducer.KEY_MARKET_LEVELS, "default_rate (run)", "p2p platforms failed (share)",
            *(f"{c} (run)" for c in (*reducer.KEY_MARKET_FLOWS, *reducer.KEY_MARKET_RISK_FLOWS))}
    assert set(MARKET_METRICS) <= made
    per_institution = {"market_share", "customers", "cac (run)", "profit (run)", "default_rate (run)",
                       "expected_default_rate (run)", *(f"{c} (run)" for c in ("defaults", "losses"))}
    assert set(INSTITUTION_METRICS) <= per_institution


def test_every_key_metric_of_a_run_can_be_claimed():
    scenario = load_scenario(DATA / "base.yaml")
    columns = reducer.key_metrics(__import__("sim").run(scenario, replications=1).tables).columns
    for column in columns:
        ident, sep, rest = column.partition(": ")
        assert (column in MARKET_METRICS) if not sep else (rest in INSTITUTION_METRICS), column


def test_lever_violations_list_changes_outside_levers():
    base = load_scenario(DATA / "base.yaml")
    assert lever_violations(load_scenario(DATA / "referral.yaml"), base) == []
    two = load_scenario(DATA / "two_changes.yaml")     # no levers: both changes are outside
    assert lever_violations(two, base) == ["banks.a.referral.rate", "banks.b.offers.payments.price"]


def test_ablation_resets_levers_to_the_comparison():
    scenario, base = load_scenario(DATA / "referral.yaml"), load_scenario(DATA / "base.yaml")
    off = ablated(scenario, base)
    assert off.banks["a"].referral.rate == base.banks["a"].referral.rate
    assert lever_violations(off, base) == []


def test_ablation_removes_an_added_partnership():
    """A lever that adds an entry the comparison lacks is reset by setting the mapping that would hold it."""
    library = Path(__file__).resolve().parents[2] / "scenarios"
    scenario, base = load_scenario(library / "financial_supermarket.yaml"), load_scenario(library / "baseline.yaml")
    assert "icbc_finmarket" in scenario.partnerships and "icbc_finmarket" not in base.partnerships
    off = ablated(scenario, base)
    assert off.partnerships == base.partnerships
    assert lever_violations(off, base) == []


def test_settable_paths_widen_only_what_the_target_lacks():
    base = load_scenario(DATA / "base.yaml")
    some_bank = next(iter(base.banks))
    paths = ["partnerships.added.spend", f"banks.{some_bank}.referral.rate", "partnerships.other"]
    assert settable_paths(base, paths) == ["partnerships", f"banks.{some_bank}.referral.rate"]


@pytest.mark.parametrize(("direction", "low", "high", "within", "expected"), [
    ("higher", 0.1, 2.0, None, True), ("higher", -0.1, 2.0, None, False),
    ("lower", -2.0, -0.1, None, True), ("lower", -2.0, 0.1, None, False),
    ("within", -0.5, 0.5, 1.0, True), ("within", -0.5, 1.5, 1.0, False),
    ("within", 2.0, 3.0, (1.5, 3.5), True), ("higher", np.nan, np.nan, None, False),
])
def test_holds_reads_the_interval(direction, low, high, within, expected):
    claim = ClaimSpec(metric="active", direction=direction, within=within, compare_to="x.yaml")
    assert holds(claim, low, high) is expected


def test_judge_pairs_replications():
    """Paired: a shift of exactly 1 in every replication gives the interval [1, 1], whatever the noise."""
    noise = pd.Series(np.random.default_rng(3).normal(0, 100, 8))
    claim = ClaimSpec(metric="active", direction="higher", compare_to="x.yaml")
    result = judge(claim, pd.DataFrame({"active": noise + 1}), pd.DataFrame({"active": noise}),
                   ablation=pd.DataFrame({"active": noise}))
    assert result.difference == pytest.approx(1) and result.low == pytest.approx(1) and result.holds
    assert result.vanishes and result.pairs == 8


def test_referral_claim_holds_and_vanishes_without_its_lever():
    """Model run: bank a's referral rate 0.01 -> 0.2 gives more referral conversions; ablated, none at all."""
    scenario = load_scenario(DATA / "referral.yaml")
    [result] = evaluate_claims(scenario, replications=3)
    assert result.holds and result.low > 0
    assert result.vanishes and result.ablation == pytest.approx((0.0, 0.0, 0.0))


def test_compare_judges_the_claims_made_against_its_first_scenario(tmp_path):
    """The comparison report reads claims: same seeds, so the same verdict as evaluate_claims."""
    from sim.experiments.claims import claims_in_comparison
    from sim.experiments.compare import compare
    from sim.outputs.report import write_report

    base, scenario = load_scenario(DATA / "base.yaml"), load_scenario(DATA / "referral.yaml")
    comparison = compare([base, scenario], replications=3)
    [(name, result)] = claims_in_comparison(comparison)
    [direct] = evaluate_claims(scenario, replications=3, ablate=False)
    assert name == "claims_referral" and result.difference == pytest.approx(direct.difference)
    assert result.holds == direct.holds
    assert claims_in_comparison(compare([scenario, base], replications=1)) == []   # made against base only
    write_report(comparison, tmp_path)
    assert "## Claims" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert pd.read_csv(tmp_path / "claims.csv")["holds"].tolist() == [direct.holds]
