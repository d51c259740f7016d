"""Tests of regulatory capital (:mod:`sim.core.risk.capital`): the capital rule, starting capital, dividends."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.risk import capital
from sim.model import ChannelModel


def test_capital_factor_tightens_between_the_minimum_and_the_target():
    money = np.array([13.0, 11.0, 10.0, 0.0, 5.0])
    weighted = np.array([100.0, 100.0, 100.0, 100.0, 0.0])   # ratios 0.13, 0.11, 0.10, 0, no loans
    minimum, target = np.full(5, 0.10), np.full(5, 0.12)
    out = capital.capital_factor(money, weighted, minimum, target, np.ones(5))
    assert out.tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0, 1.0])
    squared = capital.capital_factor(money, weighted, minimum, target, np.full(5, 2.0))
    assert squared[1] == pytest.approx(0.25)
    never = capital.capital_factor(money, weighted, minimum, target, np.zeros(5))
    assert never.tolist() == [1.0] * 5


def test_dividends_pay_out_only_the_profit_above_the_ratio():
    money = np.array([15.0, 12.5, 11.0, 20.0])          # after the step's profit
    weighted = np.full(4, 100.0)
    profit = np.array([4.0, 1.0, 2.0, -1.0])
    paid = capital.dividends(money, weighted, np.full(4, 0.12), profit, np.array([True, True, True, True]))
    assert paid.tolist() == pytest.approx([3.0, 0.5, 0.0, 0.0])
    assert capital.dividends(money, weighted, np.full(4, 0.12), profit, np.zeros(4, bool)).tolist() == [0.0] * 4


def _lending_market(size: int, extra: dict | None = None) -> dict:
    bank = {"type": "state", "retention": 0.95,
            "offers": {"loan": {"price": 0.0, "initial_share": 0.1}},
            "branch": {"coverage": [1, 1, 1, 1], "spend": 51.2933},
            "credit": {"cutoff": 0.02, "capital_ratio": 0.13, "minimum_ratio": 0.105, "capital_target": 0.125}}
    data = {"name": "capital_test", "time": {"steps": 18}, "population": {"size": size},
            "network": {"kind": "erdos_renyi", "mean_degree": 6},
            "products": {"loan": {"kind": "credit", "loan": {"size_mean": 10_000, "size_sd": 3_000, "term": 6,
                                                               "risk_weight": 0.75}}},
            "funnel": {"interest": 0.6, "compare": 1.0, "apply": 1.0}, "choice": {"switching": 0.0},
            "credit": {"enabled": True},
            "banks": {"a": bank, "b": {**bank, "type": "joint_stock"}}}
    for key, value in (extra or {}).items():
        data[key] = value
    return data


@pytest.mark.parametrize("size", [2000, 4000])
def test_capital_starts_as_a_ratio_of_the_risk_weighted_book(make_scenario, size):
    """The reported ratio equals capital over the risk-weighted book recomputed from model.loans()."""
    model = ChannelModel(make_scenario(_lending_market(size)), seed=2)
    loans = model.loans()
    book = loans[loans.status == "performing"].groupby("lender")["amount"].sum()
    assert model.capital == pytest.approx(0.13 * 0.75 * book.to_numpy(), rel=1e-12)
    model.run(8)
    inst = model.tables()["institutions"].query("step == 8")
    loans = model.loans()
    weighted = 0.75 * loans[loans.status == "performing"].groupby("lender")["amount"].sum()
    assert inst["risk_weighted_assets"].to_numpy() == pytest.approx(weighted.to_numpy(), rel=1e-9)
    assert inst["capital_ratio"].to_numpy() == pytest.approx(model.capital / weighted.to_numpy(), rel=1e-9)


def _shocked(tightening: float) -> dict:
    market = _lending_market(3000, {"events": [{"at": 4, "set": {"macro.level": 6.0}, "label": "shock"}]})
    for bank in market["banks"].values():
        bank["credit"] = {**bank["credit"], "tightening": tightening}
    return market


def test_in_a_macro_shock_the_capital_rule_binds_and_approvals_fall(make_scenario):
    """Losses push the ratios into the buffer: cut-offs tighten, approvals fall against the same runs without it.

    Common random numbers: each seed is run with the rule and without it
    (tightening 0), so the difference is the rule's.
    """
    with_rule = without_rule = 0
    bound = []
    for seed in range(4):
        tables = {}
        for tightening in (1.0, 0.0):
            model = ChannelModel(make_scenario(_shocked(tightening)), seed=seed)
            model.run()
            tables[tightening] = model.tables()["institutions"].query("step >= 4")
        bound.append(tables[1.0]["cutoff_factor"].min())
        with_rule += int(tables[1.0]["approvals"].sum())
        without_rule += int(tables[0.0]["approvals"].sum())
    assert max(bound) < 0.9, f"the capital rule did not bind in every run: lowest factors {bound}"
    # Without the rule each seed's lenders approve at least as much; the gap is well beyond run-to-run noise.
    assert with_rule < 0.9 * without_rule, (with_rule, without_rule)
