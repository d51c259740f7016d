"""``time.burn_in``: steps run before step 0 and dropped, so step 0 is the end of a burn-in.

A run with burn-in B starts (step 0) in the state a run without burn-in
reaches after B steps of the same seed, with start steps shifted by B and
capital restarted; its tables start at step 0, and events keep their steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.errors import ScenarioError
from sim.model import ChannelModel
from tests.core.adoption.test_economics import MARKET

ROOT = Path(__file__).resolve().parents[2]
B = 6
SAME = ("aware", "aware_channel", "stage", "provider", "channel", "trust", "employer", "defaulted", "loan")


def _pair(scenario_of):
    burnt = ChannelModel(scenario_of(B), seed=11)
    plain = ChannelModel(scenario_of(0), seed=11)
    plain.run(B)
    return burnt, plain


def _assert_same_state(burnt, plain):
    for name in SAME:
        assert np.array_equal(getattr(burnt.state, name), getattr(plain.state, name)), name
    held = plain.state.provider >= 0
    assert np.array_equal(burnt.state.since[held] + B, plain.state.since[held])
    assert burnt.steps + B == plain.steps


def test_step_zero_is_the_state_after_the_burn_in_steps(make_scenario):
    burnt, plain = _pair(lambda b: make_scenario(MARKET, {"time": {"steps": 4, "burn_in": b}}))
    _assert_same_state(burnt, plain)
    assert burnt.steps == 0 and (burnt.state.since[burnt.state.provider >= 0] <= 0).all()
    assert burnt.capital == pytest.approx(burnt.initial_capital), "capital restarts at its set-up value"
    assert not np.allclose(plain.capital, plain.initial_capital)
    # The rest of the run draws the same numbers: the two runs stay in step.
    burnt.run(3)
    plain.run(3)
    _assert_same_state(burnt, plain)


def test_a_credit_run_burns_in_with_its_loan_book(tmp_path):
    def scenario(b):
        return sim.load_scenario(ROOT / "scenarios" / "credit_insurance.yaml",
                                 overrides={"population.size": 800, "time.steps": 3, "time.burn_in": b,
                                            "events": []})
    burnt, plain = _pair(scenario)
    _assert_same_state(burnt, plain)
    a, b = burnt.loans(), plain.loans()
    assert len(a) == len(b) > 0
    assert np.array_equal(a["start"].to_numpy() + B, b["start"].to_numpy())
    assert np.array_equal(a["maturity"].to_numpy() + B, b["maturity"].to_numpy())
    assert np.array_equal(a["status"].to_numpy(), b["status"].to_numpy())


def test_tables_start_at_step_zero_and_events_keep_their_steps(make_scenario):
    event = {"events": [{"at": 3, "set": {"banks.b.branch.spend": 123.0}}]}
    model = ChannelModel(make_scenario(MARKET, {"time": {"steps": 5, "burn_in": B}}, event), seed=3)
    model.run()
    tables = model.tables()
    assert list(tables["market"].step) == list(range(6))
    assert tables["institutions"].step.min() == 0 and tables["cohorts"].step.min() == 0
    at_start = tables["market"].iloc[0]
    assert at_start.new_active == 0 and at_start.churned == 0 and at_start.funnel_entries == 0
    assert tables["funnel"].empty or tables["funnel"].step.min() >= 1
    branch = tables["channels"].query("institution == 'b' and channel == 'branch'").set_index("step").spend
    # Spend per 1,000 reachable: the file's 300 until the event, 123 from its step (the same audience).
    assert branch[3] == pytest.approx(branch[2] * 123.0 / 300.0) and branch[5] == pytest.approx(branch[3])
    assert [entry.step for entry in model.levers.log] == [3]
    # Relationships won during the burn-in belong to the initial cohorts, with the channel that won them.
    initial = tables["cohorts"].query("cohort == 0 and step == 0")
    assert {"none", "branch"} <= set(initial.channel)
    assert initial.active.sum() == tables["institutions"].query("step == 0").customers.sum()


@pytest.mark.parametrize("key, value", [("time.burn_in", -1), ("valuation.discount_rate", 1.5),
                                        ("valuation.discount_rate", -0.1)])
def test_bad_burn_in_and_discount_rate_are_refused_with_the_key(key, value):
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(ROOT / "scenarios" / "baseline.yaml", overrides={key: value})
    assert key in str(info.value) and "baseline.yaml" in str(info.value)
