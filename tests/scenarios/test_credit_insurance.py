"""credit_insurance (SF12): the guarantee opens lending to subprime applicants; the shock eats the insurer's capital.

Three runs on common random numbers, at 5,000 customers (the insurer's
capital is a ratio of its partner's book, so it scales with the population;
at 3,000 the extra subprime approvals, some 20 a run, were within noise):

- the claims (``claims:``, against subprime_shock.yaml, the same market
  without the insurer): more new loans in the market, more defaults of the
  partner bank and insured losses, each paired 95% interval above zero, and
  each vanishing when the levers (``insurers`` and the bank's
  ``credit.insurer``) are reset to the parent's; at 3,000 customers and 16
  pairs (8 resolved neither the loans nor the defaults at the calibrated
  shared parameters: +73 [−1, +147] and +11 [−1, +23]): +78 loans [+20,
  +135], +10.6 defaults [+4.4, +16.8], +233,000 yuan of insured losses;

- the scenario;
- the same without the insurer (``banks.citic.credit.insurer: null``): the
  partner bank must approve more subprime applicants with the guarantee,
  both in number and as a share of its subprime applications (paired 95%
  intervals above zero);
- the same without the macro shock (``events: []``): under the shock the
  insurer's claims net of premiums over the shock year must exceed those
  of the same months without the shock (paired 95% interval above zero;
  under the new economics claims − premiums itself, +22,000 [−41,000,
  +85,000] at 5,000 × 8, is not told from zero), its capital must
  end the shock lower than without it (paired), and its capital must move by
  exactly premiums − claims every step.
"""

from __future__ import annotations

import numpy as np
from claim_checks import assert_claims_hold_and_vanish
from risk_checks import interval, run_library

SIZE, REPLICATIONS = 5000, 8
CLAIM_SIZE, CLAIM_REPLICATIONS = 3000, 16
SHOCK_START, SHOCK_END = 30, 41          # macro × 3 from month 30; partial recovery from month 42


def small() -> dict:
    # The insurer's capital is a ratio of its partner's book, so it scales with the population by itself.
    return {"population.size": SIZE}


def subprime(result, column: str) -> np.ndarray:
    credit = result.table("credit")
    rows = credit[(credit["institution"] == "citic") & (credit["segment"] == "subprime")]
    return rows.groupby("replication")[column].sum().reindex(range(result.replications), fill_value=0.0).to_numpy()


def test_the_insurer_lets_the_bank_approve_subprime_applicants_it_would_refuse():
    insured = run_library("credit_insurance", REPLICATIONS, small())
    alone = run_library("credit_insurance", REPLICATIONS, {**small(), "banks.citic.credit.insurer": None})
    more, low, high = interval(subprime(insured, "approvals") - subprime(alone, "approvals"))
    assert low > 0, f"extra subprime approvals with the insurer: {more:.1f} [{low:.1f}, {high:.1f}]"
    def rate(r):
        return subprime(r, "approvals") / subprime(r, "applications")
    rise, low, high = interval(rate(insured) - rate(alone))
    assert low > 0, f"subprime approval rate with − without insurer: {rise:.3f} [{low:.3f}, {high:.3f}]"
    assert subprime(insured, "insured").sum() > 0 and subprime(alone, "insured").sum() == 0


def insurer(result):
    return result.table("insurers").sort_values(["replication", "step"])


def test_insurer_capital_moves_by_premiums_minus_claims():
    for result in (run_library("credit_insurance", REPLICATIONS, small()),
                   run_library("credit_insurance", REPLICATIONS, {**small(), "events": []})):
        for _, rows in insurer(result).groupby("replication"):
            change = rows["capital"].diff().iloc[1:].to_numpy()
            flows = (rows["premiums"] - rows["claims"]).iloc[1:].to_numpy()
            assert np.allclose(change, flows, rtol=1e-9, atol=1e-6)


def test_the_macro_shock_draws_down_insurer_capital():
    shocked = run_library("credit_insurance", REPLICATIONS, small())
    calm = run_library("credit_insurance", REPLICATIONS, {**small(), "events": []})
    def window(r):
        return insurer(r).query(f"{SHOCK_START} <= step <= {SHOCK_END}").groupby("replication")
    def net(r):
        return (window(r)["claims"].sum() - window(r)["premiums"].sum()).to_numpy()
    loss, low, high = interval(net(shocked) - net(calm))
    assert low > 0, f"claims − premiums over the shock year, shock − calm: {loss:.0f} [{low:.0f}, {high:.0f}]"
    def at_end(r):
        return insurer(r).query(f"step == {SHOCK_END}")["capital"].to_numpy()
    gap, low, high = interval(at_end(shocked) - at_end(calm))
    assert high < 0, f"insurer capital at the end of the shock, shock − calm: {gap:.0f} [{low:.0f}, {high:.0f}]"


def test_the_claims_hold_with_the_levers_and_vanish_without_them():
    assert_claims_hold_and_vanish("credit_insurance", CLAIM_SIZE, CLAIM_REPLICATIONS)
