"""referral_incentives (SF4): the incentives raise referral spread; at the base referral rate CAC does not fall.

The file's levers are the bonus and the welcome packet only (the base rate is
the baseline's; the bonus's effect on sharing is the shared
``referral.bonus_uplift``).  At that rate the incentives cost about what the
extra referrals save: the bank's CAC does not fall (the old claim, which came
from the raised base rate, is gone; see the scenario file).
"""

from __future__ import annotations

import pytest
from adoption_checks import assert_claims_are_the_levers, channel_total, claim_results, library_pair, paired

REPLICATIONS = 8
SIZE = 3000


@pytest.fixture(scope="module")
def comparison():
    return library_pair("baseline", "referral_incentives", REPLICATIONS, SIZE)


@pytest.fixture(scope="module")
def claims():
    return claim_results("referral_incentives", SIZE, REPLICATIONS)


def test_the_claims_hold_with_the_levers_and_vanish_without_them(claims):
    """More referral conversions with the bonus and welcome packet; none without them."""
    assert_claims_are_the_levers(claims)


def test_incentives_raise_the_paying_banks_referral_acquisitions(comparison):
    mean, low, high = paired(comparison, lambda t: channel_total(t, "citic", "referral"))
    assert low > 0, f"referral acquisitions: paired difference {mean:.1f} [{low:.1f}, {high:.1f}]"


def test_incentives_are_paid_per_referred_customer(comparison):
    result = comparison.results[1]
    spec = result.scenario.banks["citic"].referral
    channels = result.channels.query("institution == 'citic' and channel == 'referral'")
    assert channels["spend"].sum() == pytest.approx((spec.bonus + spec.welcome) * channels["new_customers"].sum())
