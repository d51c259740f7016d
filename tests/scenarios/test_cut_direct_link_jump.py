"""cut_direct_link_jump (SF15): with no platform data after the cut, the partner bank's default rate rises.

The reference is platform_data_lending.yaml, the same market with the direct
link kept (both scenarios run on common random numbers, 6,000 customers, 6
replications).  Loans at risk
from step 25 — one loan term after the cut in month 12, when the bank has
re-underwritten its renewals and booked a year of new loans with the
noisier model — are compared two ways:

- the expected default rate of the bank's loans at risk (their borrowers'
  latent hazards per loan-step), paired per replication: the rise must have
  a 95% interval above zero;
- the realized default rate, pooled over replications: the one-sided 95%
  lower bound of the rate ratio (jump / reference, exact conditional
  binomial interval) must be above 1.

And the mechanism: the subprime share of the bank's loans at risk rises.

The claim (``claims:``): against platform_data_lending.yaml the partner
bank's realized default rate over the run is higher (paired 95% interval
above zero), and the difference vanishes when the lever (the event timeline)
is reset to the parent's.
"""

from __future__ import annotations

import numpy as np
from claim_checks import assert_claims_hold_and_vanish
from risk_checks import AFTER_CUT as AFTER
from risk_checks import DATA_LINK_REPLICATIONS as REPLICATIONS
from risk_checks import DATA_LINK_RUNS as SMALL
from risk_checks import expected_rate, interval, pooled_counts, rate_ratio_interval, run_library, subprime_share


def runs():
    return (run_library("platform_data_lending", REPLICATIONS, SMALL),
            run_library("cut_direct_link_jump", REPLICATIONS, SMALL))


def test_direct_jump_raises_the_partner_banks_default_rate():
    reference, jump = runs()
    rise, low, high = interval(expected_rate(jump, "citic", AFTER) - expected_rate(reference, "citic", AFTER))
    assert low > 0, f"expected default rate should rise after the cut: {rise:.5f} [{low:.5f}, {high:.5f}]"

    d_jump, at_risk_jump = pooled_counts(jump, "citic", AFTER)
    d_ref, at_risk_ref = pooled_counts(reference, "citic", AFTER)
    assert min(d_jump, d_ref) > 100, "too few defaults to judge the realized rate"
    ratio, lower, _ = rate_ratio_interval(d_jump, at_risk_jump, d_ref, at_risk_ref, level=0.90)
    assert lower > 1.0, f"realized default rate ratio jump/reference {ratio:.2f}, one-sided 95% bound {lower:.2f}"


def test_direct_jump_lets_more_subprime_borrowers_into_the_book():
    reference, jump = runs()
    rise, low, high = interval(subprime_share(jump, "citic", AFTER) - subprime_share(reference, "citic", AFTER))
    assert low > 0, f"subprime share of loans at risk: {rise:+.3f} [{low:+.3f}, {high:+.3f}]"


def test_nothing_changes_before_the_cut():
    reference, jump = runs()
    def before(r):
        return r.table("institutions").query("step < 12")
    a, b = before(reference), before(jump)
    assert np.array_equal(a["approvals"].to_numpy(), b["approvals"].to_numpy())
    assert np.array_equal(a["defaults"].to_numpy(), b["defaults"].to_numpy())


def test_the_claims_hold_with_the_lever_and_vanish_without_it():
    assert_claims_hold_and_vanish("cut_direct_link_jump", SMALL["population.size"], REPLICATIONS)
