"""Conservation on the credit side: loans, insurer capital, and a failed insurer's guarantees.

One run of a stressed market — a bank with a partner insurer that runs out
of capital after a macro shock, a P2P platform, churn (early repayment),
switching (refinancing), renewals — checked step by step:

- every loan ever made is performing, repaid or defaulted, and each lender's
  book moves only by new loans, repayments and defaults;
- an insurer's capital changes by exactly premiums − claims paid;
- once an insurer has failed, the losses on the loans it guaranteed fall
  wholly on the lenders: claims due but unpaid reappear as lender losses;
- every institution's capital changes by its profit (adoption + credit).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import ChannelModel
from sim.scenario.loader import validate_data

STEPS = 36


@pytest.fixture(scope="module")
def stressed():
    data = {
        "name": "conservation",
        "time": {"steps": STEPS},
        "population": {"size": 4000, "credit": {"subprime_share": 0.4}},
        "network": {"kind": "erdos_renyi", "mean_degree": 6},
        # Unit response curves: p = 1 - exp(-spend / 1000) (spend 223.144 gives p = 0.2).
        "marketing": {"response": {c: {"p_max": 1.0, "s0": 1000.0}
                                   for c in ("branch", "own_app", "live_stream", "platform")}},
        "products": {"loan": {"kind": "credit", "loan": {"term": 6, "renewal": 0.8}},
                     "pay": {"kind": "payments"}},
        "funnel": {"interest": 1.0, "compare": 1.0, "apply": 1.0},
        "choice": {"switching": 0.05},
        "credit": {"enabled": True, "peer_effect": 1.0},
        "macro": {"path": [1.0] * 10 + [4.0] * 26},
        "insurers": {"guard": {"premium_rate": 0.05, "coverage": 0.9, "cutoff": 0.05, "capital_ratio": 0.15,
                               "solvency_floor": 0.02}},
        "banks": {"bank": {"type": "state", "retention": 0.8,
                           "offers": {"loan": {"price": 1.0, "initial_share": 0.05}, "pay": {"price": 1.0}},
                           "branch": {"coverage": [1, 1, 1, 1], "spend": 105.361},
                           "credit": {"cutoff": 0.005, "insurer": "guard", "capital_ratio": 1.0}}},
        "platforms": {"lend": {"type": "p2p", "users": 0.5, "retention": 0.8, "credit": {"capital_ratio": 0.6},
                               "offers": {"loan": {"price": 0.95}}, "own_app": {"spend": 105.361},
                               "p2p": {"funding": 1000.0, "guarantee": 0.3}}},
    }
    model = ChannelModel(validate_data(data, "conservation.yaml"), seed=11)
    model.run()
    return model, model.recorder.tables(), model.loans()


def test_the_run_exercises_every_path(stressed):
    model, tables, loans = stressed
    assert set(loans["status"]) == {"performing", "repaid", "defaulted"}
    assert (loans["insurer"] >= 0).sum() > 50
    assert tables["insurers"]["failed"].iloc[-1]
    assert tables["market"]["switched"].sum() > 0 and tables["market"]["churned"].sum() > 0


def test_every_loan_is_performing_repaid_or_defaulted(stressed):
    model, tables, loans = stressed
    assert loans["status"].isin(["performing", "repaid", "defaulted"]).all()
    assert ((loans["status"] == "performing") == (loans["closed"] == -1)).all()
    assert (
        loans.loc[loans["status"] != "performing", "closed"] >= loans.loc[loans["status"] != "performing", "start"]
    ).all()
    inst = tables["institutions"]
    for lender, rows in inst.groupby("institution"):
        mine = loans[loans["lender"] == model.catalog.institution_ids.index(lender)]
        rows = rows.sort_values("step")
        # the book moves only by new loans, repayments and defaults
        change = rows["loans"].diff().iloc[1:]
        assert (change == (rows["new_loans"] - rows["repaid"] - rows["defaults"]).iloc[1:]).all()
        # and the book held before the run plus every new loan is accounted for at the end
        assert (mine["start"] == 0).sum() + rows["new_loans"].iloc[1:].sum() == len(mine)
        end = rows.iloc[-1]
        assert end["loans"] == (mine["status"] == "performing").sum()
        assert rows["defaults"].sum() == (mine["status"] == "defaulted").sum()
        assert rows["repaid"].sum() == (mine["status"] == "repaid").sum()
        assert rows["losses"].sum() == pytest.approx(mine["loss"].sum())
        assert end["loan_balance"] == pytest.approx(mine.loc[mine["status"] == "performing", "amount"].sum())


def test_insurer_capital_changes_by_premiums_minus_claims(stressed):
    _, tables, loans = stressed
    insurers = tables["insurers"].sort_values("step")
    change = insurers["capital"].diff().iloc[1:]
    assert np.allclose(change, (insurers["premiums"] - insurers["claims"]).iloc[1:], rtol=0, atol=1e-6)
    # Capital at step 0: 15% of the partner bank's book held before the run (at least its floor,
    # 1% of the 4,000 customers borrowing the mean 20,000 yuan).
    held_before = loans.loc[(loans["start"] == 0) & (loans["lender"] == 0), "amount"].sum()
    assert insurers["capital"].iloc[0] == pytest.approx(0.15 * max(held_before, 0.01 * 4000 * 20_000.0))
    assert (insurers["capital"] >= 0).all()


def test_a_failed_insurers_guarantees_reappear_as_lender_losses(stressed):
    model, tables, loans = stressed
    insurers = tables["insurers"]
    failed_at = int(insurers.loc[insurers["failed"], "step"].min())
    guaranteed = loans[(loans["insurer"] == 0) & (loans["status"] == "defaulted")]
    before, after = guaranteed[guaranteed["closed"] < failed_at], guaranteed[guaranteed["closed"] > failed_at]
    assert len(before) > 0 and len(after) > 0
    # before failure the insurer paid its share; after, nothing: the lender bears the whole loss
    assert np.allclose(before["claim_paid"], 0.9 * before["loss"])
    assert (after["claim_paid"] == 0).all()
    assert np.allclose(after["claim"], 0.9 * after["loss"])
    # claims due but unpaid are exactly what the insurer owed and did not pay
    assert insurers["unpaid_claims"].sum() == pytest.approx((guaranteed["claim"] - guaranteed["claim_paid"]).sum())
    # lenders' net losses include them
    inst = tables["institutions"]
    assert inst["net_losses"].sum() == pytest.approx((loans["loss"] - loans["claim_paid"]).sum())
    assert inst["insured_losses"].sum() == pytest.approx(insurers["claims"].sum())
    # after the failure no premiums are earned and nothing new is guaranteed
    late = insurers[insurers["step"] > failed_at]
    assert (late["premiums"] == 0).all() and (late["new_guarantees"] == 0).all()
    assert (loans.loc[loans["start"] > failed_at, "insurer"] == -1).all()


def test_capital_changes_by_profit(stressed):
    _, tables, _ = stressed
    for _, rows in tables["institutions"].groupby("institution"):
        rows = rows.sort_values("step")
        assert np.allclose(rows["capital"].diff().iloc[1:], rows["profit"].iloc[1:], rtol=1e-12, atol=1e-6)


def test_credit_table_adds_up_to_the_institutions(stressed):
    _, tables, _ = stressed
    credit, inst = tables["credit"], tables["institutions"]
    for column in ("applications", "approvals", "rejections", "defaults", "losses"):
        by_step = credit.groupby(["step", "institution"])[column].sum()
        totals = inst.set_index(["step", "institution"])[column].reindex(by_step.index)
        assert np.allclose(by_step, totals)
    assert credit["insured"].sum() == inst["insured_approvals"].sum()
    at_risk = credit.groupby("step")["loans_at_risk"].sum()
    loans_before = inst.groupby("step")["loans"].sum().shift().reindex(at_risk.index)
    assert np.allclose(at_risk, loans_before)
