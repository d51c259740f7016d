"""financial_supermarket (SF9): card volume on SF9's scale; matching converts the traffic better."""

from __future__ import annotations

import numpy as np
import pytest
from adoption_checks import (
    assert_claims_are_the_levers,
    claim_results,
    funnel_reached,
    interval,
    library_pair,
    paired,
    per_replication,
)

REPLICATIONS = 8
#: SF9: about 1 million credit cards in H1 2019 for 100m+ users, i.e. about 1% of users per half-year.
TARGET_PER_HALF_YEAR = 0.01
#: Calibration tolerance: the run's mean must lie within this factor of the target.
FACTOR = 1.5
BANKS = ("icbc", "citic", "citybank")


@pytest.fixture(scope="module")
def comparison():
    return library_pair("baseline", "financial_supermarket", REPLICATIONS)


def cards(tables, institution=None) -> float:
    """Credit customers won through the supermarket (funnel activations on platform:finmarket)."""
    return funnel_reached(tables, "active", product="credit", institution=institution, channel="platform:finmarket")


def test_cards_issued_per_half_year_are_on_sf9s_scale(comparison):
    result = comparison.results[1]
    scenario = result.scenario
    users = round(scenario.platforms["finmarket"].users * scenario.population.size)
    half_years = scenario.time.steps / 6      # monthly steps
    rate = per_replication(result, lambda t: cards(t) / half_years / users)
    mean, low, high = interval(rate)
    assert TARGET_PER_HALF_YEAR / FACTOR < low and high < TARGET_PER_HALF_YEAR * FACTOR, (
        f"cards per half-year per user {mean:.4f} [{low:.4f}, {high:.4f}], target {TARGET_PER_HALF_YEAR}")


def test_every_connected_bank_issues_cards_through_it(comparison):
    for bank in BANKS:
        mean, low, _ = interval(per_replication(comparison.results[1], lambda t, bank=bank: cards(t, bank)))
        assert low > 0, f"{bank}: {mean:.1f} cards"


def test_matching_converts_the_supermarkets_traffic_better_than_plain_rental(comparison):
    def conversion(tables):
        return (funnel_reached(tables, "active", channel="platform:finmarket")
                / funnel_reached(tables, "aware", channel="platform:finmarket"))

    mean, low, high = paired(comparison, conversion)
    assert low > 0, f"aware -> active on the supermarket: paired difference {mean:.3f} [{low:.3f}, {high:.3f}]"
    assert np.isfinite(mean)


@pytest.fixture(scope="module")
def claims():
    return claim_results("financial_supermarket", 3000, REPLICATIONS)


def test_the_claims_hold_with_the_levers_and_vanish_without_them(claims):
    """The newly connected bank wins customers, the market books more loans; nothing without the connections."""
    assert_claims_are_the_levers(claims)
