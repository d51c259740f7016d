"""bank_platform_alliance (SF10): the alliance wins the partner bank tier-3/4 customers at a lower CAC."""

from __future__ import annotations

import pytest
from adoption_checks import (
    assert_claims_are_the_levers,
    claim_results,
    key_difference,
    library_pair,
    paired,
    small,
    tier34,
)

from sim.core.params import compile_catalog

REPLICATIONS = 8


@pytest.fixture(scope="module")
def comparison():
    return library_pair("baseline", "bank_platform_alliance", REPLICATIONS)


def test_the_alliance_wins_the_partner_bank_customers_in_tier_3_and_4_cities(comparison):
    mean, low, high = paired(comparison, lambda t: tier34(t, "citic"))
    assert low > 0, f"tier-3/4 customers of the partner bank: paired difference {mean:.1f} [{low:.1f}, {high:.1f}]"


def test_the_alliance_lowers_the_partner_banks_acquisition_cost(comparison):
    mean, low, high = key_difference(comparison, "citic: cac (run)")
    assert high < 0, f"partner bank's CAC: paired difference {mean:.1f} [{low:.1f}, {high:.1f}]"


def test_the_data_alliance_improves_both_partners_credit_models():
    """Deterministic: the big-data alliance pools data into each member's credit model (SF10, SF14)."""
    base, alliance = compile_catalog(small("baseline")), compile_catalog(small("bank_platform_alliance"))
    ids = base.institution_ids
    for member in ("citic", "shopmall"):
        i = ids.index(member)
        assert alliance.risk.data_quality[i] > base.risk.data_quality[i], member
    citic, channel = ids.index("citic"), base.channels.index("platform:shopmall")
    assert alliance.channel_targeting[citic, channel] == pytest.approx(0.5)
    assert base.channel_targeting.sum() == 0


@pytest.fixture(scope="module")
def claims():
    return claim_results("bank_platform_alliance", 3000, REPLICATIONS)


def test_the_claims_hold_with_the_levers_and_vanish_without_them(claims):
    """More customers at a lower CAC for the partner bank; nothing without the data links."""
    assert_claims_are_the_levers(claims)
