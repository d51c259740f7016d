"""P2P lenders (SF13): investor funding, runs, failure and strategic default after failure."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.risk import p2p
from sim.errors import ScenarioError
from sim.model import ChannelModel
from sim.scenario.loader import deep_merge, validate_data


def p2p_market(shock: float, extra: dict | None = None, platforms: int = 8):
    """Eight P2P platforms lending out nearly all their investors' money; a macro shock at step 13."""
    lenders = {
        f"p{i}": {"type": "p2p", "users": 0.3, "data_quality": 0.2 + 0.05 * i,
                  "offers": {"loan": {"price": 1.0 + 0.02 * i}}, "own_app": {"spend": 51.2933},
                  "credit": {"cutoff": 0.01, "capital_ratio": 0.4},
                  "p2p": {"funding": 200.0, "guarantee": 0.5, "run_trigger": 0.008, "failure_weight": 0.05}}
        for i in range(platforms)}
    data = {
        "name": "p2p_test", "time": {"steps": 36},
        "population": {"size": 5000, "credit": {"subprime_share": 0.3}},
        "network": {"kind": "erdos_renyi", "mean_degree": 6},
        # Unit response curves: p = 1 - exp(-spend / 1000) (spend 223.144 gives p = 0.2).
        "marketing": {"response": {c: {"p_max": 1.0, "s0": 1000.0}
                                   for c in ("branch", "own_app", "live_stream", "platform")}},
        "products": {"loan": {"kind": "credit", "loan": {"size_mean": 10_000, "size_sd": 3_000, "term": 12}}},
        "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0},
        "choice": {"switching": 0.0},
        "credit": {"enabled": True},
        "platforms": lenders,
        "macro": {"path": [1.0] * 12 + [shock] * 24},
    }
    return validate_data(deep_merge(data, extra or {}), "test.yaml")


# --------------------------------------------------------------------------- kernels
def test_signal_is_an_exponentially_weighted_default_rate():
    signal = p2p.update_signal(np.array([0.01, 0.0]), np.array([0.03, 0.02]), np.array([0.1, 0.5]))
    assert signal.tolist() == pytest.approx([0.012, 0.01])
    assert p2p.alarm(np.array([0.01]), 0.5, np.array([0.04])).tolist() == pytest.approx([0.03])


def test_investor_flows_grow_funds_or_run_and_break_illiquid_platforms():
    cash, withdrawn, illiquid = p2p.investor_flows(
        cash=np.array([100.0, 100.0, 5.0]), outstanding=np.array([900.0, 900.0, 995.0]),
        in_run=np.array([False, True, True]), inflow=np.array([0.02, 0.02, 0.02]),
        withdrawal=np.array([0.1, 0.1, 0.1]))
    assert cash.tolist() == pytest.approx([120.0, 0.0, 0.0])
    assert withdrawn.tolist() == pytest.approx([-20.0, 100.0, 5.0])
    assert illiquid.tolist() == [False, False, True]


# --------------------------------------------------------------------------- the model
def failures(model) -> list[int]:
    inst = model.tables()["institutions"]
    return inst[inst["failed"]].groupby("institution")["step"].min().sort_values().tolist()


@pytest.mark.parametrize("seed", [1, 2])
def test_without_a_shock_no_platform_fails(seed):
    model = ChannelModel(p2p_market(1.0), seed=seed)
    model.run()
    assert failures(model) == []
    inst = model.tables()["institutions"]
    assert inst.loc[inst["step"] == 36, "loans"].sum() > 1000


@pytest.mark.parametrize("seed", [1, 2])
def test_a_shock_brings_runs_and_a_collapse_that_spreads(seed):
    """SF13: when defaults rise together, most P2P platforms fail, one after another within a few steps."""
    model = ChannelModel(p2p_market(3.0), seed=seed)
    model.run()
    failed = failures(model)
    assert len(failed) >= 6                           # SF13: 87% of platforms closed or in trouble
    assert failed[0] > 12                              # after the shock, not before
    assert failed[-1] - failed[0] <= 6                 # the others follow the first quickly
    inst = model.tables()["institutions"]
    assert inst["in_run"].any()
    gone = inst[inst["failed"]]
    assert gone["new_loans"].sum() == 0 and gone["approvals"].sum() == 0


def test_failure_share_feeds_other_platforms_alarm():
    """With no weight on others' failures, the collapse is slower to spread than with it."""
    spread = ChannelModel(p2p_market(3.0), seed=1)
    spread.run()
    alone = ChannelModel(p2p_market(3.0, {"platforms": {f"p{i}": {"p2p": {"failure_weight": 0.0}} for i in range(8)}}),
                         seed=1)
    alone.run()
    f_spread, f_alone = failures(spread), failures(alone)
    assert len(f_spread) >= len(f_alone)
    assert np.mean(f_spread) <= np.mean(f_alone)


def test_borrowers_of_a_failed_platform_default_more():
    def market(multiplier: float):
        extra = {"platforms": {f"p{i}": {"p2p": {"strategic_default": multiplier}} for i in range(8)}}
        model = ChannelModel(p2p_market(3.0, extra), seed=1)
        model.run()
        return model
    plain, strategic = market(1.0), market(10.0)
    first = failures(plain)[0]
    assert failures(strategic)[0] == first           # identical until the first failure
    def after(model, column):
        market = model.tables()["market"]
        return market.loc[market["step"] > first, column].sum()
    assert after(strategic, "new_defaults") > 3 * after(plain, "new_defaults")
    assert after(strategic, "contagion_defaults") > 0.5 * after(strategic, "new_defaults")
    assert after(plain, "contagion_defaults") == 0


def test_investor_funds_account_for_every_flow():
    """Δ investors' funds = interest − (losses − insured − guarantee) − premiums − withdrawals."""
    model = ChannelModel(p2p_market(3.0), seed=2)
    model.run()
    inst = model.tables()["institutions"]
    for _, rows in inst.groupby("institution"):
        rows = rows.sort_values("step")
        change = rows["investor_funds"].diff().iloc[1:]
        flows = (rows["interest_income"] - (rows["losses"] - rows["insured_losses"] - rows["guarantee_paid"])
                 - rows["premiums_paid"] - rows["investor_withdrawals"]).iloc[1:]
        alive = ~rows["failed"].shift(fill_value=False).iloc[1:]
        assert np.allclose(change[alive], flows[alive], rtol=1e-9, atol=1e-3)


def test_p2p_block_only_on_p2p_platforms():
    with pytest.raises(ScenarioError) as info:
        p2p_market(1.0, {"platforms": {"mall": {"type": "scenario", "p2p": {"funding": 1.0}}}})
    assert "platforms.mall" in str(info.value) and "type p2p" in str(info.value)
