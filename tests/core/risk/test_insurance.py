"""Credit-guarantee insurers (SF12): capacity, premiums, claims, failure, and the Insurer agent."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.risk import insurance
from sim.errors import ScenarioError
from sim.model import ChannelModel
from sim.model.agents import Insurer
from sim.scenario.loader import deep_merge, validate_data


def insured_scenario(extra: dict | None = None):
    """A bank with a strict cut-off, a subprime-heavy population and a partner insurer."""
    data = {
        "name": "insurance_test",
        "time": {"steps": 24},
        "population": {"size": 3000, "credit": {"subprime_share": 0.5}},
        "network": {"kind": "erdos_renyi", "mean_degree": 6},
        # Unit response curves: p = 1 - exp(-spend / 1000) (spend 223.144 gives p = 0.2).
        "marketing": {"response": {c: {"p_max": 1.0, "s0": 1000.0}
                                   for c in ("branch", "own_app", "live_stream", "platform")}},
        "products": {"loan": {"kind": "credit", "loan": {"size_sd": 0.0}}},
        "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0, "reapply_after": 0},
        "choice": {"switching": 0.0},
        "credit": {"enabled": True},
        "insurers": {"guard": {"premium_rate": 0.06, "coverage": 0.8, "cutoff": 0.04, "capital_ratio": 8.0,
                               "solvency_floor": 0.1}},
        "banks": {"bank": {"type": "state", "offers": {"loan": {"price": 1.0}}, "retention": 1.0,
                           "branch": {"coverage": [1, 1, 1, 1], "spend": 223.144},
                           "credit": {"cutoff": 0.005, "insurer": "guard"}}},
    }
    return validate_data(deep_merge(data, extra or {}), "test.yaml")


# --------------------------------------------------------------------------- kernels
def test_capacity_is_the_room_above_the_floor():
    room = insurance.capacity(np.array([100.0, 100.0, 100.0, 100.0]), np.array([500.0, 1000.0, 0.0, 0.0]),
                              np.array([0.1, 0.1, 0.0, 0.1]), np.array([False, False, False, True]))
    assert room.tolist() == [500.0, 0.0, np.inf, 0.0]


def test_writing_stops_below_the_floor_or_after_failure():
    writing = insurance.writing(np.array([100.0, 100.0, 0.0, 100.0]), np.array([500.0, 1500.0, 0.0, 0.0]),
                                np.array([0.1, 0.1, 0.1, 0.1]), np.array([False, False, False, True]))
    assert writing.tolist() == [True, False, False, False]


def test_premiums_per_step():
    assert insurance.premiums(np.array([12_000.0]), np.array([0.06]), 12.0).tolist() == pytest.approx([60.0])


def test_claims_are_paid_in_full_then_pro_rata_and_the_insurer_fails():
    paid, capital, failed = insurance.settle_claims(np.array([10.0, 20.0, 30.0]), np.array([0, 0, 1]),
                                                    np.array([100.0, 15.0]), np.array([False, False]))
    assert paid.tolist() == pytest.approx([10.0, 20.0, 15.0])
    assert capital.tolist() == pytest.approx([70.0, 0.0])
    assert failed.tolist() == [False, True]
    again, capital2, _ = insurance.settle_claims(np.array([5.0]), np.array([1]), capital, failed)
    assert again.tolist() == [0.0] and capital2.tolist() == pytest.approx([70.0, 0.0])


# --------------------------------------------------------------------------- the model
def test_an_insurer_lets_the_lender_approve_applicants_it_would_refuse():
    with_insurer = ChannelModel(insured_scenario(), seed=1)
    with_insurer.run()
    without = ChannelModel(insured_scenario({"banks": {"bank": {"credit": {"insurer": None}}}}), seed=1)
    without.run()
    a, b = with_insurer.tables()["institutions"], without.tables()["institutions"]
    assert b["insured_approvals"].sum() == 0
    assert a["insured_approvals"].sum() > 200
    assert a["approvals"].sum() > b["approvals"].sum() + 200
    loans = with_insurer.loans()
    insured = loans[loans["insurer"] >= 0]
    # guaranteed borrowers are riskier than the lender's own picks
    hazard = with_insurer.population.hazard
    assert hazard[insured["customer"]].mean() > 2 * hazard[loans.loc[loans["insurer"] < 0, "customer"]].mean()


def test_premiums_and_claims_move_capital_each_step():
    model = ChannelModel(insured_scenario(), seed=2)
    model.run()
    insurers = model.recorder.tables()["insurers"]
    assert set(insurers.columns) >= {"premiums", "claims", "capital", "failed", "writing", "covered_balance"}
    change = insurers["capital"].diff().iloc[1:]
    assert np.allclose(change, (insurers["premiums"] - insurers["claims"]).iloc[1:])
    assert insurers["premiums"].sum() > 0 and insurers["claims"].sum() > 0
    inst = model.tables()["institutions"]
    assert inst["premiums_paid"].sum() == pytest.approx(insurers["premiums"].sum())
    assert inst["insured_losses"].sum() == pytest.approx(insurers["claims"].sum())


def test_below_the_floor_the_insurer_stops_writing():
    # A thin insurer: claims bring its capital below its floor.
    model = ChannelModel(insured_scenario({"insurers": {"guard": {"capital_ratio": 0.33, "solvency_floor": 0.5}}}),
                         seed=3)
    model.run()
    insurers = model.recorder.tables()["insurers"]
    assert (insurers["covered_balance"] <= insurers["capital"] / 0.5 + 20_000 * 0.8 + 1e-6).all()
    assert not insurers["writing"].iloc[1:].all()
    assert (insurers.loc[~insurers["writing"], "new_guarantees"].iloc[1:] == 0).all()


def test_a_capital_rule_event_stops_new_guarantees():
    scenario = insured_scenario({"events": [{"at": 10, "set": {"regulation.insurer_floor": 100.0}}]})
    model = ChannelModel(scenario, seed=4)
    model.run()
    inst = model.tables()["institutions"]
    before = inst.loc[inst["step"].between(2, 9), "insured_approvals"].sum()
    after = inst.loc[inst["step"] >= 10, "insured_approvals"].sum()
    assert before > 100 and after < 0.05 * before
    # The floor is a leverage limit: once the old guarantees have matured, cover stays within capital / floor.
    last = model.recorder.tables()["insurers"].iloc[-1]
    assert last["covered_balance"] <= 1.05 * last["capital"] / 100.0


def test_the_insurer_is_a_mesa_agent():
    model = ChannelModel(insured_scenario(), seed=5)
    model.run(3)
    (agent,) = list(model.insurers)
    assert isinstance(agent, Insurer) and model.institution("guard") is agent
    assert agent.capital == pytest.approx(model.credit.insurer_capital[0])
    assert set(agent.accounts) >= {"premiums", "claims", "capital", "failed"}
    assert agent.failed is False


def test_insurer_partner_must_exist():
    with pytest.raises(ScenarioError) as info:
        insured_scenario({"banks": {"bank": {"credit": {"insurer": "nobody"}}}})
    assert "banks.bank.credit.insurer" in str(info.value) and "guard" in str(info.value)


@pytest.mark.slow  # a credit run and its charts
def test_risk_charts_are_written_for_a_credit_run(tmp_path):
    from sim.outputs.risk_plots import plot_risk

    model = ChannelModel(insured_scenario({"insurers": {"guard": {"capital_ratio": 0.17}}, "macro": {"level": 3.0}}),
                         seed=6)
    model.run()
    written = plot_risk(model.recorder.tables(), tmp_path, title_prefix="test")
    assert [p.name for p in written] == ["default_rate_by_lender.png", "default_rate_by_channel.png",
                                         "cascade_size.png", "insurer_capital.png", "lender_losses.png"]
    assert all(p.stat().st_size > 10_000 for p in written)
    off = ChannelModel(insured_scenario({"credit": {"enabled": False}}), seed=6)
    off.run(3)
    assert plot_risk(off.recorder.tables(), tmp_path / "off") == []
