"""Underwriting (mechanism 4): credit-model kernels, loans in the model, and bad credit input."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.codes import LoanStatus
from sim.core.risk import credit
from sim.core.risk.credit_state import begin_step
from sim.core.risk.underwriting import open_window
from sim.errors import ScenarioError
from sim.model import ChannelModel
from sim.scenario.loader import deep_merge, validate_data


def risk_scenario(extra: dict | None = None):
    """A small credit market: one bank lending to everyone it reaches."""
    data = {
        "name": "credit_test",
        "time": {"steps": 24},
        "population": {"size": 2000},
        "network": {"kind": "erdos_renyi", "mean_degree": 6},
        # Unit response curves: p = 1 - exp(-spend / 1000) (spend 223.144 gives p = 0.2).
        "marketing": {"response": {c: {"p_max": 1.0, "s0": 1000.0}
                                   for c in ("branch", "own_app", "live_stream", "platform")}},
        "products": {"loan": {"kind": "credit"}},
        "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0},
        "choice": {"switching": 0.0},
        "credit": {"enabled": True},
        "banks": {"bank": {"type": "state", "offers": {"loan": {"price": 1.0}}, "retention": 1.0,
                           "branch": {"coverage": [1, 1, 1, 1], "spend": 223.144}}},
    }
    return validate_data(deep_merge(data, extra or {}), "test.yaml")


# --------------------------------------------------------------------------- kernels
def test_pooled_data_quality_combines_independent_sources():
    assert credit.pooled_data_quality(0.3, [], []) == pytest.approx(0.3)
    # 1 - 0.7 * (1 - 0.5) = 0.65
    assert credit.pooled_data_quality(0.3, [0.5], [1.0]) == pytest.approx(0.65)
    # a bureau keeping 60% of the value: 1 - 0.7 * (1 - 0.3) = 0.51
    assert credit.pooled_data_quality(0.3, [0.5], [0.6]) == pytest.approx(0.51)
    assert credit.pooled_data_quality(0.3, [0.9], [0.0]) == pytest.approx(0.3)


def test_score_noise_falls_with_data_quality():
    assert credit.score_noise(1.5, 0.0) == pytest.approx(1.5)
    assert credit.score_noise(1.5, 1.0) == pytest.approx(0.0)
    assert credit.score_noise(2.0, np.array([0.25, 0.5])).tolist() == pytest.approx([1.5, 1.0])


def test_log_space_decision_equals_predicted_probability_rule():
    rng = np.random.default_rng(1)
    hazard = rng.uniform(0.0005, 0.05, 5000)
    z = rng.standard_normal(5000)
    by_probability = credit.predicted_default(hazard, 0.8, z) <= 0.01
    by_log = credit.log_hazard(hazard) + 0.8 * z <= credit.log_cutoff(0.01)
    assert np.array_equal(by_probability, by_log)
    assert credit.log_cutoff(0.0) == -np.inf


def test_rate_cap_shrinks_cutoff_with_the_margin():
    # margin 0.12 - 0.02 = 0.10; capped margin 0.07 - 0.02 = 0.05: half the tolerance
    out = credit.rate_capped_cutoff(np.array([0.02, 0.02]), np.array([0.12, 0.05]), np.array([0.07, 0.05]),
                                    np.array([0.02, 0.02]))
    assert out.tolist() == pytest.approx([0.01, 0.02])


def test_loan_sizes_have_the_requested_mean_and_sd():
    rng = np.random.default_rng(7)
    sizes = credit.loan_sizes(20_000.0, 10_000.0, 200_000, rng)
    # standard errors: 10000/sqrt(n) = 22 for the mean; the sd's is larger for a skewed law
    assert sizes.mean() == pytest.approx(20_000.0, abs=5 * 22.4)
    assert sizes.std() == pytest.approx(10_000.0, rel=0.03)
    assert (sizes > 0).all()
    assert (credit.loan_sizes(5.0, 0.0, 3, rng) == 5.0).all()


def test_within_budget_never_overspends_and_serves_in_random_order():
    rng = np.random.default_rng(3)
    amounts = np.full(100, 10.0)
    groups = np.repeat([0, 1], 50)
    keep = credit.within_budget(amounts, groups, np.array([95.0, np.inf]), rng)
    assert keep[:50].sum() == 9 and keep[50:].all()
    # who gets funded is not who applied first
    firsts = [credit.within_budget(amounts[:50], groups[:50], np.array([95.0]), np.random.default_rng(s))[:9].all()
              for s in range(20)]
    assert not all(firsts)


def test_book_interest_equals_the_sum_of_loan_margins():
    rng = np.random.default_rng(0)
    amount, rate = rng.uniform(1e3, 5e4, 300), rng.uniform(0.05, 0.2, 300)
    per_loan = credit.interest_margin(amount, rate, 0.03, 12.0).sum()
    assert credit.book_interest((amount * rate).sum(), amount.sum(), 0.03, 12.0) == pytest.approx(per_loan)


def test_underwrite_approves_below_cutoff_then_insurer_then_funding():
    rng = np.random.default_rng(0)
    log_h = np.log(np.array([0.001, 0.02, 0.02, 0.2, 0.001]))
    zeros = np.zeros(5)
    lender = np.array([0, 0, 1, 0, 1])
    decision = credit.underwrite(
        log_h, zeros, np.zeros(5), np.full(5, np.log(0.01)), np.array([True, True, True, True, False]),
        np.full(5, 10.0), lender, np.array([np.inf, np.inf]),
        np.array([0, 0, -1, 0, -1]), zeros, np.array([0.0]), np.array([np.log(0.05)]), np.array([0.5]),
        np.array([np.inf]), rng)
    # 0: good; 1: refused by the lender, guaranteed by the insurer; 2: no insurer; 3: too risky for both;
    # 4: not eligible (closed lender or default on record).
    assert decision.approved.tolist() == [True, True, False, False, False]
    assert decision.insured.tolist() == [False, True, False, False, False]
    assert decision.insurer.tolist() == [-1, 0, -1, -1, -1]
    capped = credit.underwrite(
        log_h, zeros, np.zeros(5), np.full(5, np.log(0.01)), np.ones(5, bool), np.full(5, 10.0), lender,
        np.array([np.inf, 5.0]), np.full(5, -1), zeros, np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), rng)
    assert capped.approved.tolist() == [True, False, False, False, False]   # lender 1 cannot fund 10


def test_better_data_makes_fewer_underwriting_errors():
    """SF14: with more data the credit model separates good from bad applicants better."""
    rng = np.random.default_rng(11)
    hazard = np.where(rng.random(50_000) < 0.3, 0.03, 0.002) * np.exp(rng.normal(-0.125, 0.5, 50_000))
    truth = hazard <= 0.01
    z = rng.standard_normal(50_000)
    errors = []
    for quality in (0.0, 0.5, 0.9):
        approved = credit.predicted_default(hazard, credit.score_noise(1.5, quality), z) <= 0.01
        errors.append(np.mean(approved != truth))
    assert errors[0] > errors[1] > errors[2]
    assert errors[0] - errors[2] > 0.1


# --------------------------------------------------------------------------- the model
def test_credit_off_keeps_binomial_approval_and_books_no_loans():
    scenario = risk_scenario({"credit": {"enabled": False}})
    model = ChannelModel(scenario, seed=1)
    model.run(5)
    assert model.credit is None and model.loans().empty
    market = model.tables()["market"]
    assert (market["borrowers"] == 0).all() and market["default_rate"].isna().all()


def test_every_credit_relationship_is_a_performing_loan():
    scenario = risk_scenario({"choice": {"switching": 0.05},
                              "banks": {"bank": {"retention": 0.7, "offers": {"loan": {"initial_share": 0.1}}},
                                        "other": {"type": "joint_stock", "offers": {"loan": {"price": 0.9}},
                                                  "branch": {"coverage": [1, 1, 1, 1], "spend": 223.144}}}})
    model = ChannelModel(scenario, seed=2)
    for _ in range(24):
        model.step()
        state = model.state
        assert np.array_equal(state.provider[:, 0] >= 0, state.loan[:, 0] >= 0)
        ids = state.loan[state.loan[:, 0] >= 0, 0]
        book = model.credit.book
        assert (book.status[ids] == LoanStatus.PERFORMING).all()
        assert np.array_equal(book.lender[ids], state.provider[state.loan[:, 0] >= 0, 0])
    statuses = set(model.loans()["status"])
    assert statuses <= {"performing", "repaid", "defaulted"} and "repaid" in statuses


def test_rejections_are_reported_by_lender_channel_and_segment():
    scenario = risk_scenario(
        {
            "population": {"credit": {"subprime_share": 0.4}},
            "banks": {"bank": {"credit": {"tightening": 0.0}}},    # the credit model alone, no capital rule
            "platforms": {"mall": {"type": "scenario", "users": 0.6}},
            "partnerships": {"bank_mall": {"bank": "bank", "platform": "mall", "spend": 223.144}},
        }
    )
    model = ChannelModel(scenario, seed=3)
    model.run()
    tables = model.recorder.tables()
    credit_table, inst = tables["credit"], tables["institutions"]
    by_lender = credit_table.groupby("institution")[["applications", "approvals", "rejections", "defaults"]].sum()
    totals = inst.groupby("institution")[["applications", "approvals", "rejections", "defaults"]].sum()
    assert by_lender.loc["bank"].tolist() == totals.loc["bank"].tolist()
    assert (credit_table["applications"] == credit_table["approvals"] + credit_table["rejections"]).all()
    assert {"branch", "platform:mall"} <= set(credit_table.loc[credit_table["rejections"] > 0, "channel"])
    rejected = credit_table.groupby("segment")[["applications", "rejections"]].sum()
    rate = rejected["rejections"] / rejected["applications"]
    assert rate["subprime"] > 3 * rate["prime"]          # the credit model tells them apart
    assert set(credit_table["life_stage"]) == {"student", "young_family", "mature"}


def test_defaulters_are_refused_afterwards():
    scenario = risk_scenario({"population": {"credit": {"subprime_share": 0.5}}, "macro": {"level": 3.0},
                              "products": {"loan": {"loan": {"term": 2, "renewal": 1.0}}}})
    model = ChannelModel(scenario, seed=4)
    model.run()
    loans = model.loans()
    first_default = loans[loans["status"] == "defaulted"].groupby("customer")["closed"].min()
    assert len(first_default) > 20
    later = loans.merge(first_default.rename("defaulted_at"), left_on="customer", right_index=True)
    assert (later["start"] <= later["defaulted_at"]).all()


def test_capital_pressure_tightens_the_cutoff():
    """Below its target ratio the cut-off shrinks in proportion to the distance above the minimum."""
    scenario = risk_scenario({"banks": {"bank": {"credit": {"capital_ratio": 0.3, "minimum_ratio": 0.01,
                                                            "capital_target": 0.9}}}})
    model = ChannelModel(scenario, seed=5)
    model.run(6)
    cm = model.credit
    begin_step(cm)                                   # no flows of a new step yet
    open_window(cm, model.catalog, model.capital)    # cut-offs from capital and risk-weighted loans now
    loans = model.loans()
    risk_weighted = loans.loc[loans.status == "performing", "amount"].sum()   # risk weight 1
    ratio = model.capital[0] / risk_weighted
    assert 0.01 < ratio < 0.9
    offer = model.catalog.offer_of[0, 0]
    assert cm.offer_cutoff_now[offer] == pytest.approx(0.01 * (ratio - 0.01) / 0.89, rel=1e-6)


def test_initial_credit_customers_hold_screened_seasoned_loans():
    scenario = risk_scenario({"banks": {"bank": {"offers": {"loan": {"initial_share": 0.2}}}}})
    model = ChannelModel(scenario, seed=6)
    loans = model.loans()
    assert len(loans) == 400 and (loans["channel"] == -1).all()
    assert loans["maturity"].between(1, 12).all()
    assert model.population.hazard[loans["customer"]].mean() < model.population.hazard.mean()
    assert model.tables()["institutions"].loc[0, "new_loans"] == 0


def test_loan_status_codes_are_stable():
    assert (LoanStatus.PERFORMING, LoanStatus.REPAID, LoanStatus.DEFAULTED) == (0, 1, 2)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("extra, path, allowed", [
    ({"banks": {"bank": {"credit": {"insurer": "ghost"}}}, "insurers": {"safe": {}}},
     "banks.bank.credit.insurer", "safe"),
    ({"banks": {"bank": {"credit": {"cutoff": 1.5}}}}, "banks.bank.credit.cutoff", None),
    ({"insurers": {"safe": {"cutoff": -0.1}}}, "insurers.safe.cutoff", None),
    ({"products": {"cash": {"kind": "payments", "loan": {"term": 3}}}}, "products.cash", None),
    ({"banks": {"bank": {"data_alliance": "lonely"}}}, "banks.bank.data_alliance", "at least two"),
    ({"insurers": {"bank": {}}}, "insurers.bank", "unique"),
])
def test_bad_credit_input_names_file_path_and_what_is_allowed(extra, path, allowed):
    with pytest.raises(ScenarioError) as info:
        risk_scenario(extra)
    text = str(info.value)
    assert "test.yaml" in text and path in text
    if allowed:
        assert allowed in text


def test_credit_on_without_a_credit_product_is_an_error():
    with pytest.raises(ScenarioError, match="credit.enabled.*no product has kind credit"):
        risk_scenario({"products": {"loan": {"kind": "payments"}}})
