"""platform_data_lending (SF10, SF14): platform data keeps the partner bank's defaults low on a long-tail market.

The joint-stock bank scores applicants with its partners' data (effective
data quality about 0.9); the state bank, in the same market and run, has only
its own (0.3) at the same cut-off.  Per replication, the expected default
rate of the joint-stock bank's loans at risk (borrowers' latent hazards per
loan-step) must be below the state bank's, with a 95% interval of the paired
difference below zero; and its book must hold a smaller subprime share.

The claim (``claims:``): against long_tail_market.yaml (the same market, no
data shared) the partner bank's realized default rate over the run is lower
(paired 95% interval below zero), and the difference vanishes when the lever
(the partnerships' data_sharing) is reset to the parent's.
"""

from __future__ import annotations

from claim_checks import assert_claims_hold_and_vanish
from risk_checks import DATA_LINK_REPLICATIONS as REPLICATIONS
from risk_checks import DATA_LINK_RUNS as SMALL
from risk_checks import expected_rate, interval, run_library, subprime_share


def test_the_data_fed_bank_books_safer_loans_than_the_bank_without_platform_data():
    reference = run_library("platform_data_lending", REPLICATIONS, SMALL)
    gap, low, high = interval(expected_rate(reference, "citic", 1) - expected_rate(reference, "icbc", 1))
    assert high < 0, f"citic − icbc expected default rate {gap:.5f} [{low:.5f}, {high:.5f}]"
    gap, low, high = interval(subprime_share(reference, "citic", 1) - subprime_share(reference, "icbc", 1))
    assert high < 0, f"citic − icbc subprime share of loans at risk {gap:+.3f} [{low:+.3f}, {high:+.3f}]"


def test_the_claims_hold_with_the_lever_and_vanish_without_it():
    assert_claims_hold_and_vanish("platform_data_lending", SMALL["population.size"], REPLICATIONS)
