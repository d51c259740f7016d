"""own_app_only (SF7): no revenue share, but less reach and a higher CAC than the baseline."""

from __future__ import annotations

import pytest
from adoption_checks import (
    assert_claims_are_the_levers,
    claim_results,
    institution_final,
    institution_total,
    key_difference,
    library_pair,
    paired,
)

REPLICATIONS = 8
BANKS = ("icbc", "citic", "citybank")
PLATFORMS = ("shopmall", "chatpay", "finmarket")


@pytest.fixture(scope="module")
def comparison():
    return library_pair("baseline", "own_app_only", REPLICATIONS)


def test_banks_pay_platforms_nothing(comparison):
    baseline, own_app = comparison.results
    for bank in BANKS:
        assert own_app.institutions.query(f"institution == {bank!r}")["revenue_share_paid"].sum() == 0
        assert baseline.institutions.query(f"institution == {bank!r}")["revenue_share_paid"].sum() > 0
    assert own_app.institutions.query("institution in @PLATFORMS")["platform_income"].sum() == 0


def test_banks_lose_reach(comparison):
    mean, low, high = paired(comparison, lambda t: sum(institution_total(t, b, "new_customers") for b in BANKS))
    assert high < 0, f"banks' new customers: paired difference {mean:.1f} [{low:.1f}, {high:.1f}]"
    mean, low, high = paired(comparison, lambda t: sum(institution_final(t, b, "customers") for b in BANKS))
    assert high < 0, f"banks' final customers: paired difference {mean:.1f} [{low:.1f}, {high:.1f}]"


@pytest.mark.parametrize("bank", BANKS)
def test_each_customer_costs_more_to_acquire(comparison, bank):
    mean, low, high = key_difference(comparison, f"{bank}: cac (run)")
    assert low > 0, f"{bank} CAC: paired difference {mean:.1f} [{low:.1f}, {high:.1f}]"


@pytest.fixture(scope="module")
def claims():
    return claim_results("own_app_only", 3000, REPLICATIONS)


def test_the_claims_hold_with_the_levers_and_vanish_without_them(claims):
    """Fewer customers for the joint-stock bank, dearer ones for every bank; nothing without the levers."""
    assert_claims_are_the_levers(claims)
